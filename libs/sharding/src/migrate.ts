import { createConnection, type Connection } from 'mysql2/promise';
import { parseShardUrl, redactUrl, type ShardMap, type ShardSpec } from './shard-map';
import { connectionOptions } from './sharded-mysql';
import { fnv1a32 } from './slot';

/** One schema change, applied to every shard once, in list order. */
export interface Migration {
  /** Unique, stable, at most 100 characters, e.g. "001_wallets". Never rename one that has shipped. */
  id: string;
  /**
   * SQL statements run one by one (no multi-statement strings). MySQL and MariaDB commit DDL
   * implicitly, so a migration that fails halfway is not rolled back: keep one DDL statement per
   * migration, or make statements re-runnable (IF NOT EXISTS).
   */
  statements: string[];
}

/** What {@link migrate} applied on one shard. */
export interface MigrationResult {
  shard: number;
  /** Ids applied by this call, in order; empty if the shard was already up to date. */
  applied: string[];
}

/** How long a runner waits for another runner's migration lock on the same database, in seconds. */
const LOCK_TIMEOUT_S = 120;

/**
 * Brings every shard's schema up to date: creates the database if missing, keeps a
 * `schema_migrations` table, and applies the missing migrations in list order, recording each.
 * Runners on the same database are serialised with GET_LOCK, so concurrent calls (several pods
 * starting, a one-shot job racing a service) are safe; the loser finds nothing left to do.
 * Shards are migrated in parallel. Returns what was applied, in shard order.
 */
export async function migrate(
  map: ShardMap,
  migrations: Migration[],
  log: (msg: string) => void = () => undefined,
): Promise<MigrationResult[]> {
  validateMigrations(migrations);
  const settled = await Promise.allSettled(map.shards.map((shard) => migrateShard(shard, migrations, log)));
  return settled.map((s) => {
    if (s.status === 'rejected') throw s.reason;
    return s.value;
  });
}

function validateMigrations(migrations: Migration[]): void {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 100) {
      throw new Error(`migrate: migration id must be 1-100 characters, got ${JSON.stringify(m.id)}`);
    }
    if (ids.has(m.id)) throw new Error(`migrate: migration id "${m.id}" appears twice`);
    ids.add(m.id);
    if (!Array.isArray(m.statements) || m.statements.length === 0) {
      throw new Error(`migrate: migration "${m.id}" has no statements`);
    }
  }
}

async function migrateShard(
  shard: ShardSpec,
  migrations: Migration[],
  log: (msg: string) => void,
): Promise<MigrationResult> {
  const where = `shard ${shard.index} (${redactUrl(shard.url)})`;
  const db = shard.database;
  const conn = await connectWithoutDatabase(shard);
  // GET_LOCK names are server-wide and limited to 64 characters; the hash keeps them short.
  const lockName = `hongbao_migrate_${fnv1a32(db).toString(16)}_${db}`.slice(0, 64);
  try {
    const [lockRows] = await conn.query('SELECT GET_LOCK(?, ?) AS got', [lockName, LOCK_TIMEOUT_S]);
    if (Number((lockRows as Array<{ got: unknown }>)[0]?.got) !== 1) {
      throw new Error(`migrate: ${where}: timed out after ${LOCK_TIMEOUT_S}s waiting for another migration runner`);
    }
    try {
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await conn.query(`USE \`${db}\``);
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           id VARCHAR(100) NOT NULL PRIMARY KEY,
           applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
         ) ENGINE=InnoDB`,
      );
      const [rows] = await conn.query('SELECT id FROM schema_migrations');
      const done = new Set((rows as Array<{ id: string }>).map((r) => r.id));
      const known = new Set(migrations.map((m) => m.id));
      const unknown = [...done].filter((id) => !known.has(id));
      if (unknown.length > 0) {
        log(`${where}: database has migrations this code does not know (newer release?): ${unknown.join(', ')}`);
      }
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        for (const [i, sql] of m.statements.entries()) {
          try {
            await conn.query(sql);
          } catch (err) {
            throw new Error(
              `migrate: ${where}: migration ${m.id} statement ${i + 1}/${m.statements.length} failed: ${(err as Error).message}`,
              { cause: err },
            );
          }
        }
        await conn.query('INSERT INTO schema_migrations (id) VALUES (?)', [m.id]);
        applied.push(m.id);
        log(`${where}: applied ${m.id}`);
      }
      if (applied.length === 0) log(`${where}: up to date`);
      return { shard: shard.index, applied };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
    }
  } finally {
    // Ending the session releases the lock even if RELEASE_LOCK could not be sent.
    await conn.end().catch(() => conn.destroy());
  }
}

async function connectWithoutDatabase(shard: ShardSpec): Promise<Connection> {
  const { host, port, user, password } = parseShardUrl(shard.url);
  return createConnection(connectionOptions({ host, port, user, password }));
}

/**
 * Throws unless every shard's database name contains "test" (case-insensitive). Call it first in
 * every integration test setup so a misconfigured URL can never point tests at real data.
 */
export function assertTestDatabases(map: ShardMap): void {
  const bad = map.shards.filter((s) => !/test/i.test(s.database));
  if (bad.length > 0) {
    throw new Error(
      `Refusing to use non-test database(s): ${bad
        .map((s) => `shard ${s.index} "${s.database}"`)
        .join(', ')}; test database names must contain "test"`,
    );
  }
}

/** Drops every shard's database (tests only: calls {@link assertTestDatabases} first). Missing databases are ignored. */
export async function dropDatabases(map: ShardMap): Promise<void> {
  assertTestDatabases(map);
  await Promise.all(
    map.shards.map(async (shard) => {
      const conn = await connectWithoutDatabase(shard);
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${shard.database}\``);
      } finally {
        await conn.end().catch(() => conn.destroy());
      }
    }),
  );
}
