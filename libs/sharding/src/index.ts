export { SLOT_COUNT, slotOf, fnv1a32 } from './slot';
export { ShardMap, parseShardUrl, redactUrl, type ShardSpec, type ShardLocation } from './shard-map';
export {
  ShardedMysql,
  isRetryableLockError,
  type ShardedMysqlOptions,
  type TxOptions,
  type Pool,
  type PoolConnection,
} from './sharded-mysql';
export { migrate, assertTestDatabases, dropDatabases, type Migration, type MigrationResult } from './migrate';
