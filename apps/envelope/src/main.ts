// First: tracing's require hooks must be in place before http or mysql2 is loaded.
import '@hongbao/service-kit/tracing';
import { migrate } from '@hongbao/sharding';
import { runService } from '@hongbao/service-kit';
import { AppModule, envelopeShardMap } from './app.module';
import { loadEnvelopeConfig } from './config';
import { envelopeMigrations } from './migrations';

const config = loadEnvelopeConfig();
void runService({
  name: 'envelope',
  config,
  appModule: AppModule.register(config),
  rpcPort: config.RPC_PORT,
  migrate: (log) => migrate(envelopeShardMap(config), envelopeMigrations, (m) => log.info(m)),
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
