import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { isRetrySafePattern, RpcClient } from '@hongbao/rpc';
import { ShardedMysql, ShardMap } from '@hongbao/sharding';
import { Readiness } from '@hongbao/service-kit';
import { AuditService, ENVELOPE_CLIENT, WALLET_CLIENT } from './audit/audit.service';
import { LEDGER_CONFIG, LedgerConfig } from './config';
import { LedgerController } from './ledger/ledger.controller';
import { LedgerService } from './ledger/ledger.service';

const rpcClient = (target: string, name: string, breakerResetMs: number) => async () => {
  const client = new RpcClient({ target, name, timeoutMs: 30_000, idempotent: isRetrySafePattern, breaker: { resetTimeoutMs: breakerResetMs } });
  await client.connect();
  return client;
};

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    private readonly db: ShardedMysql,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(ENVELOPE_CLIENT) private readonly envelope: RpcClient,
  ) {}

  static register(config: LedgerConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [LedgerController],
      providers: [
        { provide: LEDGER_CONFIG, useValue: config },
        {
          provide: ShardedMysql,
          inject: [Readiness],
          useFactory: (readiness: Readiness) => {
            const db = new ShardedMysql(ShardMap.fromConfig(config.LEDGER_SHARDS, config.LEDGER_SHARD_SLOTS), {
              name: 'ledger',
              connectionLimit: config.DB_POOL_SIZE,
              connectTimeoutMs: config.MYSQL_CONNECT_TIMEOUT_MS,
              breaker: { resetTimeoutMs: config.BREAKER_RESET_MS },
            });
            readiness.add('mysql', () => db.all((p) => p.query('SELECT 1')));
            return db;
          },
        },
        { provide: WALLET_CLIENT, useFactory: rpcClient(config.WALLET_RPC, 'wallet', config.BREAKER_RESET_MS) },
        { provide: ENVELOPE_CLIENT, useFactory: rpcClient(config.ENVELOPE_RPC, 'envelope', config.BREAKER_RESET_MS) },
        LedgerService,
        AuditService,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.wallet.close(), this.envelope.close()]);
    await this.db.close();
  }
}
