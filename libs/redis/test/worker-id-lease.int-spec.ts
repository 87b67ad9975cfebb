import { randomUUID } from 'node:crypto';
import { createRedis, RedisClient, WorkerIdLease } from '../src';

describe('WorkerIdLease (real Redis)', () => {
  let redis: RedisClient;
  const ns = `hbtest-lease-${randomUUID().slice(0, 8)}`;

  beforeAll(() => {
    redis = createRedis(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    const keys = await redis.keys(`${ns}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('hands 50 concurrent replicas 50 distinct worker ids', async () => {
    const leases = await Promise.all(Array.from({ length: 50 }, () => WorkerIdLease.acquire(redis, ns)));
    expect(new Set(leases.map((l) => l.workerId)).size).toBe(50);
    for (const l of leases) expect(l.workerId).toBeGreaterThanOrEqual(0);
    await Promise.all(leases.map((l) => l.release()));
    expect(await redis.keys(`${ns}:*`)).toEqual([]);
  });

  it('keeps its id while renewing and reports a stolen lease', async () => {
    const lost: number[] = [];
    const lease = await WorkerIdLease.acquire(redis, ns, { ttlMs: 300, onLost: (id) => lost.push(id) });
    await new Promise((r) => setTimeout(r, 700)); // longer than the TTL: only renewal keeps it
    expect(await redis.exists(`${ns}:${lease.workerId}`)).toBe(1);
    await redis.set(`${ns}:${lease.workerId}`, 'someone-else');
    expect(await lease.renew((id) => lost.push(id))).toBe(false);
    expect(lost).toContain(lease.workerId);
    await redis.del(`${ns}:${lease.workerId}`);
  });
});
