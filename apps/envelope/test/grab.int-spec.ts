import { randomBytes, randomInt } from 'node:crypto';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { Snowflake } from '@hongbao/ids';
import { createRedis, EnvelopeKeys, EnvelopeScripts, GrabResult, RedisClient } from '@hongbao/redis';
import { createLogger, Metrics } from '@hongbao/service-kit';
import { assertTestDatabases, dropDatabases, migrate, ShardedMysql, ShardMap } from '@hongbao/sharding';
import { deleteKeys } from '@hongbao/testing';
import { envelopeConfigSchema } from '../src/config';
import { EnvelopeRepository } from '../src/envelope/envelope.repository';
import { GrabService } from '../src/grab/grab.service';
import { SoldOutCache } from '../src/grab/sold-out.cache';
import { envelopeMigrations } from '../src/migrations';

// Real MariaDB and Redis (scripts/local-deps.sh). This file owns two shard databases and a Redis
// key prefix (hence its own sold-out pub/sub channel), all random, all removed in afterAll.
const BASE = 'mysql://hongbao:hongbao@127.0.0.1:3306';
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const run = randomBytes(4).toString('hex');
const urls = [`${BASE}/hongbao_test_${run}_envelope_0`, `${BASE}/hongbao_test_${run}_envelope_1`];
const KEY_PREFIX = `hbt${run}`;

const config = loadConfig(envelopeConfigSchema, {
  ENVELOPE_SHARDS: urls.join(','),
  REDIS_URL,
  QUEUE_REDIS_URL: REDIS_URL,
  REDIS_KEY_PREFIX: KEY_PREFIX,
  QUEUE_PREFIX: `{hbt${run}q}`,
  REDIS_PARTITIONS: '8',
  SOLD_OUT_CACHE_SIZE: '100',
  BACKGROUND_WORKERS: 'false',
  LOG_LEVEL: 'silent',
});
const map = ShardMap.fromConfig(config.ENVELOPE_SHARDS, config.ENVELOPE_SHARD_SLOTS);
const log = createLogger('test', 'silent');

let redis: RedisClient;
let keys: EnvelopeKeys;
let scripts: EnvelopeScripts;
let db: ShardedMysql;
let repo: EnvelopeRepository;
let metrics: Metrics;
let soldOut: SoldOutCache;
let grabs: GrabService;
const extraCaches: SoldOutCache[] = [];

beforeAll(async () => {
  assertTestDatabases(map);
  await migrate(map, envelopeMigrations);
  db = new ShardedMysql(map, { connectionLimit: 4 });
  repo = new EnvelopeRepository(db);
  redis = createRedis(REDIS_URL);
  keys = new EnvelopeKeys(config.REDIS_PARTITIONS, config.REDIS_KEY_PREFIX);
  scripts = new EnvelopeScripts(redis, keys);
  metrics = new Metrics('test');
  soldOut = new SoldOutCache(redis, keys, config, log);
  await soldOut.onApplicationBootstrap();
  grabs = new GrabService(scripts, soldOut, repo, metrics);
});

afterAll(async () => {
  await soldOut?.onModuleDestroy();
  for (const c of extraCaches) await c.onModuleDestroy();
  if (redis) {
    await deleteKeys(redis, `${KEY_PREFIX}:*`);
    await redis.quit();
  }
  await db?.close();
  await dropDatabases(map);
});

// ---------------------------------------------------------------------------------------------

const ids = new Snowflake(randomInt(0, 1024));
let nextUser = randomInt(1_000_000, 9_000_000);
const newUser = () => String(++nextUser);

/** A replica: its own sold-out cache (own subscriber) and grab service with its own metrics. */
async function replica(cacheSize = 100): Promise<{ cache: SoldOutCache; grabs: GrabService; metrics: Metrics }> {
  const m = new Metrics('test-replica');
  const cache = new SoldOutCache(redis, keys, { ...config, SOLD_OUT_CACHE_SIZE: cacheSize }, log);
  await cache.onApplicationBootstrap();
  extraCaches.push(cache);
  return { cache, grabs: new GrabService(scripts, cache, repo, m), metrics: m };
}

interface Opened {
  id: string;
  senderId: string;
  amount: number;
  expiresAtMs: number;
}

