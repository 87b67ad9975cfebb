import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Snowflake } from '@hongbao/ids';
import { RpcClient } from '@hongbao/rpc';
import { ShardedMysql } from '@hongbao/sharding';
import { Readiness } from '@hongbao/service-kit';
import { WalletAuditService } from './audit/wallet-audit.service';
import { WALLET_CONFIG, WalletConfig } from './config';
import { openWalletDb } from './db';
import { LEDGER_CLIENT, LedgerOutboxRelay } from './outbox/ledger-outbox.relay';
import { SettlementService } from './settlement/settlement.service';
import { SettlementWorker } from './settlement/settlement.worker';
import { WalletController } from './wallet/wallet.controller';
import { WalletService } from './wallet/wallet.service';

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    private readonly db: ShardedMysql,
    @Inject(LEDGER_CLIENT) private readonly ledger: RpcClient,
  ) {}

  static register(config: WalletConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [WalletController],
      providers: [
        { provide: WALLET_CONFIG, useValue: config },
        {
          provide: ShardedMysql,
          inject: [Readiness],
          useFactory: (readiness: Readiness) => {
            const db = openWalletDb(config);
            readiness.add('mysql', () => db.all((p) => p.query('SELECT 1')));
            return db;
          },
        },
        {
          provide: LEDGER_CLIENT,
          useFactory: async () => {
            const client = new RpcClient({ target: config.LEDGER_RPC, name: 'ledger' });
            await client.connect();
            return client;
          },
        },
        { provide: Snowflake, useValue: new Snowflake(config.ID_WORKER) },
        WalletService,
        SettlementService,
        SettlementWorker,
        LedgerOutboxRelay,
        WalletAuditService,
      ],
    };
  }

  /** After workers and relays stopped (onModuleDestroy), close the connections they used. */
  async onApplicationShutdown(): Promise<void> {
    await this.ledger.close();
    await this.db.close();
  }
}
