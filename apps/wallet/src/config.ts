import { z } from 'zod';
import { env, loadConfig, serviceBaseSchema } from '@hongbao/config';

const DB = 'mysql://hongbao:hongbao@127.0.0.1:3306';

export const walletConfigSchema = serviceBaseSchema.extend({
  PORT: env.port(3002),
  /** TCP port of the RPC listener */
  RPC_PORT: env.port(4002),
  /** comma-separated mysql URLs, one per physical shard */
  WALLET_SHARDS: env.list(`${DB}/hongbao_wallet_0,${DB}/hongbao_wallet_1`),
  /** optional slot assignment, e.g. "0-511:0,512-1023:1"; default: equal split */
  WALLET_SHARD_SLOTS: z.string().optional(),
  /** connections per shard pool */
  DB_POOL_SIZE: env.int(10, 1, 500),
  /** ms opening a MySQL shard connection may take before the call fails with DEPENDENCY.UNAVAILABLE (mysql2 connectTimeout) */
  MYSQL_CONNECT_TIMEOUT_MS: env.int(2000, 100, 60_000),
  /** ms an open circuit breaker (a MySQL shard, an RPC target, Redis) fails calls fast before letting one trial call through */
  BREAKER_RESET_MS: env.int(5000, 100, 600_000),
  /** Redis holding the BullMQ settlement queue */
  QUEUE_REDIS_URL: env.str('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; keep the braces (a Redis Cluster hash tag) */
  QUEUE_PREFIX: env.str('{hb}'),
  /** ms a BullMQ job stays locked to its worker; a crashed worker's job is retried after this */
  QUEUE_LOCK_MS: env.int(30_000, 1000, 600_000),
  /** ms between BullMQ's checks for stalled jobs (those whose worker died) */
  QUEUE_STALLED_CHECK_MS: env.int(30_000, 1000, 600_000),
  /** ledger RPC address, host:port (host may resolve to many replicas) */
  LEDGER_RPC: env.hostPort('localhost:4003'),
  /** settlement jobs processed in parallel per replica */
  SETTLEMENT_CONCURRENCY: env.int(4, 1, 64),
  /** run the settlement worker in this process */
  SETTLEMENT_WORKER: env.bool(true),
  /** ledger outbox rows relayed per round trip */
  OUTBOX_BATCH: env.int(500, 1, 5000),
  /** ms to wait when the outbox is empty */
  OUTBOX_IDLE_MS: env.int(50, 1, 10_000),
  /** longest wait (ms) when the outbox keeps being empty: the wait doubles from OUTBOX_IDLE_MS after each empty round */
  OUTBOX_MAX_IDLE_MS: env.int(250, 1, 60_000),
  /** ISO currency reported with balances; amounts are its minor units */
  CURRENCY: env.str('CNY'),
  /** largest balance a wallet may reach, cents */
  MAX_BALANCE: env.int(1_000_000_000_000_000, 1),
  LOG_REQUESTS: env.bool(true),
});
export type WalletConfig = z.infer<typeof walletConfigSchema>;
export const WALLET_CONFIG = Symbol('WALLET_CONFIG');
export const loadWalletConfig = () => loadConfig(walletConfigSchema);
