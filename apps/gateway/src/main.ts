// First: tracing's require hooks must be in place before http or mysql2 is loaded.
import '@hongbao/service-kit/tracing';
import { runService } from '@hongbao/service-kit';
import { AppModule } from './app.module';
import { loadGatewayConfig } from './config';

const config = loadGatewayConfig();
void runService({
  name: 'gateway',
  config,
  appModule: AppModule.register(config),
  bodyLimit: config.BODY_LIMIT_BYTES,
  trustProxy: config.TRUST_PROXY,
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
