import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Snowflake } from '@hongbao/ids';
import { isRetrySafePattern, RpcClient } from '@hongbao/rpc';
import { ShardedMysql } from '@hongbao/sharding';
import { createRedis, leasedSnowflake } from '@hongbao/redis';
import { LOGGER, Readiness } from '@hongbao/service-kit';
import type { Logger } from 'pino';
import { WalletAuditService } from './audit/wallet-audit.service';
import { WALLET_CONFIG, WalletConfig } from './config';
import { openWalletDb } from './db';
import { LEDGER_CLIENT, LedgerOutboxRelay } from './outbox/ledger-outbox.relay';
import { SettlementService } from './settlement/settlement.service';
import { SettlementWorker } from './settlement/settlement.worker';
import { WalletController } from './wallet/wallet.controller';
import { WalletService } from './wallet/wallet.service';

const ID_LEASE = Symbol('ID_LEASE');
type IdLease = Awaited<ReturnType<typeof leasedSnowflake>>;

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    private readonly db: ShardedMysql,
    @Inject(LEDGER_CLIENT) private readonly ledger: RpcClient,
    @Inject(ID_LEASE) private readonly idLease: IdLease,
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
            const client = new RpcClient({ target: config.LEDGER_RPC, name: 'ledger', idempotent: isRetrySafePattern, breaker: { resetTimeoutMs: config.BREAKER_RESET_MS } });
            await client.connect();
            return client;
          },
        },
        {
          provide: ID_LEASE,
          inject: [LOGGER],
          useFactory: async (log: Logger) => {
            const redis = createRedis(config.QUEUE_REDIS_URL);
            const lease = await leasedSnowflake(redis, `${config.QUEUE_PREFIX}:idworker:wallet`, config.ID_WORKER, log);
            return { ...lease, release: async () => { await lease.release(); await redis.quit().catch(() => undefined); } };
          },
        },
        { provide: Snowflake, inject: [ID_LEASE], useFactory: (l: IdLease) => l.snowflake },
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
    await this.idLease.release();
    await this.db.close();
  }
}
