import { z } from 'zod';
import { env, loadConfig, serviceBaseSchema } from '@hongbao/config';

const DB = 'mysql://hongbao:hongbao@127.0.0.1:3306';

export const ledgerConfigSchema = serviceBaseSchema.extend({
  PORT: env.port(3003),
  /** TCP port of the RPC listener */
  RPC_PORT: env.port(4003),
  /** comma-separated mysql URLs, one per physical shard (transfers are sharded by transfer id) */
  LEDGER_SHARDS: env.list(`${DB}/hongbao_ledger_0,${DB}/hongbao_ledger_1`),
  /** optional slot assignment, e.g. "0-511:0,512-1023:1" */
  LEDGER_SHARD_SLOTS: z.string().optional(),
  DB_POOL_SIZE: env.int(10, 1, 500),
  /** ms opening a MySQL shard connection may take before the call fails with DEPENDENCY.UNAVAILABLE (mysql2 connectTimeout) */
  MYSQL_CONNECT_TIMEOUT_MS: env.int(2000, 100, 60_000),
  /** ms an open circuit breaker (a MySQL shard, an RPC target, Redis) fails calls fast before letting one trial call through */
  BREAKER_RESET_MS: env.int(5000, 100, 600_000),
  /** wallet and envelope RPC addresses, read by the audit only */
  WALLET_RPC: env.hostPort('localhost:4002'),
  ENVELOPE_RPC: env.hostPort('localhost:4001'),
  /** ms an audit waits before re-reading when it saw a mismatch (in-flight work settles meanwhile) */
  AUDIT_RECHECK_MS: env.int(500, 0, 60_000),
  /** how many times a mismatch must persist before it is reported as a violation */
  AUDIT_ATTEMPTS: env.int(3, 1, 20),
  LOG_REQUESTS: env.bool(true),
});
export type LedgerConfig = z.infer<typeof ledgerConfigSchema>;
export const LEDGER_CONFIG = Symbol('LEDGER_CONFIG');
export const loadLedgerConfig = () => loadConfig(ledgerConfigSchema);
