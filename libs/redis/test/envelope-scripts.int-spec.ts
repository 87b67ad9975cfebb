import { randomUUID } from 'node:crypto';
import { createRedis, EnvelopeKeys, EnvelopeScripts, GrabResult, RedisClient } from '../src';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('envelope Lua scripts (real Redis)', () => {
  let redis: RedisClient;
  let scripts: EnvelopeScripts;
  const prefix = `hbtest-${randomUUID().slice(0, 8)}`;
  let next = 1_000_000;
  const newId = () => String(++next);

  beforeAll(() => {
    redis = createRedis(REDIS_URL);
    scripts = new EnvelopeScripts(redis, new EnvelopeKeys(64, prefix));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const load = (id: string, shares: number[], ttlMs = 60_000) =>
    scripts.load(id, { expiresAtMs: Date.now() + ttlMs, keyExpireAtMs: Date.now() + ttlMs + 60_000, amount: shares.reduce((a, b) => a + b, 0), senderId: '1', shares });

  it('loads once: a second load of the same envelope changes nothing', async () => {
    const id = newId();
    expect(await load(id, [10, 20])).toBe(true);
    expect(await load(id, [1, 1, 1])).toBe(false);
    expect(await redis.lrange(scripts.keys.of(id).shares, 0, -1)).toEqual(['10', '20']);
  });

  it('hands out each share once under 500 concurrent grabs, and writes one outbox entry per win', async () => {
    const id = newId();
    const shares = Array.from({ length: 100 }, (_, i) => i + 1);
    await load(id, shares);
    const outbox = scripts.keys.of(id).outbox;
    const before = await redis.xlen(outbox);
    const users = Array.from({ length: 500 }, (_, i) => String(1 + (i % 250))); // every user twice
    const results = await Promise.all(users.map((u) => scripts.grab(id, u)));
    const wins = results.filter((r) => r.result === GrabResult.Won) as { amount: number }[];
    expect(wins).toHaveLength(100);
    expect(wins.map((w) => w.amount).sort((a, b) => a - b)).toEqual(shares);
    expect(results.filter((r) => r.result === GrabResult.SoldOut).length + results.filter((r) => r.result === GrabResult.AlreadyGrabbed).length).toBe(400);
    expect(await redis.hlen(scripts.keys.of(id).grabs)).toBe(100);
    const entries = await redis.xrange(outbox, '-', '+');
    const mine = entries.filter(([, f]) => f[3] === id);
    expect(mine).toHaveLength(100);
    expect(await redis.xlen(outbox)).toBe(before + 100);
  });

  it('answers an earlier winner with the amount they won', async () => {
    const id = newId();
    await load(id, [7, 8]);
    const first = await scripts.grab(id, '42');
    expect(first.result).toBe(GrabResult.Won);
    expect(await scripts.grab(id, '42')).toEqual({ result: GrabResult.AlreadyGrabbed, amount: (first as { amount: number }).amount });
  });

  it('refuses grabs after expiry and for unknown envelopes', async () => {
    const id = newId();
    await load(id, [5], 30);
    await new Promise((r) => setTimeout(r, 60));
    expect(await scripts.grab(id, '1')).toEqual({ result: GrabResult.Expired });
    expect(await scripts.grab(newId(), '1')).toEqual({ result: GrabResult.NotFound });
  });

  it('closes once, refunding exactly the shares nobody took, even racing the last grabs', async () => {
    for (let round = 0; round < 20; round++) {
      const id = newId();
      await load(id, [1, 2, 3, 4]);
      await scripts.grab(id, '1');
      const [g2, g3, close1, close2] = await Promise.all([scripts.grab(id, '2'), scripts.grab(id, '3'), scripts.close(id), scripts.close(id)]);
      const won = [g2, g3].filter((g) => g.result === GrabResult.Won) as { amount: number }[];
      const closes = [close1, close2];
      expect(closes.filter((c) => c.closedNow)).toHaveLength(1);
      const refund = closes.find((c) => c.closedNow)!.refund;
      const taken = 1 + won.reduce((s, w) => s + w.amount, 0);
      expect(taken + refund).toBe(10);
      expect(closes.every((c) => c.refund === refund)).toBe(true);
      expect(await scripts.grab(id, '9')).toEqual({ result: GrabResult.Expired });
    }
  });

  it('reports an unknown envelope on close', async () => {
    expect(await scripts.close(newId())).toEqual({ found: false, closedNow: false, refund: 0 });
  });
});
