import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { createRedis, type RedisClient } from '@hongbao/redis';
import { Metrics } from '@hongbao/service-kit';
import { freePort, startRedisCluster, type RedisCluster } from '@hongbao/testing';
import type { FastifyReply } from 'fastify';
import type { GatewayConfig } from '../src/config';
import type { RateLimitOverrides } from '../src/governance/rate-limit-rules';
import { RateLimiter } from '../src/governance/rate-limiter';

jest.setTimeout(60_000);

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** `*` per IP 100 at once; grab per user 10 at once (DESIGN's 5/s with a burst of 10). */
const RULES: RateLimitOverrides = { '*': { ip: { rate: 100, burst: 100 } }, grab: { user: { rate: 5, burst: 10 } } };

/** The part of a Fastify reply the limiter writes: its RateLimit-* headers. */
function fakeReply(): FastifyReply & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const reply = {
    headers,
    header(k: string, v: string) {
      headers[k] = v;
      return reply;
    },
  };
  return reply as unknown as FastifyReply & { headers: Record<string, string> };
}

function limiter(redis: RedisClient, prefix: string, opts: { rules?: RateLimitOverrides; failOpen?: boolean } = {}): RateLimiter {
  // Failing closed unless asked: a Redis failure then shows as 503, not as counts in memory.
  const config = { RATE_LIMITS: opts.rules ?? RULES, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_FAIL_OPEN: opts.failOpen ?? false } as GatewayConfig;
  return new RateLimiter(config, redis, new Metrics('test'));
}

