import { ShardedMysql, ShardMap } from '@hongbao/sharding';
import type { WalletConfig } from './config';

export function walletShardMap(c: WalletConfig): ShardMap {
  return ShardMap.fromConfig(c.WALLET_SHARDS, c.WALLET_SHARD_SLOTS);
}

export function openWalletDb(c: WalletConfig): ShardedMysql {
  return new ShardedMysql(walletShardMap(c), {
    name: 'wallet',
    connectionLimit: c.DB_POOL_SIZE,
    connectTimeoutMs: c.MYSQL_CONNECT_TIMEOUT_MS,
    breaker: { resetTimeoutMs: c.BREAKER_RESET_MS },
  });
}

/** MySQL duplicate-key error (a concurrent writer got there first). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { errno?: number })?.errno === 1062;
}

/** mysql2 DATETIME(3) value for an epoch-ms instant, in UTC. */
export function toSqlTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}
