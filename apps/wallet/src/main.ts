// First: tracing's require hooks must be in place before http or mysql2 is loaded.
import '@hongbao/service-kit/tracing';
import { migrate } from '@hongbao/sharding';
import { runService } from '@hongbao/service-kit';
import { AppModule } from './app.module';
import { loadWalletConfig } from './config';
import { walletShardMap } from './db';
import { walletMigrations } from './migrations';

const config = loadWalletConfig();
void runService({
  name: 'wallet',
  config,
  appModule: AppModule.register(config),
  rpcPort: config.RPC_PORT,
  migrate: (log) => migrate(walletShardMap(config), walletMigrations, (m) => log.info(m)),
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