/** Resolves to undefined, or to the AppError consume threw. */
async function consume(l: RateLimiter, keys: Record<string, string>, reply = fakeReply()): Promise<AppError | undefined> {
  try {
    await l.consume('grab', keys, reply);
    return undefined;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

describe('RateLimiter on a real Redis', () => {
  let redis: RedisClient;
  let monitorBase: Redis;
  let monitor: Redis;
  /** script calls (EVALSHA / EVAL) seen by MONITOR, each as its arguments */
  const scriptCalls: string[][] = [];
  let prefix: string;

  beforeAll(async () => {
    redis = createRedis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await new Promise<void>((resolve) => (redis.status === 'ready' ? resolve() : redis.once('ready', () => resolve())));
    // monitor() opens a connection of its own; the client it was called on is closed after too.
    monitorBase = createRedis(REDIS_URL) as Redis;
    monitor = await monitorBase.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      const cmd = String(args[0]).toLowerCase();
      if ((cmd === 'evalsha' || cmd === 'eval') && args.some((a) => a.startsWith('rltest-'))) scriptCalls.push(args);
    });
  });

  afterAll(async () => {
    monitor?.disconnect();
    monitorBase?.disconnect();
    redis?.disconnect();
  });

  beforeEach(() => {
    prefix = `rltest-${randomUUID().slice(0, 8)}`;
    scriptCalls.length = 0;
  });

  /** MONITOR reports asynchronously: a PING through it after the calls flushes what came before. */
  const seen = async (): Promise<string[][]> => {
    await redis.ping();
    await new Promise((r) => setTimeout(r, 100));
    return scriptCalls.filter((args) => args.some((a) => a.startsWith(prefix)));
  };

  it("counts a request's rules in one script call, sets the tightest rule's headers, and refuses the 11th grab from memory", async () => {
    const l = limiter(redis, prefix);
    const keys = { ip: '10.0.0.1', global: 'all', user: 'u1' };
    for (let i = 1; i <= 10; i++) {
      const reply = fakeReply();
      expect(await consume(l, keys, reply)).toBeUndefined();
      // The user rule (10 at once) is tighter than the IP rule (100 at once).
      expect(reply.headers).toMatchObject({ 'ratelimit-limit': '10', 'ratelimit-remaining': String(10 - i) });
    }
    const reply = fakeReply();
    const refused = await consume(l, keys, reply);
    expect(refused).toMatchObject({ code: ErrorCode.RateLimited, details: { scope: 'user' } });
    expect(refused!.details!['retryAfterSeconds']).toBeGreaterThanOrEqual(1);
    expect(reply.headers).toMatchObject({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0' });
    expect(() => l.refuseIfBlocked('grab', keys, fakeReply())).toThrow(AppError);

    const calls = await seen();
    // Ten calls (the 11th never reached Redis), each with both keys: numkeys 2.
    expect(calls).toHaveLength(10);
    for (const args of calls) {
      expect(args[2]).toBe('2');
      expect(args.slice(3, 5).sort()).toEqual([`${prefix}:rl:all:ip:10.0.0.1`, `${prefix}:rl:grab:user:u1`]);
    }
    expect(await redis.get(`${prefix}:rl:grab:user:u1`)).toBe('10');
    expect(await redis.get(`${prefix}:rl:all:ip:10.0.0.1`)).toBe('10');
    // Each key expires with its window (10 points at 5/s: 2 s).
    const ttl = await redis.pttl(`${prefix}:rl:grab:user:u1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
  });

  it('shares the count between replicas through Redis, and a new window starts afresh', async () => {
    const rules: RateLimitOverrides = { '*': { ip: null }, grab: { user: { rate: 3, burst: 3 } } };
    const a = limiter(redis, prefix, { rules });
    const b = limiter(redis, prefix, { rules });
    const keys = { user: 'u2' };
    expect(await consume(a, keys)).toBeUndefined();
    expect(await consume(a, keys)).toBeUndefined();
    const third = fakeReply();
    expect(await consume(b, keys, third)).toBeUndefined();
    // b's first request is the window's third: the count is shared.
    expect(third.headers['ratelimit-remaining']).toBe('0');
    // a has not seen the window used up: Redis says 4 of 3. b refuses from its memory.
    expect(await consume(a, keys)).toMatchObject({ code: ErrorCode.RateLimited, details: { scope: 'user' } });
    expect(await consume(b, keys)).toMatchObject({ code: ErrorCode.RateLimited, details: { scope: 'user' } });
    expect(await seen()).toHaveLength(4);
    expect(await redis.get(`${prefix}:rl:grab:user:u2`)).toBe('4');
    // The window (3 points at 3/s: 1 s) ends; both replicas count again.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await consume(a, keys)).toBeUndefined();
    expect(await consume(b, keys)).toBeUndefined();
    expect(await redis.get(`${prefix}:rl:grab:user:u2`)).toBe('2');
  });

  it('without Redis: counts in memory when failing open, answers 503 when failing closed', async () => {
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 1000 });
    down.on('error', () => undefined);
    try {
      const open = limiter(down, prefix, { failOpen: true });
      const keys = { ip: '10.0.0.2', global: 'all', user: 'u3' };
      for (let i = 0; i < 10; i++) expect(await consume(open, keys)).toBeUndefined();
      expect(await consume(open, keys)).toMatchObject({ code: ErrorCode.RateLimited, details: { scope: 'user' } });

      const closed = limiter(down, prefix, { failOpen: false });
      expect(await consume(closed, keys)).toMatchObject({ code: ErrorCode.DependencyUnavailable });
    } finally {
      down.disconnect();
    }
  });
});

describe('RateLimiter on a real Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: RedisClient;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    client = createRedis(cluster.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('counts rules whose keys live in different slots (one call per rule) and refuses over the limit', async () => {
    const prefix = `rltest-${randomUUID().slice(0, 8)}`;
    const l = limiter(client, prefix);
    const keys = { ip: '10.0.0.3', global: 'all', user: 'u4' };
    const userKey = `${prefix}:rl:grab:user:u4`;
    const ipKey = `${prefix}:rl:all:ip:10.0.0.3`;
    const slot = (k: string) => (client as unknown as { cluster(sub: 'KEYSLOT', k: string): Promise<number> }).cluster('KEYSLOT', k);
    expect(await slot(userKey)).not.toBe(await slot(ipKey));
    for (let i = 0; i < 10; i++) expect(await consume(l, keys)).toBeUndefined();
    expect(await consume(l, keys)).toMatchObject({ code: ErrorCode.RateLimited, details: { scope: 'user' } });
    expect(await client.get(userKey)).toBe('10');
    expect(await client.get(ipKey)).toBe('10');
  });
});
