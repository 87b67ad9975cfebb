import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { freePort, startMariaDbServer, startRedisServer } from '../src';

// The fault tests' servers: stopped and started again on the same port and data.
jest.setTimeout(120_000);

describe('startRedisServer', () => {
  it('with AOF (appendfsync always), keeps every acknowledged write across a kill -9 and answers on the same port', async () => {
    const server = await startRedisServer({ appendonly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    try {
      await Promise.all(Array.from({ length: 200 }, (_, i) => client.rpush('list', String(i))));
      await client.hset('h', 'a', '1');
      await server.stop('SIGKILL');
      expect(server.running).toBe(false);
      // the client queues while the server is down and reconnects to the same address
      const pending = client.llen('list');
      await server.start();
      expect(server.running).toBe(true);
      expect(await pending).toBe(200);
      expect(await client.hget('h', 'a')).toBe('1');
    } finally {
      client.disconnect();
      await server.dispose();
    }
  });

  it('without AOF, a restart starts empty; dispose() is final', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    try {
      await client.set('k', 'v');
      await server.stop();
      await server.start();
      expect(await client.get('k')).toBeNull();
    } finally {
      client.disconnect();
      await server.dispose();
    }
    await expect(server.start()).rejects.toThrow(/after dispose/);
  });
});

describe('startMariaDbServer shutdown()/start()', () => {
  it('keeps committed rows across a clean shutdown and serves them on the same port', async () => {
    const server = await startMariaDbServer({ port: await freePort() });
    const db = 'hongbao_test_restart';
    try {
      const url = server.url(db);
      const conn = await createConnection({ uri: url.replace(`/${db}`, '') });
      await conn.query(`CREATE DATABASE ${db}`);
      await conn.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY) ENGINE=InnoDB`);
      await conn.query(`INSERT INTO ${db}.t VALUES (1), (2), (3)`);
      await conn.end();

      await server.shutdown();
      expect(server.running).toBe(false);
      await expect(createConnection({ uri: url, connectTimeout: 1000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      await server.start();
      expect(server.running).toBe(true);
      const again = await createConnection({ uri: url });
      const [rows] = await again.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
      expect(Number(rows[0]['n'])).toBe(3);
      await again.end();
    } finally {
      await server.stop();
    }
    await expect(server.start()).rejects.toThrow(/after stop/);
  });
});
