import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { RpcClient } from '@hongbao/rpc';
import { Readiness } from '@hongbao/service-kit';
import { AuthGuard } from './auth/auth.guard';
import { TokenVerifier } from './auth/token-verifier';
import { GATEWAY_CONFIG, GatewayConfig } from './config';
import { ApiController, ENVELOPE_CLIENT, LEDGER_CLIENT, WALLET_CLIENT } from './http/api.controller';

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(ENVELOPE_CLIENT) private readonly envelope: RpcClient,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(LEDGER_CLIENT) private readonly ledger: RpcClient,
  ) {}

  static register(config: GatewayConfig): DynamicModule {
    // Readiness gates traffic, so it names only what the public money path needs: a ledger
    // outage must delay credits and the admin audit, never take the API out of rotation.
    const client = (token: symbol, target: string, name: string, timeoutMs: number, gatesReadiness = true) => ({
      provide: token,
      inject: [Readiness],
      useFactory: async (readiness: Readiness) => {
        const c = new RpcClient({ target, name, timeoutMs });
        await c.connect();
        if (gatesReadiness) {
          readiness.add(`rpc:${name}`, async () => {
            if (!c.addresses().length) throw new Error(`no ${name} instance reachable at ${target}`);
          });
        }
        return c;
      },
    });
    return {
      module: AppModule,
      controllers: [ApiController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        client(ENVELOPE_CLIENT, config.ENVELOPE_RPC, 'envelope', config.RPC_TIMEOUT_MS),
        client(WALLET_CLIENT, config.WALLET_RPC, 'wallet', config.RPC_TIMEOUT_MS),
        client(LEDGER_CLIENT, config.LEDGER_RPC, 'ledger', config.AUDIT_TIMEOUT_MS, false),
        TokenVerifier,
        AuthGuard,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.envelope.close(), this.wallet.close(), this.ledger.close()]);
  }
}
