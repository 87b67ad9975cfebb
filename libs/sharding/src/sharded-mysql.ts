import { Breaker, type BreakerOptions } from '@hongbao/resilience';
import { createPool, type Pool, type PoolConnection, type PoolOptions } from 'mysql2/promise';
import { parseShardUrl, redactUrl, type ShardLocation, type ShardMap } from './shard-map';

export type { Pool, PoolConnection } from 'mysql2/promise';

/** Options for {@link ShardedMysql}. */
export interface ShardedMysqlOptions {
  /** Maximum open connections per shard pool. Default 10. */
  connectionLimit?: number;
  /** Names the breakers, `mysql:<name>:<shard index>` (e.g. the service). Default "db". */
  name?: string;
  /**
   * How long opening a connection may take before it fails, in ms (mysql2 `connectTimeout`).
   * Small so an unreachable shard server fails requests in this time, not mysql2's 10 s.
   * Default 2000.
   */
  connectTimeoutMs?: number;
  /**
   * One circuit breaker per shard around every query, `getConnection` and transaction attempt
   * made through this object: once a shard's calls mostly fail with connection errors it fails
   * fast with DEPENDENCY.UNAVAILABLE (`details: {breaker, retryAfterSeconds}`) until a trial
   * call succeeds. SQL errors (duplicate key, deadlock, ...) never count. Defaults: those of
   * `@hongbao/resilience` with the breaker's timeout off (a transaction is never abandoned
   * midway). `false` disables the breakers.
   */
  breaker?: BreakerOptions | false;
  /** How many times a pool `query`/`execute` (one autocommit statement) is re-run after a deadlock (1213). Default 5. */
  deadlockRetries?: number;
}

/** Options for {@link ShardedMysql.tx}. */
export interface TxOptions {
  /** Transaction isolation level. Default 'READ COMMITTED'. */
  isolation?: 'READ COMMITTED' | 'REPEATABLE READ';
  /** How many times the whole `fn` is re-run after a deadlock (1213) or lock wait timeout (1205). Default 5. */
  retries?: number;
}

const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;

/** True for the lock errors after which re-running the whole transaction is the documented remedy. */
export function isRetryableLockError(err: unknown): boolean {
  if (isDeadlock(err)) return true;
  const e = err as { errno?: unknown; code?: unknown } | null;
  return typeof e === 'object' && e !== null && (e.errno === ER_LOCK_WAIT_TIMEOUT || e.code === 'ER_LOCK_WAIT_TIMEOUT');
}

/** True for a deadlock (1213): InnoDB rolled the statement (or transaction) back at once. */
export function isDeadlock(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { errno?: unknown; code?: unknown };
  return e.errno === ER_LOCK_DEADLOCK || e.code === 'ER_LOCK_DEADLOCK';
}

/**
 * Delay in ms before retry number `attempt` (1-based): exponential from 5 ms, capped at 200 ms,
 * with the upper half randomised so the transactions that just deadlocked do not collide again
 * in lockstep.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(200, 5 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Driver settings shared by every connection this library opens (pools, migrations, tests). */
export function connectionOptions(loc: Omit<ShardLocation, 'database'> & { database?: string }): PoolOptions {
  return {
    host: loc.host,
    port: loc.port,
    user: loc.user,
    password: loc.password,
    database: loc.database,
    charset: 'utf8mb4',
    timezone: 'Z',
    dateStrings: false,
    // 64-bit ids and money columns come back as exact strings instead of rounded numbers.
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: true,
    enableKeepAlive: true,
    // affectedRows counts rows really changed: an idempotent upsert that found its row says 0.
    flags: ['-FOUND_ROWS'],
  };
}

/** Runs `attempt` again after each error `retryable` accepts, up to `retries` times, with {@link retryDelayMs} between. */
async function withLockRetries<T>(attempt: () => Promise<T>, retries: number, retryable: (err: unknown) => boolean): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= retries || !retryable(err)) throw err;
      await sleep(retryDelayMs(n + 1));
    }
  }
}

/**
 * `pool` with `query`, `execute` and `getConnection` run through `breaker` (when there is one);
 * everything else (events, `end`, `escape`, ...) is the pool's own. Queries on a connection
 * taken with `getConnection` are not guarded one by one: taking it is. A pool `query` or
 * `execute` is one autocommit statement, so after a deadlock InnoDB has rolled all of it back
 * and running it again is what the caller would do: it is re-run up to `retries` times
 * (concurrent upserts of the same key, e.g. one request arriving many times at once, deadlock
 * now and then). Lock wait timeouts are not retried here: each costs innodb_lock_wait_timeout.
 */
