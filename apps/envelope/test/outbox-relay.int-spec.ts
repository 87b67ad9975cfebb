import { randomBytes, randomInt } from 'node:crypto';
import { SETTLEMENT_QUEUE, SettlementItem, SettlementJob, TransferId } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { Snowflake } from '@hongbao/ids';
import { bullConnection, createRedis, EnvelopeKeys, EnvelopeScripts, GrabResult, RedisClient } from '@hongbao/redis';
import { createLogger, Metrics } from '@hongbao/service-kit';
import { assertTestDatabases, dropDatabases, migrate, ShardedMysql, ShardMap } from '@hongbao/sharding';
import { deleteKeys } from '@hongbao/testing';
import { Job, Queue } from 'bullmq';
import type { RowDataPacket } from 'mysql2/promise';
import { envelopeConfigSchema } from '../src/config';
import { EnvelopeRepository, GrabRecord } from '../src/envelope/envelope.repository';
import { envelopeMigrations } from '../src/migrations';
import { OutboxRelay, RELAY_GROUP } from '../src/relay/outbox.relay';

// Real MariaDB and Redis (scripts/local-deps.sh). This file owns two shard databases, a Redis
// key prefix and a BullMQ prefix, all random, all removed in afterAll.
const BASE = 'mysql://hongbao:hongbao@127.0.0.1:3306';
const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const run = randomBytes(4).toString('hex');
const urls = [`${BASE}/hongbao_test_${run}_envelope_0`, `${BASE}/hongbao_test_${run}_envelope_1`];
const KEY_PREFIX = `hbt${run}`;
const QUEUE_PREFIX = `{hbt${run}q}`;
const CLAIM_IDLE_MS = 200;