/** The MySQL row (pending, then active unless told otherwise), and Redis shares unless `redis: false`. */
async function openEnvelope(shares: number[], opts: { expiresInMs?: number; redis?: boolean; status?: 'pending' | 'active' | 'failed' } = {}): Promise<Opened> {
  const id = ids.next();
  const senderId = newUser();
  const amount = shares.reduce((a, b) => a + b, 0);
  const now = Date.now();
  const expiresAtMs = now + (opts.expiresInMs ?? 60_000);
  await repo.insertPending({ id, senderId, amount, count: shares.length, mode: 'random', greeting: null, expiresAtMs, createdAtMs: now - 1000 });
  if (opts.redis !== false) {
    expect(await scripts.load(id, { expiresAtMs, keyExpireAtMs: Math.max(expiresAtMs, now) + 60_000, amount, senderId, shares })).toBe(true);
  }
  const status = opts.status ?? 'active';
  if (status !== 'pending') expect(await repo.transition(id, status)).toBe(true);
  return { id, senderId, amount, expiresAtMs };
}

/** The grab's answer: `{ amount }` on a win, `{ code, details }` on a refusal (AppError only). */
async function answer(svc: GrabService, envelopeId: string, userId: string): Promise<{ amount: number } | { code: ErrorCode; details?: Record<string, unknown> }> {
  try {
    const r = await svc.grab({ envelopeId, userId });
    expect(r.envelopeId).toBe(envelopeId);
    return { amount: r.amount };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return err.details === undefined ? { code: err.code } : { code: err.code, details: err.details };
  }
}

/** hongbao_grabs_total for one (outcome, source). */
async function counted(m: Metrics, outcome: string, source: string): Promise<number> {
  const metric = m.registry.getSingleMetric('hongbao_grabs_total');
  if (!metric) throw new Error('hongbao_grabs_total is not registered');
  return (await metric.get()).values.filter((v) => v.labels['outcome'] === outcome && v.labels['source'] === source).reduce((s, v) => s + v.value, 0);
}

async function until<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function dropHotState(envelopeId: string): Promise<void> {
  const k = keys.of(envelopeId);
  await redis.del(k.meta, k.shares, k.grabs);
}

const SOLD_OUT = { code: ErrorCode.EnvelopeSoldOut };
const EXPIRED = { code: ErrorCode.EnvelopeExpired };
const NOT_FOUND = { code: ErrorCode.EnvelopeNotFound };
const already = (amount: number) => ({ code: ErrorCode.EnvelopeAlreadyGrabbed, details: { amount } });

// ---------------------------------------------------------------------------------------------

