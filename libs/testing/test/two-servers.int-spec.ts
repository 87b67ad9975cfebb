import { randomBytes } from 'node:crypto';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { startMariaDbServer, type MariaDbServer } from '../src';
import { assertTestDatabases, dropDatabases, migrate, parseShardUrl, ShardedMysql, ShardMap, slotOf } from '@hongbao/sharding';

// Shard 0 on the local MariaDB (3306), shard 1 on a throwaway second server (3307).
jest.setTimeout(120_000);

describe('two physical servers', () => {
  const db = `hongbao_test_two_${randomBytes(4).toString('hex')}`;
  let second: MariaDbServer;
  let map: ShardMap;
  let sharded: ShardedMysql;

  beforeAll(async () => {
    second = await startMariaDbServer({ port: 3307 });
    map = ShardMap.fromConfig(
      [`mysql://hongbao:hongbao@127.0.0.1:3306/${db}`, second.url(db)],
      '0-511:0,512-1023:1',
    );
    assertTestDatabases(map);
    await migrate(map, [
      {
        id: '001_wallets',
        statements: ['CREATE TABLE wallets (user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB'],
      },
    ]);
    sharded = new ShardedMysql(map);
  });

  afterAll(async () => {
    await sharded?.close();
    if (map) await dropDatabases(map);
    await second?.stop();
  });

  /** Rows of `db`.wallets read straight from one server, bypassing the library's routing. */
  async function userIdsOnServer(port: number): Promise<string[]> {
    const { user, password } = parseShardUrl(map.shards[0].url);
    const conn = await createConnection({ host: '127.0.0.1', port, user, password, database: db, supportBigNumbers: true, bigNumberStrings: true });
    try {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT user_id, @@port AS port FROM wallets ORDER BY user_id');
      for (const r of rows) expect(Number(r['port'])).toBe(port);
      return rows.map((r) => String(r['user_id']));
    } finally {
      await conn.end();
    }
  }

  it('puts each key on the server that owns its slot, and scatter-gather sees both servers', async () => {
    const userIds = Array.from({ length: 300 }, (_, i) => String(7_300_000_000_000_000_000n + BigInt(i) * 4_194_304n));
    for (const id of userIds) {
      await sharded.poolFor(id).query('INSERT INTO wallets (user_id, balance) VALUES (?, ?)', [id, 100]);
    }

    const onFirst = userIds.filter((id) => slotOf(id) < 512);
    const onSecond = userIds.filter((id) => slotOf(id) >= 512);
    expect(onFirst.length).toBeGreaterThan(100);
    expect(onSecond.length).toBeGreaterThan(100);

    const sortNum = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);
    expect(await userIdsOnServer(3306)).toEqual([...onFirst].sort(sortNum));
    expect(await userIdsOnServer(second.port)).toEqual([...onSecond].sort(sortNum));

    const counts = await sharded.all(async (pool) => {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS c, SUM(balance) AS total, @@port AS port FROM wallets');
      return { count: Number(rows[0]['c']), total: Number(rows[0]['total']), port: Number(rows[0]['port']) };
    });
    expect(counts).toEqual([
      { count: onFirst.length, total: onFirst.length * 100, port: 3306 },
      { count: onSecond.length, total: onSecond.length * 100, port: 3307 },
    ]);
  });

  it('runs a transaction on the server that owns the key', async () => {
    const id = Array.from({ length: 100 }, (_, i) => String(9_000 + i)).find((k) => map.shardIndexOf(k) === 1);
    if (id === undefined) throw new Error('no key in 9000-9099 maps to shard 1');
    await sharded.tx(map.shardIndexOf(id), async (conn) => {
      await conn.query('INSERT INTO wallets (user_id, balance) VALUES (?, 5)', [id]);
      await conn.query('UPDATE wallets SET balance = balance + 1 WHERE user_id = ?', [id]);
    });
    expect(await userIdsOnServer(second.port)).toContain(id);
    expect(await userIdsOnServer(3306)).not.toContain(id);
    const [rows] = await sharded.poolFor(id).query<RowDataPacket[]>('SELECT balance FROM wallets WHERE user_id = ?', [id]);
    expect(rows).toEqual([{ balance: '6' }]);
  });
});
