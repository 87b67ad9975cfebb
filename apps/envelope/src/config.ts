import { z } from 'zod';
import { env, loadConfig, serviceBaseSchema } from '@hongbao/config';
import { MAX_AMOUNT } from '@hongbao/money';

const DB = 'mysql://hongbao:hongbao@127.0.0.1:3306';

export const envelopeConfigSchema = serviceBaseSchema.extend({
  PORT: env.port(3001),
  /** TCP port of the RPC listener */
  RPC_PORT: env.port(4001),
  /** comma-separated mysql URLs, one per physical shard (envelopes and grabs by envelope id; send requests by sender id) */
  ENVELOPE_SHARDS: env.list(`${DB}/hongbao_envelope_0,${DB}/hongbao_envelope_1`),
  /** optional slot assignment, e.g. "0-511:0,512-1023:1" */
  ENVELOPE_SHARD_SLOTS: z.string().optional(),
  DB_POOL_SIZE: env.int(10, 1, 500),
  /** ms opening a MySQL shard connection may take before the call fails with DEPENDENCY.UNAVAILABLE (mysql2 connectTimeout) */
  MYSQL_CONNECT_TIMEOUT_MS: env.int(2000, 100, 60_000),
  /** ms an open circuit breaker (a MySQL shard, an RPC target, Redis) fails calls fast before letting one trial call through */
  BREAKER_RESET_MS: env.int(5000, 100, 600_000),
  /** ms a hot-state Redis command (grab script, details read) may wait for its reply before failing with DEPENDENCY.UNAVAILABLE */
  REDIS_COMMAND_TIMEOUT_MS: env.int(2000, 50, 60_000),
  /** hot envelope state (redis:// or redis-cluster://a:1,b:2) */
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  /** Redis holding the BullMQ queues (may be the same as REDIS_URL) */
  QUEUE_REDIS_URL: env.str('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; keep the braces (a Redis Cluster hash tag) */
  QUEUE_PREFIX: env.str('{hb}'),
  /** ms a BullMQ job stays locked to its worker; a crashed worker's job is retried after this */
  QUEUE_LOCK_MS: env.int(30_000, 1000, 600_000),
  /** ms between BullMQ's checks for stalled jobs (those whose worker died) */
  QUEUE_STALLED_CHECK_MS: env.int(30_000, 1000, 600_000),
  /** prefix of the hot-state keys */
  REDIS_KEY_PREFIX: env.str('hb'),
  /** hash-tag partitions of hot state; fixed for the life of a deployment */
  REDIS_PARTITIONS: env.int(64, 1, 1024),
  /** wallet RPC address, host:port */
  WALLET_RPC: env.hostPort('localhost:4002'),
  /** seconds Redis keeps a closed envelope's state before details come from MySQL */
  RETENTION_SECONDS: env.int(86_400, 1),
  /** outbox stream entries relayed per partition per round, and settlement items per job at most */
  RELAY_BATCH: env.int(500, 1, 10_000),
  /** ms to wait after a round that read fewer than RELAY_BATCH entries (lets the next batch gather) */
  RELAY_IDLE_MS: env.int(20, 1, 10_000),
  /** longest wait (ms) between rounds when they keep finding nothing: the wait doubles from RELAY_IDLE_MS after each empty round */
  RELAY_MAX_IDLE_MS: env.int(250, 1, 60_000),
  /** ms after which another relay takes over entries a crashed relay read but never acknowledged */
  RELAY_CLAIM_IDLE_MS: env.int(30_000, 100),
  /** run the outbox relay, expiry worker and pending sweeper in this process */
  BACKGROUND_WORKERS: env.bool(true),
  /** ms between sweeps for envelopes left pending by a crash */
  SWEEP_INTERVAL_MS: env.int(5_000, 100),
  /** a pending envelope older than this (ms) is finished or failed by the sweeper */
  SWEEP_AFTER_MS: env.int(10_000, 100),
  /** sold-out envelopes remembered per replica (answered without Redis) */
  SOLD_OUT_CACHE_SIZE: env.int(10_000, 0),
  /** details of sold-out envelopes remembered per replica, counted in grabs (final, so never stale); 0 = off */
  DETAILS_CACHE_GRABS: env.int(200_000, 0),
  /** limits on a new envelope (the gateway enforces the same, configurable ones) */
  MAX_COUNT: env.int(10_000, 1),
  MAX_AMOUNT: env.int(MAX_AMOUNT, 1),
  LOG_REQUESTS: env.bool(true),
});
export type EnvelopeConfig = z.infer<typeof envelopeConfigSchema>;
export const ENVELOPE_CONFIG = Symbol('ENVELOPE_CONFIG');
export const loadEnvelopeConfig = () => loadConfig(envelopeConfigSchema);