function guardPool(pool: Pool, breaker: Breaker | undefined, retries: number): Pool {
  return new Proxy(pool, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      const guarded = (args: unknown[]) => (breaker ? breaker.run(() => call(args)) : call(args));
      if (prop === 'getConnection') return (...args: unknown[]) => guarded(args);
      if (prop === 'query' || prop === 'execute') return (...args: unknown[]) => withLockRetries(() => guarded(args), retries, isDeadlock);
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** One mysql2 pool per physical shard, plus routing, transactions and statements re-run after deadlocks, and scatter-gather. */
export class ShardedMysql {
  readonly map: ShardMap;
  private readonly pools: Pool[];
  /** what callers get: the pools behind their shard's breaker */
  private readonly guarded: Pool[];
  private readonly breakers: (Breaker | undefined)[];
  private closed?: Promise<void>;

  constructor(map: ShardMap, opts: ShardedMysqlOptions = {}) {
    const connectionLimit = opts.connectionLimit ?? 10;
    if (!Number.isInteger(connectionLimit) || connectionLimit < 1) {
      throw new Error(`ShardedMysql: connectionLimit must be a positive integer, got ${opts.connectionLimit}`);
    }
    const connectTimeout = opts.connectTimeoutMs ?? 2000;
    if (!Number.isInteger(connectTimeout) || connectTimeout < 1) {
      throw new Error(`ShardedMysql: connectTimeoutMs must be a positive integer, got ${opts.connectTimeoutMs}`);
    }
    this.map = map;
    // mysql2 pools connect lazily, so creating them all up front costs nothing.
    this.pools = map.shards.map((s) => createPool({ ...connectionOptions(parseShardUrl(s.url)), connectionLimit, connectTimeout }));
    const breakerOpts = opts.breaker;
    this.breakers = map.shards.map((s) => (breakerOpts === false ? undefined : new Breaker(`mysql:${opts.name ?? 'db'}:${s.index}`, { timeoutMs: false, ...breakerOpts })));
    this.guarded = this.pools.map((p, i) => guardPool(p, this.breakers[i], opts.deadlockRetries ?? 5));
  }

  /** The pool of shard `index`, behind the shard's breaker. */
  pool(index: number): Pool {
    const pool = this.guarded[index];
    if (!Number.isInteger(index) || pool === undefined) {
      throw new RangeError(`ShardedMysql: shard index ${index} is out of range 0-${this.pools.length - 1}`);
    }
    return pool;
  }

  /** The pool of the shard that owns `key`. */
  poolFor(key: string): Pool {
    return this.pool(this.map.shardIndexOf(key));
  }

  /** Number of physical shards. */
  shardCount(): number {
    return this.pools.length;
  }

  /**
   * Runs `fn` in a transaction on shard `index`: commits if it resolves, rolls back and rethrows
   * if it rejects. On a deadlock (1213) or lock wait timeout (1205) anywhere in the transaction the
   * whole `fn` is re-run, up to `retries` times, after a short jittered backoff — so `fn` must do
   * nothing outside `conn` that cannot be repeated. Each attempt goes through the shard's breaker,
   * which only fails fast (an open shard rejects with DEPENDENCY.UNAVAILABLE before `fn` runs);
   * a connection failure is never retried here, since the transaction may have committed.
   */
  async tx<T>(index: number, fn: (conn: PoolConnection) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    const isolation = opts.isolation ?? 'READ COMMITTED';
    if (isolation !== 'READ COMMITTED' && isolation !== 'REPEATABLE READ') {
      throw new Error(`ShardedMysql.tx: unsupported isolation level ${String(isolation)}`);
    }
    const retries = opts.retries ?? 5;
    this.pool(index); // range check
    const pool = this.pools[index];
    const breaker = this.breakers[index];
    return withLockRetries(() => (breaker ? breaker.run(() => runOnce(pool, isolation, fn)) : runOnce(pool, isolation, fn)), retries, isRetryableLockError);
  }

  /**
   * Runs `fn` on every shard in parallel and returns the results in shard order. Waits for every
   * shard to finish before settling; if any failed, rejects with the lowest-index shard's error.
   */
  async all<T>(fn: (pool: Pool, index: number) => Promise<T>): Promise<T[]> {
    const settled = await Promise.allSettled(this.guarded.map((pool, i) => fn(pool, i)));
    const results: T[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      results.push(s.value);
    }
    return results;
  }

  /** Ends every pool (waits for in-flight queries) and disposes the breakers. Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= Promise.all(this.pools.map((p) => p.end())).then(() => {
      for (const b of this.breakers) b?.dispose();
    });
    return this.closed;
  }

  /** Shard URLs with passwords masked, for logs. */
  describe(): string[] {
    return this.map.shards.map((s) => `${s.index}=${redactUrl(s.url)}`);
  }
}

async function runOnce<T>(
  pool: Pool,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ',
  fn: (conn: PoolConnection) => Promise<T>,
): Promise<T> {
  const conn = await pool.getConnection();
  let healthy = true;
  let open = false;
  try {
    // Without GLOBAL/SESSION this applies to the next transaction only, on MariaDB and MySQL alike.
    await conn.query(`SET TRANSACTION ISOLATION LEVEL ${isolation}`);
    await conn.query('START TRANSACTION');
    open = true;
    const result = await fn(conn);
    await conn.query('COMMIT');
    open = false;
    return result;
  } catch (err) {
    if ((err as { fatal?: boolean }).fatal) {
      healthy = false;
    } else if (open) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        // The connection is in an unknown state; drop it rather than hand it to the next caller.
        healthy = false;
      }
    }
    throw err;
  } finally {
    if (healthy) conn.release();
    else conn.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
