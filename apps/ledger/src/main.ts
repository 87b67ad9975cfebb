// First: tracing's require hooks must be in place before http or mysql2 is loaded.
import '@hongbao/service-kit/tracing';
import { migrate, ShardMap } from '@hongbao/sharding';
import { runService } from '@hongbao/service-kit';
import { AppModule } from './app.module';
import { loadLedgerConfig } from './config';
import { ledgerMigrations } from './migrations';

const config = loadLedgerConfig();
void runService({
  name: 'ledger',
  config,
  appModule: AppModule.register(config),
  rpcPort: config.RPC_PORT,
  migrate: (log) => migrate(ShardMap.fromConfig(config.LEDGER_SHARDS, config.LEDGER_SHARD_SLOTS), ledgerMigrations, (m) => log.info(m)),
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
