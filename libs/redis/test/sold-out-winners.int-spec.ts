import { randomUUID } from 'node:crypto';
import { createRedis, EnvelopeKeys, RedisClient, SCAN_COUNT, SoldOutWinners } from '../src';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Resolves once `check` returns a value, or rejects after `ms`. */
async function eventually<T>(check: () => T | undefined, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SoldOutWinners (real Redis)', () => {
  let redis: RedisClient;
  const keys = new EnvelopeKeys(64, `hbtest-${randomUUID().slice(0, 8)}`);
  const memories: SoldOutWinners[] = [];
  const errors: string[] = [];
  const memory = async (size = 8) => {
    const m = new SoldOutWinners({ redis, url: REDIS_URL, keys, size, onError: (err, what) => errors.push(`${what}: ${String(err)}`) });
    memories.push(m);
    await m.start();
    return m;
  };

  beforeAll(() => {
    redis = createRedis(REDIS_URL);
  });
  afterEach(() => expect(errors).toEqual([]));
  afterAll(async () => {
    await Promise.all(memories.map((m) => m.stop()));
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length) await redis.del(...found);
    await redis.quit();
  });

  it('loads every winner of a large envelope, in several scan rounds, in the announcer and in another subscriber', async () => {
    const id = '7100000000000000001';
    const n = SCAN_COUNT * 2 + 500;
    const written = new Map<string, number>();
    for (let i = 0; i < n; i++) written.set(String(500_000 + i), 1 + (i % 997));
    await redis.hset(keys.of(id).grabs, Object.fromEntries([...written].map(([u, a]) => [u, `${a}:1760000000000`])));

    const announcer = await memory();
    const other = await memory();
    expect(announcer.winners(id)).toBeUndefined();
    // Calls through to Redis; counted to show the hash is read in rounds, never whole.
    const scans = jest.spyOn(redis, 'hscan');
    const whole = jest.spyOn(redis, 'hgetall');
    announcer.announce(id);
    for (const m of [announcer, other]) {
      const winners = await eventually(() => m.winners(id));
      expect(winners.size).toBe(n);
      expect([...winners].sort()).toEqual([...written].sort());
    }
    // Two memories, each at least n / SCAN_COUNT rounds (COUNT is a hint: Redis may return more or fewer).
    expect(scans.mock.calls.length).toBeGreaterThanOrEqual(2 * Math.floor(n / SCAN_COUNT));
    expect(whole).not.toHaveBeenCalled();
    scans.mockRestore();
    whole.mockRestore();
  });

  it('remembers nothing for an envelope whose grabs are gone, and forgets the oldest beyond its size', async () => {
    const m = await memory(2);
    m.announce('7100000000000000002'); // no grabs hash
    const ids = ['7100000000000000003', '7100000000000000004', '7100000000000000005'];
    for (const id of ids) {
      await redis.hset(keys.of(id).grabs, { '42': '7:1760000000000' });
      m.announce(id);
      await eventually(() => m.winners(id));
    }
    expect(m.winners('7100000000000000002')).toBeUndefined();
    expect(m.winners(ids[0])).toBeUndefined();
    expect(m.winners(ids[1])?.get('42')).toBe(7);
    expect(m.winners(ids[2])?.get('42')).toBe(7);
  });
});