const config = loadConfig(envelopeConfigSchema, {
  ENVELOPE_SHARDS: urls.join(','),
  REDIS_URL,
  QUEUE_REDIS_URL: REDIS_URL,
  REDIS_KEY_PREFIX: KEY_PREFIX,
  QUEUE_PREFIX,
  REDIS_PARTITIONS: '8',
  RELAY_BATCH: '500',
  RELAY_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
  RELAY_IDLE_MS: '10000',
  BACKGROUND_WORKERS: 'true',
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
let relay: OutboxRelay;
let queueConn: RedisClient;
let queue: Queue<SettlementJob>;

beforeAll(async () => {
  assertTestDatabases(map);
  await migrate(map, envelopeMigrations);
  db = new ShardedMysql(map, { connectionLimit: 4 });
  repo = new EnvelopeRepository(db);
  redis = createRedis(REDIS_URL);
  keys = new EnvelopeKeys(config.REDIS_PARTITIONS, config.REDIS_KEY_PREFIX);
  scripts = new EnvelopeScripts(redis, keys);
  metrics = new Metrics('test');
  relay = new OutboxRelay(redis, keys, repo, metrics, config, log);
  // onApplicationBootstrap creates the consumer groups, the settlement queue and the backlog
  // gauge, then starts the background loop. The loop is replaced by a no-op so every relay
  // round in this file is an explicit relayNew()/claimAbandoned() call (deterministic); the
  // real loop is exercised by its own test at the end with a second relay instance.
  jest.spyOn(relay as unknown as { run(): Promise<void> }, 'run').mockResolvedValue(undefined);
  await relay.onApplicationBootstrap();
  queueConn = bullConnection(REDIS_URL);
  queue = new Queue<SettlementJob>(SETTLEMENT_QUEUE, { connection: queueConn, prefix: QUEUE_PREFIX });
});

afterAll(async () => {
  await relay?.onModuleDestroy();
  await queue?.close();
  await queueConn?.quit().catch(() => undefined);
  if (redis) {
    for (const pattern of [`${KEY_PREFIX}:*`, `${QUEUE_PREFIX}:*`]) await deleteKeys(redis, pattern);
    await redis.quit();
  }
  await db?.close();
  await dropDatabases(map);
});

// ---------------------------------------------------------------------------------------------

const ids = new Snowflake(randomInt(0, 1024));
let nextUser = randomInt(1_000_000, 9_000_000);
const newUser = () => String(++nextUser);

/** A fresh envelope id whose MySQL shard is `shard`. */
function envelopeOn(shard: number): string {
  for (;;) {
    const id = ids.next();
    if (map.shardIndexOf(id) === shard) return id;
  }
}

/** Loads `shares` into Redis (in pop order) and writes the row: pending, then active, as create does. */
async function openEnvelope(shares: number[], opts: { shard?: number; id?: string } = {}): Promise<{ id: string; senderId: string; amount: number }> {
  const id = opts.id ?? envelopeOn(opts.shard ?? randomInt(0, 2));
  const senderId = newUser();
  const amount = shares.reduce((a, b) => a + b, 0);
  const now = Date.now();
  const expiresAtMs = now + 60_000;
  await repo.insertPending({ id, senderId, amount, count: shares.length, mode: 'random', greeting: null, expiresAtMs, createdAtMs: now });
  expect(await scripts.load(id, { expiresAtMs, keyExpireAtMs: expiresAtMs + 60_000, amount, senderId, shares })).toBe(true);
  expect(await repo.transition(id, 'active')).toBe(true);
  return { id, senderId, amount };
}

type Won = { amount: number; at: number };

/** One winning grab; returns the amount and the Redis time it was recorded at. */
async function win(envelopeId: string, userId: string): Promise<Won> {
  const r = await scripts.grab(envelopeId, userId);
  if (r.result !== GrabResult.Won) throw new Error(`expected a win for ${userId}, got ${JSON.stringify(r)}`);
  return { amount: r.amount, at: r.at };
}

/** Grab rows of `envelopeId` on one physical shard, read with SQL (not through the repository). */
async function grabRows(shard: number, envelopeId: string): Promise<{ userId: string; amount: number; at: number }[]> {
  const [rows] = await db
    .pool(shard)
    .query<RowDataPacket[]>('SELECT user_id, amount, grabbed_at_ms FROM grabs WHERE envelope_id = ? ORDER BY user_id', [envelopeId]);
  return rows.map((r) => ({ userId: String(r.user_id), amount: Number(r.amount), at: Number(r.grabbed_at_ms) }));
}

async function envelopeRow(envelopeId: string): Promise<{ status: string; refunded: number | null; closedAt: number | null }> {
  const [rows] = await db.poolFor(envelopeId).query<RowDataPacket[]>('SELECT status, refunded_amount, closed_at_ms FROM envelopes WHERE id = ?', [envelopeId]);
  const r = rows[0];
  return { status: r.status, refunded: r.refunded_amount === null ? null : Number(r.refunded_amount), closedAt: r.closed_at_ms === null ? null : Number(r.closed_at_ms) };
}

/** Every settlement job (in any state) with at least one item of `envelopeId`, oldest first. */
async function jobsOf(envelopeId: string): Promise<Job<SettlementJob>[]> {
  const all = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'paused', 'completed', 'failed']);
  return all.filter((j) => j.data.items.some((i) => i.envelopeId === envelopeId)).sort((a, b) => a.timestamp - b.timestamp);
}

const byTransfer = (a: SettlementItem, b: SettlementItem) => a.transferId.localeCompare(b.transferId);
const grabItem = (envelopeId: string, userId: string, amount: number, at: number): SettlementItem => ({
  transferId: TransferId.grab(envelopeId, userId),
  kind: 'grab',
  envelopeId,
  userId,
  amount,
  at,
});

/** Entries currently in the group's pending list for `stream`, by consumer. */
async function pendingByConsumer(stream: string): Promise<Record<string, number>> {
  const [count, , , consumers] = (await redis.xpending(stream, RELAY_GROUP)) as [number, string | null, string | null, [string, string][] | null];
  const out: Record<string, number> = {};
  if (count) for (const [name, n] of consumers ?? []) out[name] = Number(n);
  return out;
}

/** Current values of one metric of `m` (collect callbacks included). */
async function metricValues(m: Metrics, name: string): Promise<{ value: number; labels: Record<string, string | number | undefined> }[]> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  return (await metric.get()).values;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  // Every test must leave the streams fully relayed, or the next test would relay its leftovers.
  expect(await relay.backlog()).toBe(0);
});

// ---------------------------------------------------------------------------------------------