describe('GrabService (real Redis, MariaDB, sold-out cache)', () => {
  it('wins a share, then answers ALREADY_GRABBED with the same amount from Redis', async () => {
    const e = await openEnvelope([100, 200, 300]);
    const u = newUser();
    const before = await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'redis');
    expect(await answer(grabs, e.id, u)).toEqual({ amount: 100 });
    expect(await answer(grabs, e.id, u)).toEqual(already(100));
    expect(await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'redis')).toBe(before + 1);
    // The win is recorded in Redis (user -> "amount:ms") and as one outbox entry.
    expect((await redis.hget(keys.of(e.id).grabs, u))?.split(':')[0]).toBe('100');
    expect(await redis.llen(keys.of(e.id).shares)).toBe(2);
  });

  it('after the last share, answers from memory: SOLD_OUT for others, ALREADY_GRABBED with the amount for winners', async () => {
    const e = await openEnvelope([7, 8, 9]);
    const winners = [newUser(), newUser(), newUser()];
    for (const [i, u] of winners.entries()) expect(await answer(grabs, e.id, u)).toEqual({ amount: [7, 8, 9][i] });
    // The last win announced the sell-out; this replica loads the winners once.
    const w = await until(() => soldOut.winners(e.id), 'sold-out winners in memory');
    expect(Object.fromEntries(w)).toEqual({ [winners[0]]: 7, [winners[1]]: 8, [winners[2]]: 9 });

    const memSold = await counted(metrics, ErrorCode.EnvelopeSoldOut, 'memory');
    const memAlready = await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'memory');
    // Without the Redis keys, only memory can know who won what (nothing was relayed to MySQL).
    await dropHotState(e.id);
    expect(await repo.grabsOf(e.id)).toEqual([]);
    expect(await answer(grabs, e.id, newUser())).toEqual(SOLD_OUT);
    expect(await answer(grabs, e.id, newUser())).toEqual(SOLD_OUT);
    expect(await answer(grabs, e.id, winners[1])).toEqual(already(8));
    expect(await counted(metrics, ErrorCode.EnvelopeSoldOut, 'memory')).toBe(memSold + 2);
    expect(await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'memory')).toBe(memAlready + 1);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/hongbao_grabs_total\{[^}]*outcome="ENVELOPE\.SOLD_OUT"[^}]*source="memory"[^}]*\} [1-9]/);
  });

  it('a SOLD_OUT answer from Redis (shares taken elsewhere) also teaches memory, and other replicas learn it by pub/sub', async () => {
    const other = await replica();
    const e = await openEnvelope([50, 60]);
    const [u1, u2] = [newUser(), newUser()];
    // Shares taken through the script directly: no replica saw the last win.
    expect(await scripts.grab(e.id, u1)).toMatchObject({ result: GrabResult.Won, amount: 50 });
    expect(await scripts.grab(e.id, u2)).toMatchObject({ result: GrabResult.Won, amount: 60, sharesLeft: 0 });
    expect(soldOut.winners(e.id)).toBeUndefined();
    expect(other.cache.winners(e.id)).toBeUndefined();

    const redisSold = await counted(metrics, ErrorCode.EnvelopeSoldOut, 'redis');
    expect(await answer(grabs, e.id, newUser())).toEqual(SOLD_OUT);
    expect(await counted(metrics, ErrorCode.EnvelopeSoldOut, 'redis')).toBe(redisSold + 1);

    await until(() => soldOut.winners(e.id), 'winners on this replica');
    const learned = await until(() => other.cache.winners(e.id), 'winners on the other replica');
    expect(Object.fromEntries(learned)).toEqual({ [u1]: 50, [u2]: 60 });
    expect(await answer(other.grabs, e.id, newUser())).toEqual(SOLD_OUT);
    expect(await answer(other.grabs, e.id, u2)).toEqual(already(60));
    expect(await counted(other.metrics, ErrorCode.EnvelopeSoldOut, 'memory')).toBe(1);
    expect(await counted(other.metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'memory')).toBe(1);
    expect(await counted(other.metrics, ErrorCode.EnvelopeSoldOut, 'redis')).toBe(0);
  });

  it('the sold-out memory is bounded: the oldest envelope is forgotten first', async () => {
    const small = await replica(2);
    const envs: Opened[] = [];
    for (let i = 0; i < 3; i++) {
      const e = await openEnvelope([i + 1]);
      envs.push(e);
      expect(await answer(grabs, e.id, newUser())).toEqual({ amount: i + 1 });
      await until(() => small.cache.winners(e.id), `winners of envelope ${i}`);
    }
    expect(small.cache.winners(envs[0].id)).toBeUndefined();
    expect(small.cache.winners(envs[1].id)).toBeDefined();
    expect(small.cache.winners(envs[2].id)).toBeDefined();
  });

  it('hands out each share exactly once under concurrent grabs', async () => {
    const shares = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95];
    const e = await openEnvelope(shares);
    const users = Array.from({ length: 40 }, () => newUser());
    const attempts = [...users, ...users]; // every user twice, all at once
    const results = await Promise.all(attempts.map((u) => answer(grabs, e.id, u)));
    const wins = results.filter((r): r is { amount: number } => 'amount' in r);
    expect(wins.map((w) => w.amount).sort((a, b) => a - b)).toEqual(shares);
    // Every other answer is a refusal with the right code: sold out, or the winner's own amount.
    for (const r of results) if (!('amount' in r)) expect([ErrorCode.EnvelopeSoldOut, ErrorCode.EnvelopeAlreadyGrabbed]).toContain(r.code);
    const winners = attempts.filter((_, i) => 'amount' in results[i]);
    expect(new Set(winners).size).toBe(10); // nobody won twice
    expect(await redis.hlen(keys.of(e.id).grabs)).toBe(10);
  });

  it('answers EXPIRED after expiry in Redis; an earlier winner still gets ALREADY_GRABBED with the amount', async () => {
    const e = await openEnvelope([10, 20, 30]);
    const winner = newUser();
    expect(await answer(grabs, e.id, winner)).toEqual({ amount: 10 });
    expect((await scripts.close(e.id)).refund).toBe(50);
    expect(await answer(grabs, e.id, newUser())).toEqual(EXPIRED);
    expect(await answer(grabs, e.id, winner)).toEqual(already(10));
    expect(await redis.llen(keys.of(e.id).shares)).toBe(0);

    // Past its expiry time but not yet closed by the expiry job: Redis TIME decides.
    const late = await openEnvelope([1, 2], { expiresInMs: -1000 });
    const redisExpired = await counted(metrics, ErrorCode.EnvelopeExpired, 'redis');
    expect(await answer(grabs, late.id, newUser())).toEqual(EXPIRED);
    expect(await counted(metrics, ErrorCode.EnvelopeExpired, 'redis')).toBe(redisExpired + 1);
    expect(await redis.llen(keys.of(late.id).shares)).toBe(2); // nothing popped
  });

  it('answers NOT_FOUND for malformed ids, unknown ids, and envelopes still pending or failed', async () => {
    const memNotFound = await counted(metrics, ErrorCode.EnvelopeNotFound, 'memory');
    for (const bad of ['abc', '0', '-1', '1'.repeat(25), '']) expect(await answer(grabs, bad, newUser())).toEqual(NOT_FOUND);
    expect(await counted(metrics, ErrorCode.EnvelopeNotFound, 'memory')).toBe(memNotFound + 5);

    const mysqlNotFound = await counted(metrics, ErrorCode.EnvelopeNotFound, 'mysql');
    expect(await answer(grabs, ids.next(), newUser())).toEqual(NOT_FOUND);
    const pending = await openEnvelope([5, 5], { redis: false, status: 'pending' });
    expect(await answer(grabs, pending.id, newUser())).toEqual(NOT_FOUND);
    const failed = await openEnvelope([5, 5], { redis: false, status: 'failed' });
    expect(await answer(grabs, failed.id, newUser())).toEqual(NOT_FOUND);
    expect(await counted(metrics, ErrorCode.EnvelopeNotFound, 'mysql')).toBe(mysqlNotFound + 3);
  });

  it('after Redis retention, answers from MySQL: EXPIRED for an expired envelope, ALREADY_GRABBED with the recorded amount for a winner', async () => {
    const e = await openEnvelope([11, 22, 33]);
    const winner = newUser();
    expect(await answer(grabs, e.id, winner)).toEqual({ amount: 11 });
    const at = Number(String(await redis.hget(keys.of(e.id).grabs, winner)).split(':')[1]);
    // What the relay persists, then the hot state expires.
    await repo.saveGrabs([{ envelopeId: e.id, userId: winner, amount: 11, at }]);
    await repo.markExpired(e.id, 55, Date.now());
    await dropHotState(e.id);

    const before = {
      expired: await counted(metrics, ErrorCode.EnvelopeExpired, 'mysql'),
      already: await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'mysql'),
    };
    expect(await answer(grabs, e.id, newUser())).toEqual(EXPIRED);
    expect(await answer(grabs, e.id, winner)).toEqual(already(11));
    expect(await counted(metrics, ErrorCode.EnvelopeExpired, 'mysql')).toBe(before.expired + 1);
    expect(await counted(metrics, ErrorCode.EnvelopeAlreadyGrabbed, 'mysql')).toBe(before.already + 1);

    // A row still 'active' (expiry job not run yet) whose time has passed is expired too.
    const stale = await openEnvelope([4, 4], { redis: false, expiresInMs: -5000 });
    expect(await answer(grabs, stale.id, newUser())).toEqual(EXPIRED);
    // And a winner of a sold-out envelope keeps hearing their amount from MySQL.
    const sold = await openEnvelope([9], { redis: false, expiresInMs: -5000 });
    const w2 = newUser();
    await repo.saveGrabs([{ envelopeId: sold.id, userId: w2, amount: 9, at: Date.now() - 6000 }]);
    await repo.markExpired(sold.id, 0, Date.now());
    expect(await answer(grabs, sold.id, w2)).toEqual(already(9));
  });
});
