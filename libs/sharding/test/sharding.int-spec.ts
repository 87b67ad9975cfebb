import { randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import {
  assertTestDatabases,
  dropDatabases,
  migrate,
  ShardedMysql,
  ShardMap,
  type Migration,
  type PoolConnection,
} from '../src';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Real MariaDB from scripts/local-deps.sh; every run uses its own databases and drops them.
const base = 'mysql://hongbao:hongbao@127.0.0.1:3306/';
const freshMap = () => {
  const name = `hongbao_test_shard_${randomBytes(4).toString('hex')}`;
  return ShardMap.fromConfig([`${base}${name}_0`, `${base}${name}_1`]);
};

const migrations: Migration[] = [
  {
    id: '001_kv',
    statements: ['CREATE TABLE kv (k VARCHAR(64) NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB'],
  },
  {
    id: '002_counters',
    statements: [
      'CREATE TABLE counters (id INT NOT NULL PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB',
      'INSERT INTO counters (id, n) VALUES (1, 0), (2, 0)',
    ],
  },
];

const created: ShardMap[] = [];
afterAll(async () => {
  for (const map of created) await dropDatabases(map);
});

function track(map: ShardMap): ShardMap {
  assertTestDatabases(map);
  created.push(map);
  return map;
}

async function tableNames(db: ShardedMysql, index: number): Promise<string[]> {
  const [rows] = await db
    .pool(index)
    .query<RowDataPacket[]>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1');
  return rows.map((r) => String(r['t']));
}

describe('migrate', () => {
  it('creates every shard database and table, records the ids, and applies nothing on a second run', async () => {
    const map = track(freshMap());
    const logs: string[] = [];
    const first = await migrate(map, migrations, (m) => logs.push(m));
    expect(first).toEqual([
      { shard: 0, applied: ['001_kv', '002_counters'] },
      { shard: 1, applied: ['001_kv', '002_counters'] },
    ]);
    expect(logs.filter((l) => l.includes('applied 002_counters'))).toHaveLength(2);
    expect(logs.join('\n')).not.toContain('hongbao:hongbao@');

    const db = new ShardedMysql(map);
    try {
      for (const i of [0, 1]) {
        expect(await tableNames(db, i)).toEqual(['counters', 'kv', 'schema_migrations']);
        const [rows] = await db.pool(i).query<RowDataPacket[]>('SELECT id FROM schema_migrations ORDER BY id');
        expect(rows.map((r) => r['id'])).toEqual(['001_kv', '002_counters']);
      }
    } finally {
      await db.close();
    }

    expect(await migrate(map, migrations)).toEqual([
      { shard: 0, applied: [] },
      { shard: 1, applied: [] },
    ]);
    // A later release adds a migration: only that one runs.
    const next = [...migrations, { id: '003_kv_index', statements: ['CREATE INDEX kv_v ON kv (v)'] }];
    expect(await migrate(map, next)).toEqual([
      { shard: 0, applied: ['003_kv_index'] },
      { shard: 1, applied: ['003_kv_index'] },
    ]);
  });

  it('serialises two concurrent runners: each migration is applied exactly once per shard', async () => {
    const map = track(freshMap());
    const [a, b] = await Promise.all([migrate(map, migrations), migrate(map, migrations)]);
    for (const shard of [0, 1]) {
      const applied = [...a[shard].applied, ...b[shard].applied].sort();
      expect(applied).toEqual(['001_kv', '002_counters']);
    }
    const db = new ShardedMysql(map);
    try {
      const counts = await db.all(async (pool) => {
        const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS c FROM counters');
        return Number(rows[0]['c']);
      });
      expect(counts).toEqual([2, 2]); // the seed INSERT ran once, not twice
    } finally {
      await db.close();
    }
  });

  it('stops at a failing statement without recording it, releases the lock, and resumes after a fix', async () => {
    const map = track(freshMap());
    const broken = [...migrations, { id: '003_bad', statements: ['CREATE TABLE oops (id INT PRIMARY KEY, id INT)'] }];
    await expect(migrate(map, broken)).rejects.toThrow(/shard 0 .*migration 003_bad statement 1\/1 failed: Duplicate column/);
    const fixed = [...migrations, { id: '003_bad', statements: ['CREATE TABLE oops (id INT PRIMARY KEY)'] }];
    // Would wait for the lock timeout if the failed run had kept it.
    expect(await migrate(map, fixed)).toEqual([
      { shard: 0, applied: ['003_bad'] },
      { shard: 1, applied: ['003_bad'] },
    ]);
  });

  it('rejects duplicate migration ids before touching any database', async () => {
    const map = freshMap();
    await expect(migrate(map, [migrations[0], migrations[0]])).rejects.toThrow(/"001_kv" appears twice/);
  });
});

describe('ShardedMysql', () => {
  const map = track(freshMap());
  let db: ShardedMysql;

  beforeAll(async () => {
    await migrate(map, migrations);
    db = new ShardedMysql(map, { connectionLimit: 4 });
  });
  afterAll(async () => {
    await db.close();
  });

  it('commits what fn did when it resolves', async () => {
    const result = await db.tx(0, async (conn) => {
      await conn.query('INSERT INTO kv (k, v) VALUES (?, ?)', ['commit-me', 7]);
      return 'done';
    });
    expect(result).toBe('done');
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT v FROM kv WHERE k = ?', ['commit-me']);
    expect(rows).toEqual([{ v: '7' }]); // BIGINT comes back as an exact string
  });

  it('rolls back and rethrows when fn rejects, without retrying', async () => {
    let calls = 0;
    await expect(
      db.tx(0, async (conn) => {
        calls++;
        await conn.query('INSERT INTO kv (k, v) VALUES (?, ?)', ['roll-me-back', 1]);
        throw new Error('WALLET.INSUFFICIENT_FUNDS');
      }),
    ).rejects.toThrow('WALLET.INSUFFICIENT_FUNDS');
    expect(calls).toBe(1);
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT v FROM kv WHERE k = ?', ['roll-me-back']);
    expect(rows).toEqual([]);
  });

  it('uses READ COMMITTED by default and REPEATABLE READ on request', async () => {
    const level = (opts?: { isolation?: 'READ COMMITTED' | 'REPEATABLE READ' }) =>
      db.tx(
        1,
        async (conn) => {
          // Reading the variable is not enough (SET TRANSACTION does not change it), so observe the behaviour:
          // does a row committed by another session after our first read become visible?
          const key = `iso-${randomBytes(4).toString('hex')}`;
          await conn.query('SELECT COUNT(*) FROM kv');
          await db.pool(1).query('INSERT INTO kv (k, v) VALUES (?, 1)', [key]);
          const [rows] = await conn.query<RowDataPacket[]>('SELECT k FROM kv WHERE k = ?', [key]);
          return rows.length === 1 ? 'sees concurrent commit' : 'snapshot';
        },
        opts,
      );
    expect(await level()).toBe('sees concurrent commit');
    expect(await level({ isolation: 'REPEATABLE READ' })).toBe('snapshot');
  });

  /** Two transactions that lock counter rows 1 and 2 in opposite order on their first attempt. */
  async function forceDeadlock(retries?: number) {
    await db.pool(0).query('UPDATE counters SET n = 0');
    const attempts = { a: 0, b: 0 };
    let arrived = 0;
    let release!: () => void;
    const bothHoldFirstLock = new Promise<void>((r) => (release = r));
    const arrive = async () => {
      if (++arrived === 2) release();
      await bothHoldFirstLock;
    };
    const bump = (name: 'a' | 'b', first: number, second: number) =>
      db.tx(
        0,
        async (conn: PoolConnection) => {
          attempts[name]++;
          await conn.query('UPDATE counters SET n = n + 1 WHERE id = ?', [first]);
          if (attempts[name] === 1) await arrive();
          await conn.query('UPDATE counters SET n = n + 1 WHERE id = ?', [second]);
          return name;
        },
        retries === undefined ? undefined : { retries },
      );
    const results = await Promise.allSettled([bump('a', 1, 2), bump('b', 2, 1)]);
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT id, n FROM counters ORDER BY id');
    return { results, attempts, counters: rows.map((r) => Number(r['n'])) };
  }

  it('retries the whole fn after a deadlock and both transactions end up committed', async () => {
    const { results, attempts, counters } = await forceDeadlock();
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'fulfilled', value: 'b' },
    ]);
    expect(attempts.a + attempts.b).toBe(3); // exactly one victim, retried once
    expect(counters).toEqual([2, 2]);
  });

  it('surfaces the deadlock (errno 1213) when retries are exhausted', async () => {
    const { results, attempts, counters } = await forceDeadlock(0);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ errno: 1213, code: 'ER_LOCK_DEADLOCK' });
    expect(attempts).toEqual({ a: 1, b: 1 });
    expect(counters).toEqual([1, 1]); // only the winner's increments survived
  });

  it('re-runs a pool statement (autocommit) that InnoDB chose as a deadlock victim; it then applies once', async () => {
    await db.pool(0).query('UPDATE counters SET n = 0');
    const deadlocks = async () => {
      const [rows] = await db.pool(0).query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
      return Number(rows[0]['Value']);
    };
    const before = await deadlocks();
    const a = await db.pool(0).getConnection();
    try {
      // A is the heavier transaction (InnoDB rolls back the lighter one): 20 rows, then counter 2.
      await a.query('START TRANSACTION');
      for (let i = 0; i < 20; i++) await a.query('INSERT INTO kv (k, v) VALUES (?, ?)', [`dl-${randomBytes(4).toString('hex')}`, i]);
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 2');
      // B, one statement through the pool: locks counter 1, then waits for A's lock on 2.
      const b = db.pool(0).query('UPDATE counters SET n = n + 10 WHERE id IN (1, 2) ORDER BY id');
      await sleep(300);
      // A now waits for B's lock on 1: a deadlock, and B (lighter) is the victim.
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 1');
      await a.query('COMMIT');
      await b; // rolled back once, re-run, applied
    } finally {
      a.release();
    }
    expect(await deadlocks()).toBeGreaterThan(before);
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT n FROM counters ORDER BY id');
    expect(rows.map((r) => Number(r['n']))).toEqual([11, 11]);
  });

  it('surfaces a pool statement\'s deadlock when deadlockRetries is 0', async () => {
    const strict = new ShardedMysql(map, { connectionLimit: 2, deadlockRetries: 0 });
    const a = await db.pool(0).getConnection();
    try {
      await db.pool(0).query('UPDATE counters SET n = 0');
      await a.query('START TRANSACTION');
      for (let i = 0; i < 20; i++) await a.query('INSERT INTO kv (k, v) VALUES (?, ?)', [`dl-${randomBytes(4).toString('hex')}`, i]);
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 2');
      const b = strict.pool(0).query('UPDATE counters SET n = n + 10 WHERE id IN (1, 2) ORDER BY id').then(
        () => 'applied',
        (err: { errno?: number }) => err.errno,
      );
      await sleep(300);
      await a.query('UPDATE counters SET n = n + 1 WHERE id = 1');
      await a.query('COMMIT');
      expect(await b).toBe(1213);
    } finally {
      a.release();
      await strict.close();
    }
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT n FROM counters ORDER BY id');
    expect(rows.map((r) => Number(r['n']))).toEqual([1, 1]); // only A's increments
  });

  it('retries after a lock wait timeout (1205)', async () => {
    const holder = await db.pool(0).getConnection();
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT n FROM counters WHERE id = 1 FOR UPDATE');
      let calls = 0;
      const result = await db.tx(0, async (conn) => {
        calls++;
        await conn.query('SET SESSION innodb_lock_wait_timeout = 1');
        if (calls === 2) await holder.query('COMMIT'); // the blocker goes away before the retry locks
        await conn.query('UPDATE counters SET n = 42 WHERE id = 1');
        return calls;
      });
      expect(result).toBe(2);
    } finally {
      holder.release();
    }
    const [rows] = await db.pool(0).query<RowDataPacket[]>('SELECT n FROM counters WHERE id = 1');
    expect(rows).toEqual([{ n: '42' }]);
  });

  it('routes a row for key K to shard shardIndexOf(K) only', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `route-${i}-${randomBytes(3).toString('hex')}`);
    for (const k of keys) {
      await db.poolFor(k).query('INSERT INTO kv (k, v) VALUES (?, ?)', [k, 1]);
    }
    const perShard = await db.all(async (pool, index) => {
      const [rows] = await pool.query<RowDataPacket[]>("SELECT k FROM kv WHERE k LIKE 'route-%' ORDER BY k");
      return { index, keys: rows.map((r) => String(r['k'])) };
    });
    for (const { index, keys: stored } of perShard) {
      const expected = keys.filter((k) => map.shardIndexOf(k) === index).sort();
      expect(stored).toEqual(expected);
      expect(stored.length).toBeGreaterThan(50); // both shards really receive rows
    }
    expect(perShard[0].keys.length + perShard[1].keys.length).toBe(200);
  });

  it('all() returns results in shard order and rejects with the failing shard error', async () => {
    expect(await db.all(async (pool, i) => {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT DATABASE() AS d');
      return `${i}:${rows[0]['d']}`;
    })).toEqual([`0:${map.shards[0].database}`, `1:${map.shards[1].database}`]);
    await expect(
      db.all(async (pool, i) => {
        if (i === 1) await pool.query('SELECT * FROM no_such_table');
        return i;
      }),
    ).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
  });

  it('rejects an out-of-range shard index', () => {
    expect(() => db.pool(2)).toThrow(/shard index 2 is out of range 0-1/);
  });
});

describe('assertTestDatabases', () => {
  it('refuses a shard whose database name lacks "test" and accepts test names', async () => {
    const prod = ShardMap.fromConfig([`${base}hongbao_test_x_0`, `${base}hongbao_wallet_1`]);
    expect(() => assertTestDatabases(prod)).toThrow(/non-test database\(s\): shard 1 "hongbao_wallet_1"/);
    await expect(dropDatabases(prod)).rejects.toThrow(/non-test/);
    expect(() => assertTestDatabases(freshMap())).not.toThrow();
  });
});

describe('dropDatabases', () => {
  it('drops every shard database', async () => {
    const map = freshMap();
    await migrate(map, migrations);
    await dropDatabases(map);
    const db = new ShardedMysql(map);
    try {
      await expect(db.pool(0).query('SELECT 1')).rejects.toMatchObject({ code: 'ER_BAD_DB_ERROR' });
    } finally {
      await db.close();
    }
  });
});