describe('OutboxRelay (real Redis, MariaDB, BullMQ)', () => {
  it('bootstrap created the relay consumer group on every partition stream', async () => {
    for (const stream of keys.allOutboxes()) {
      const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
      const names = groups.map((g) => g[g.indexOf('name') + 1]);
      expect(names).toEqual([RELAY_GROUP]);
    }
    expect(keys.allOutboxes()).toHaveLength(8);
  });

  it('relays the grabs of two envelopes (one per shard, different partitions) into MySQL and the round into one settlement job, then empties the streams', async () => {
    const shares0 = [120, 30, 250, 5, 95];
    const shares1 = [7, 8, 9];
    const e0 = await openEnvelope(shares0, { shard: 0 });
    // On different partitions too: two streams read in the same round.
    let id1: string;
    do id1 = envelopeOn(1);
    while (keys.partitionOf(id1) === keys.partitionOf(e0.id));
    const e1 = await openEnvelope(shares1, { id: id1 });
    const users0 = [newUser(), newUser(), newUser()]; // M=3 of N=5
    const users1 = [newUser(), newUser()]; // M=2 of N=3
    const won0: Won[] = [];
    for (const u of users0) won0.push(await win(e0.id, u));
    const won1: Won[] = [];
    for (const u of users1) won1.push(await win(e1.id, u));
    // Shares pop in load order.
    expect(won0.map((w) => w.amount)).toEqual([120, 30, 250]);
    expect(won1.map((w) => w.amount)).toEqual([7, 8]);
    expect(await relay.backlog()).toBe(5);

    const relayed = await relay.relayNew();
    expect(relayed).toBe(5);

    // MySQL: exactly M rows on the envelope's shard, none on the other, exact amounts and times.
    const expect0 = users0.map((u, i) => ({ userId: u, amount: won0[i].amount, at: won0[i].at })).sort((a, b) => a.userId.localeCompare(b.userId));
    const expect1 = users1.map((u, i) => ({ userId: u, amount: won1[i].amount, at: won1[i].at })).sort((a, b) => a.userId.localeCompare(b.userId));
    expect(await grabRows(0, e0.id)).toEqual(expect0);
    expect(await grabRows(1, e0.id)).toEqual([]);
    expect(await grabRows(1, e1.id)).toEqual(expect1);
    expect(await grabRows(0, e1.id)).toEqual([]);

    // BullMQ: one job for the round, carrying exactly these grab items.
    for (const [e, users, won] of [
      [e0, users0, won0],
      [e1, users1, won1],
    ] as const) {
      const jobs = await jobsOf(e.id);
      expect(jobs).toHaveLength(1);
      expect(jobs[0].name).toBe('settle');
      const mine = jobs[0].data.items.filter((i) => i.envelopeId === e.id).sort(byTransfer);
      expect(mine).toEqual(users.map((u, i) => grabItem(e.id, u, won[i].amount, won[i].at)).sort(byTransfer));
      expect(mine.every((i) => i.kind === 'grab' && i.transferId === `grab:${e.id}:${i.userId}`)).toBe(true);
      // The job must survive transient wallet failures: many attempts, never dropped on failure.
      expect(jobs[0].opts.attempts).toBeGreaterThanOrEqual(1000);
    }
    // Settlement items carry each winner's money exactly once.
    const [job0] = await jobsOf(e0.id);
    const [job1] = await jobsOf(e1.id);
    expect(job0.id).toBe(job1.id);
    expect(job0.data.items).toHaveLength(5);
    const allItems = job0.data.items;
    expect(allItems.filter((i) => i.envelopeId === e0.id).reduce((s, i) => s + i.amount, 0)).toBe(400);
    expect(allItems.filter((i) => i.envelopeId === e1.id).reduce((s, i) => s + i.amount, 0)).toBe(15);

    // Streams: acknowledged and deleted.
    expect(await relay.backlog()).toBe(0);
    for (const e of [e0, e1]) {
      const stream = keys.of(e.id).outbox;
      expect(await redis.xlen(stream)).toBe(0);
      expect(await pendingByConsumer(stream)).toEqual({});
    }
    // A second round finds nothing and enqueues nothing.
    expect(await relay.relayNew()).toBe(0);
    expect(await relay.claimAbandoned()).toBe(0);
    expect(await jobsOf(e0.id)).toHaveLength(1);
    expect(await jobsOf(e1.id)).toHaveLength(1);
  });

  it('on one Redis server a round reads every partition with one XREADGROUP (COUNT per stream), so an idle round is one command', async () => {
    let id1: string;
    const e0 = await openEnvelope([11, 12]);
    do id1 = envelopeOn(1);
    while (keys.partitionOf(id1) === keys.partitionOf(e0.id));
    const e1 = await openEnvelope([13, 14], { id: id1 });
    await win(e0.id, newUser());
    await win(e1.id, newUser());
    const spy = jest.spyOn(redis, 'xreadgroup');
    try {
      expect(await relay.relayNew()).toBe(2);
      expect(await relay.relayNew()).toBe(0); // idle: nothing new
      expect(spy).toHaveBeenCalledTimes(2);
      const streams = (args: unknown[]) => args.slice(args.indexOf('STREAMS') + 1);
      const all = keys.allOutboxes();
      for (const call of spy.mock.calls) expect(streams(call)).toEqual([...all, ...all.map(() => '>')]);
      expect(all).toHaveLength(8);
    } finally {
      spy.mockRestore();
    }
  });

  it('puts every grab of one partition relayed in one round into a single job', async () => {
    // Two envelopes on the same partition: one XREADGROUP batch, one job with both.
    const a = await openEnvelope([11, 12]);
    let bId: string;
    do bId = ids.next();
    while (keys.partitionOf(bId) !== keys.partitionOf(a.id));
    const b = await openEnvelope([21, 22], { id: bId });
    const ua = newUser();
    const ub = newUser();
    const wa = await win(a.id, ua);
    const wb = await win(b.id, ub);
    expect(await relay.relayNew()).toBe(2);
    const jobsA = await jobsOf(a.id);
    expect(jobsA).toHaveLength(1);
    expect(jobsA[0].id).toBe((await jobsOf(b.id))[0].id);
    expect([...jobsA[0].data.items].sort(byTransfer)).toEqual([grabItem(a.id, ua, wa.amount, wa.at), grabItem(b.id, ub, wb.amount, wb.at)].sort(byTransfer));
  });

  it('splits a round into jobs of at most RELAY_BATCH items, each settled item exactly once, with ids derived from the entries', async () => {
    // 300 + 300 grabs on two partitions: one round reads all 600 (500 per stream at most).
    const a = await openEnvelope(new Array(300).fill(1));
    let bId: string;
    do bId = ids.next();
    while (keys.partitionOf(bId) === keys.partitionOf(a.id));
    const b = await openEnvelope(new Array(300).fill(2), { id: bId });
    const users = Array.from({ length: 300 }, () => newUser());
    await Promise.all(users.flatMap((u) => [win(a.id, u), win(b.id, u)]));
    expect(await relay.relayNew()).toBe(600);
    const jobs = [...new Map([...(await jobsOf(a.id)), ...(await jobsOf(b.id))].map((j) => [j.id, j])).values()];
    expect(jobs.map((j) => j.data.items.length).sort((x, y) => x - y)).toEqual([100, 500]);
    const items = jobs.flatMap((j) => j.data.items);
    expect(new Set(items.map((i) => i.transferId)).size).toBe(600);
    expect(items.filter((i) => i.envelopeId === a.id).reduce((s, i) => s + i.amount, 0)).toBe(300);
    expect(items.filter((i) => i.envelopeId === b.id).reduce((s, i) => s + i.amount, 0)).toBe(600);
    expect(jobs.every((j) => /^s-[0-9a-f]{40}$/.test(j.id ?? ''))).toBe(true);
  });

  it('expiry: relaying the close marks the row expired with the remainder and emits one refund to the sender', async () => {
    const shares = [40, 60, 25, 75, 100]; // N=5, amount 300
    const e = await openEnvelope(shares);
    const u1 = newUser();
    const u2 = newUser();
    const w1 = await win(e.id, u1);
    const w2 = await win(e.id, u2);
    expect([w1.amount, w2.amount]).toEqual([40, 60]);
    const closed = await scripts.close(e.id);
    expect(closed).toEqual({ found: true, closedNow: true, refund: 200 });
    expect(await relay.backlog()).toBe(3);

    expect(await relay.relayNew()).toBe(3);

    const row = await envelopeRow(e.id);
    expect(row.status).toBe('expired');
    expect(row.refunded).toBe(200);
    expect(row.closedAt).toBeGreaterThanOrEqual(w2.at);
    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toEqual(
      [
        { userId: u1, amount: 40, at: w1.at },
        { userId: u2, amount: 60, at: w2.at },
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );

    const jobs = await jobsOf(e.id);
    expect(jobs).toHaveLength(1);
    const items = jobs[0].data.items.filter((i) => i.envelopeId === e.id);
    const refunds = items.filter((i) => i.kind === 'refund');
    expect(refunds).toEqual([{ transferId: `refund:${e.id}`, kind: 'refund', envelopeId: e.id, userId: e.senderId, amount: 200, at: row.closedAt }]);
    expect(items.filter((i) => i.kind === 'grab').sort(byTransfer)).toEqual([grabItem(e.id, u1, 40, w1.at), grabItem(e.id, u2, 60, w2.at)].sort(byTransfer));
    // Money is conserved: grabs + refund = the envelope amount.
    expect(items.reduce((s, i) => s + i.amount, 0)).toBe(e.amount);

    // Closing again emits nothing new; nothing more is relayed.
    expect(await scripts.close(e.id)).toEqual({ found: true, closedNow: false, refund: 200 });
    expect(await relay.relayNew()).toBe(0);
    expect(await jobsOf(e.id)).toHaveLength(1);
  });

  it('expiry of a sold-out envelope: row expired with refunded_amount 0 and no refund item at all', async () => {
    const e = await openEnvelope([3, 4]);
    const u1 = newUser();
    const u2 = newUser();
    const w1 = await win(e.id, u1);
    const w2 = await win(e.id, u2);
    expect(await scripts.grab(e.id, newUser())).toEqual({ result: GrabResult.SoldOut });
    expect(await relay.relayNew()).toBe(2);
    expect(await envelopeRow(e.id)).toEqual({ status: 'active', refunded: null, closedAt: null });

    expect(await scripts.close(e.id)).toEqual({ found: true, closedNow: true, refund: 0 });
    expect(await relay.backlog()).toBe(1);
    expect(await relay.relayNew()).toBe(1); // the zero refund entry is consumed...

    const row = await envelopeRow(e.id);
    expect(row.status).toBe('expired'); // ...and still closes the row, with 0
    expect(row.refunded).toBe(0);
    expect(row.closedAt).not.toBeNull();
    // ...but no job is enqueued for it: the only job is the grabs one.
    const jobs = await jobsOf(e.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].data.items.filter((i) => i.envelopeId === e.id).sort(byTransfer)).toEqual([grabItem(e.id, u1, 3, w1.at), grabItem(e.id, u2, 4, w2.at)].sort(byTransfer));
    expect(jobs.flatMap((j) => j.data.items).some((i) => i.kind === 'refund' && i.envelopeId === e.id)).toBe(false);
  });

  it('a replayed refund entry never changes the recorded refund (first value wins)', async () => {
    const e = await openEnvelope([10, 20, 30]);
    await win(e.id, newUser());
    await scripts.close(e.id);
    expect(await relay.relayNew()).toBe(2);
    const first = await envelopeRow(e.id);
    expect(first).toMatchObject({ status: 'expired', refunded: 50 });
    // The same refund intent delivered again (at-least-once), with a later timestamp.
    await redis.xadd(keys.of(e.id).outbox, '*', 'k', 'r', 'e', e.id, 'u', e.senderId, 'a', '50', 't', String(Number(first.closedAt) + 5000));
    expect(await relay.relayNew()).toBe(1);
    expect(await envelopeRow(e.id)).toEqual(first);
    // The second job carries the same transfer id, so the wallet credits the refund once.
    const refundIds = (await jobsOf(e.id)).flatMap((j) => j.data.items.filter((i) => i.kind === 'refund').map((i) => i.transferId));
    expect(refundIds).toEqual([`refund:${e.id}`, `refund:${e.id}`]);
  });

  it('crash between read and ack: another relay claims the entries after RELAY_CLAIM_IDLE_MS; each grab lands once', async () => {
    const e = await openEnvelope([50, 51, 52, 53]);
    const users = [newUser(), newUser(), newUser()];
    const won: Won[] = [];
    for (const u of users) won.push(await win(e.id, u));
    const stream = keys.of(e.id).outbox;

    // A relay reads the entries and dies before acknowledging them.
    const read = (await redis.xreadgroup('GROUP', RELAY_GROUP, 'dead-relay', 'COUNT', 100, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
    expect(read[0][1]).toHaveLength(3);
    expect(await pendingByConsumer(stream)).toEqual({ 'dead-relay': 3 });
    // It even got as far as persisting the first grab (crash after the MySQL write, before the enqueue).
    const first: GrabRecord = { envelopeId: e.id, userId: users[0], amount: won[0].amount, at: won[0].at };
    await repo.saveGrabs([first]);

    // The entries are neither new nor lost: relayNew does not see them, backlog still counts them.
    expect(await relay.relayNew()).toBe(0);
    expect(await relay.backlog()).toBe(3);
    // A relay whose claim timeout has not passed leaves them alone (it has no queue: claiming would throw).
    const patient = new OutboxRelay(redis, keys, repo, new Metrics('test-patient'), { ...config, RELAY_CLAIM_IDLE_MS: 600_000 }, log);
    expect(await patient.claimAbandoned()).toBe(0);
    expect(await jobsOf(e.id)).toHaveLength(0);

    await sleep(CLAIM_IDLE_MS + 100);
    expect(await relay.claimAbandoned()).toBe(3);

    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toEqual(
      users.map((u, i) => ({ userId: u, amount: won[i].amount, at: won[i].at })).sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    const jobs = await jobsOf(e.id);
    expect(jobs).toHaveLength(1);
    expect([...jobs[0].data.items].sort(byTransfer)).toEqual(users.map((u, i) => grabItem(e.id, u, won[i].amount, won[i].at)).sort(byTransfer));
    expect(await relay.backlog()).toBe(0);
    expect(await pendingByConsumer(stream)).toEqual({});

    // Running both again adds nothing anywhere.
    await sleep(CLAIM_IDLE_MS + 50);
    expect(await relay.relayNew()).toBe(0);
    expect(await relay.claimAbandoned()).toBe(0);
    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toHaveLength(3);
    expect(await jobsOf(e.id)).toHaveLength(1);
  });

  it("after a failed round, the relay re-reads its own unacknowledged entries at once (no claim timeout)", async () => {
    const e = await openEnvelope([60, 61]);
    const users = [newUser(), newUser()];
    const won: Won[] = [];
    for (const u of users) won.push(await win(e.id, u));
    const stream = keys.of(e.id).outbox;
    const consumer = (relay as unknown as { consumer: string }).consumer;

    // This relay read the entries, then its round failed before the ack (e.g. MySQL was away).
    await redis.xreadgroup('GROUP', RELAY_GROUP, consumer, 'COUNT', 100, 'STREAMS', stream, '>');
    expect(await pendingByConsumer(stream)).toEqual({ [consumer]: 2 });
    expect(await relay.relayNew()).toBe(0); // new entries only: nothing

    // The retry path re-reads its own pending list without waiting RELAY_CLAIM_IDLE_MS.
    expect(await relay.relayNew(undefined, '0')).toBe(2);
    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toEqual(
      users.map((u, i) => ({ userId: u, amount: won[i].amount, at: won[i].at })).sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    expect(await jobsOf(e.id)).toHaveLength(1);
    expect(await pendingByConsumer(stream)).toEqual({});
    expect(await relay.relayNew(undefined, '0')).toBe(0);
    expect(await relay.backlog()).toBe(0);
  });

  it('re-processing duplicate entries leaves one MySQL row per (envelope, user); the jobs repeat the same transfer ids', async () => {
    const e = await openEnvelope([31, 32, 33]);
    const u1 = newUser();
    const u2 = newUser();
    const w1 = await win(e.id, u1);
    const w2 = await win(e.id, u2);
    const stream = keys.of(e.id).outbox;
    // A duplicate inside the same batch (same fields, by hand).
    await redis.xadd(stream, '*', 'k', 'g', 'e', e.id, 'u', u1, 'a', String(w1.amount), 't', String(w1.at));
    expect(await relay.relayNew()).toBe(3);
    // A duplicate in a later batch, even one claiming a different amount: the first record wins.
    await redis.xadd(stream, '*', 'k', 'g', 'e', e.id, 'u', u2, 'a', String(w2.amount), 't', String(w2.at));
    await redis.xadd(stream, '*', 'k', 'g', 'e', e.id, 'u', u1, 'a', String(w1.amount), 't', String(w1.at));
    expect(await relay.relayNew()).toBe(2);

    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toEqual(
      [
        { userId: u1, amount: 31, at: w1.at },
        { userId: u2, amount: 32, at: w2.at },
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    const jobs = await jobsOf(e.id);
    expect(jobs).toHaveLength(2);
    const [j1, j2] = [...jobs].sort((a, b) => b.data.items.length - a.data.items.length);
    expect([j1.data.items.length, j2.data.items.length]).toEqual([3, 2]);
    const tids = (j: Job<SettlementJob>) => [...new Set(j.data.items.map((i) => i.transferId))].sort();
    // Both jobs carry exactly the same transfer ids: the wallet's unique key on transfer id makes the effect exactly-once.
    expect(tids(j1)).toEqual([`grab:${e.id}:${u1}`, `grab:${e.id}:${u2}`].sort());
    expect(tids(j2)).toEqual(tids(j1));
    expect(j1.data.items).toHaveLength(3); // the in-batch duplicate is passed on, not silently merged
  });

  it('backlog() counts entries not yet read plus entries read but not acknowledged', async () => {
    expect(await relay.backlog()).toBe(0);
    const e = await openEnvelope([1, 2, 3, 4, 5]);
    const users = [newUser(), newUser(), newUser(), newUser()];
    for (const u of users) await win(e.id, u);
    const stream = keys.of(e.id).outbox;
    expect(await relay.backlog()).toBe(4); // 4 unread

    await redis.xreadgroup('GROUP', RELAY_GROUP, 'dead-relay-3', 'COUNT', 3, 'STREAMS', stream, '>');
    expect(await pendingByConsumer(stream)).toEqual({ 'dead-relay-3': 3 });
    expect(await relay.backlog()).toBe(4); // 3 unacked + 1 unread

    const gauge = async () => {
      const values = await metricValues(metrics, 'hongbao_outbox_stream_backlog');
      expect(values).toHaveLength(1);
      return values[0].value;
    };
    expect(await gauge()).toBe(4);

    expect(await relay.relayNew()).toBe(1);
    expect(await relay.backlog()).toBe(3); // 3 unacked
    expect(await gauge()).toBe(3);

    await sleep(CLAIM_IDLE_MS + 100);
    expect(await relay.claimAbandoned()).toBe(3);
    expect(await relay.backlog()).toBe(0);
    expect(await gauge()).toBe(0);
    expect(await grabRows(map.shardIndexOf(e.id), e.id)).toHaveLength(4);
    expect(await jobsOf(e.id)).toHaveLength(2);
  });

  it('the background loop (onApplicationBootstrap) relays new grabs and claims abandoned ones on its own', async () => {
    const loopMetrics = new Metrics('test-loop');
    const loopRelay = new OutboxRelay(redis, keys, repo, loopMetrics, { ...config, RELAY_IDLE_MS: 20 }, log);
    try {
      const e = await openEnvelope([70, 80, 90]);
      const users = [newUser(), newUser(), newUser()];
      const won: Won[] = [];
      for (const u of users.slice(0, 2)) won.push(await win(e.id, u));
      const stream = keys.of(e.id).outbox;
      // The first entry is stuck with a dead consumer (read before the loop starts, so the loop
      // cannot get it first); the loop must claim it once it has been idle RELAY_CLAIM_IDLE_MS.
      const read = (await redis.xreadgroup('GROUP', RELAY_GROUP, 'dead-relay-4', 'COUNT', 1, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
      expect(read[0][1]).toHaveLength(1);
      await loopRelay.onApplicationBootstrap();
      won.push(await win(e.id, users[2]));

      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && ((await relay.backlog()) > 0 || (await grabRows(map.shardIndexOf(e.id), e.id)).length < 3)) await sleep(50);

      expect(await relay.backlog()).toBe(0);
      expect(await grabRows(map.shardIndexOf(e.id), e.id)).toEqual(
        users.map((u, i) => ({ userId: u, amount: won[i].amount, at: won[i].at })).sort((a, b) => a.userId.localeCompare(b.userId)),
      );
      const items = (await jobsOf(e.id)).flatMap((j) => j.data.items).sort(byTransfer);
      expect(items).toEqual(users.map((u, i) => grabItem(e.id, u, won[i].amount, won[i].at)).sort(byTransfer));
      const relayed = await metricValues(loopMetrics, 'hongbao_relay_entries_total');
      expect(relayed.find((v) => v.labels['kind'] === 'grab')?.value).toBe(3);
    } finally {
      await loopRelay.onModuleDestroy();
    }
  });
});
