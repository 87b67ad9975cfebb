import { randomBytes } from 'node:crypto';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { BreakerOpenError, breakers } from '@hongbao/resilience';
import { dropDatabases, migrate, ShardedMysql, ShardMap } from '../src';
import { TcpForwarder } from './support/tcp-forwarder';

// The local MariaDB (scripts/local-deps.sh) behind a TCP forwarder the tests stop and restart:
// a real server going away, without stopping the MariaDB others are using.
const auth = 'hongbao:hongbao';
const mariadb = { host: '127.0.0.1', port: 3306 };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function waitFor(predicate: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ShardedMysql breakers against a real MariaDB', () => {
  const database = `hongbao_test_breaker_${randomBytes(4).toString('hex')}`;
  const direct = ShardMap.fromConfig([`mysql://${auth}@${mariadb.host}:${mariadb.port}/${database}`]);
  const name = `t${randomBytes(3).toString('hex')}`;
  const forwarders: TcpForwarder[] = [];
  const dbs: ShardedMysql[] = [];

  beforeAll(async () => {
    await migrate(direct, [{ id: '001_kv', statements: ['CREATE TABLE kv (k VARCHAR(64) NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB'] }]);
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((d) => d.close()));
    await Promise.all(forwarders.splice(0).map((f) => f.stop()));
  });
  afterAll(async () => {
    await dropDatabases(direct);
  });

  async function behind(forwarder: TcpForwarder, opts: ConstructorParameters<typeof ShardedMysql>[1]): Promise<ShardedMysql> {
    forwarders.push(await forwarder.start());
    const db = new ShardedMysql(ShardMap.fromConfig([`mysql://${auth}@127.0.0.1:${forwarder.port}/${database}`]), opts);
    dbs.push(db);
    return db;
  }

  it('a stopped shard server opens its breaker; while open, queries and transactions fail fast; it closes once the server is back', async () => {
    const proxy = new TcpForwarder(mariadb);
    const db = await behind(proxy, { name, breaker: { volumeThreshold: 3, resetTimeoutMs: 400 }, connectionLimit: 2 });
    const breaker = breakers.get(`mysql:${name}:0`);
    await db.pool(0).query('SELECT 1');
    expect(breaker?.state).toBe('closed');

    await proxy.stop();
    const codes: string[] = [];
    for (let i = 0; i < 10 && breaker?.state === 'closed'; i++) {
      const err = await rejection(db.pool(0).query('SELECT 1'));
      expect(err).toBeInstanceOf(AppError);
      expect(err).not.toBeInstanceOf(BreakerOpenError);
      codes.push((err as AppError).code);
    }
    expect(breaker?.state).toBe('open');
    expect(new Set(codes)).toEqual(new Set([ErrorCode.DependencyUnavailable]));

    let ran = false;
    const fast = await rejection(
      db.tx(0, async () => {
        ran = true;
      }),
    );
    expect(fast).toBeInstanceOf(BreakerOpenError);
    expect((fast as AppError).details).toEqual({ breaker: `mysql:${name}:0`, retryAfterSeconds: 1 });
    expect(ran).toBe(false);
    expect(await rejection(db.poolFor('123').query('SELECT 1'))).toBeInstanceOf(BreakerOpenError);
    expect(await rejection(db.all((p) => p.query('SELECT 1')))).toBeInstanceOf(BreakerOpenError);

    await proxy.start();
    await waitFor(() => breaker?.state === 'halfOpen', 3000, 'the breaker to half-open');
    await db.tx(0, (c) => c.query('INSERT INTO kv (k, v) VALUES (?, 1) ON DUPLICATE KEY UPDATE v = v + 1', [`back-${name}`]));
    expect(breaker?.state).toBe('closed');
  });

  it('SQL errors and domain errors thrown in a transaction pass through unchanged and never trip it', async () => {
    const db = await behind(new TcpForwarder(mariadb), { name: `${name}d`, breaker: { volumeThreshold: 3 } });
    const key = `dup-${name}`;
    await db.pool(0).query('INSERT INTO kv (k, v) VALUES (?, 1)', [key]);
    for (let i = 0; i < 10; i++) {
      const dup = await rejection(db.pool(0).query('INSERT INTO kv (k, v) VALUES (?, 1)', [key]));
      expect((dup as { code?: string }).code).toBe('ER_DUP_ENTRY');
    }
    const soldOut = new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken');
    for (let i = 0; i < 10; i++) {
      expect(
        await rejection(
          db.tx(0, async () => {
            throw soldOut;
          }),
        ),
      ).toBe(soldOut);
    }
    expect(breakers.get(`mysql:${name}d:0`)?.state).toBe('closed');
  });

  it('a server that accepts but never answers fails after connectTimeoutMs, as DEPENDENCY.UNAVAILABLE', async () => {
    const db = await behind(new TcpForwarder(mariadb, true), { name: `${name}s`, connectTimeoutMs: 300 });
    const err = await rejection(db.pool(0).query('SELECT 1'));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.DependencyUnavailable);
    expect(((err as AppError).cause as { code?: string }).code).toBe('ETIMEDOUT');
  }, 5000); // mysql2's own default would wait 10 s

  it('breaker: false leaves driver errors as they are', async () => {
    const proxy = new TcpForwarder(mariadb);
    const db = await behind(proxy, { name: `${name}n`, breaker: false });
    await proxy.stop();
    const err = await rejection(db.pool(0).query('SELECT 1'));
    expect(err).not.toBeInstanceOf(AppError);
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(breakers.get(`mysql:${name}n:0`)).toBeUndefined();
  });

  it('closing disposes the breakers', async () => {
    const db = await behind(new TcpForwarder(mariadb), { name: `${name}c` });
    expect(breakers.get(`mysql:${name}c:0`)).toBeDefined();
    await db.close();
    expect(breakers.get(`mysql:${name}c:0`)).toBeUndefined();
  });
});
