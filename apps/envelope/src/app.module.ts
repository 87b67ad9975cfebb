import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Snowflake } from '@hongbao/ids';
import type { Breaker } from '@hongbao/resilience';
import { leasedSnowflake, type RedisClient } from '@hongbao/redis';
import { isRetrySafePattern, RpcClient } from '@hongbao/rpc';
import { ShardedMysql, ShardMap } from '@hongbao/sharding';
import { LOGGER, Readiness } from '@hongbao/service-kit';
import type { Logger } from 'pino';
import { EnvelopeAuditService } from './audit/envelope-audit.service';
import { ENVELOPE_CONFIG, EnvelopeConfig } from './config';
import { CreateEnvelopeService, WALLET_CLIENT } from './envelope/create-envelope.service';
import { EnvelopeQueryService } from './envelope/envelope-query.service';
import { EnvelopeRepository } from './envelope/envelope.repository';
import { PendingSweeper } from './envelope/pending.sweeper';
import { EnvelopeController } from './envelope.controller';
import { ExpiryScheduler } from './expiry/expiry.scheduler';
import { GrabService } from './grab/grab.service';
import { SoldOutCache } from './grab/sold-out.cache';
import { HOT_REDIS, HOT_REDIS_BREAKER, redisProviders } from './redis.provider';
import { OutboxRelay } from './relay/outbox.relay';

const ID_LEASE = Symbol('ID_LEASE');
type IdLease = Awaited<ReturnType<typeof leasedSnowflake>>;

export const envelopeShardMap = (c: EnvelopeConfig) => ShardMap.fromConfig(c.ENVELOPE_SHARDS, c.ENVELOPE_SHARD_SLOTS);

/** Wiring only. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    private readonly db: ShardedMysql,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
    @Inject(HOT_REDIS_BREAKER) private readonly redisBreaker: Breaker,
    @Inject(ID_LEASE) private readonly idLease: IdLease,
  ) {}

  static register(config: EnvelopeConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [EnvelopeController],
      providers: [
        { provide: ENVELOPE_CONFIG, useValue: config },
        {
          provide: ShardedMysql,
          inject: [Readiness],
          useFactory: (readiness: Readiness) => {
            const db = new ShardedMysql(envelopeShardMap(config), {
              name: 'envelope',
              connectionLimit: config.DB_POOL_SIZE,
              connectTimeoutMs: config.MYSQL_CONNECT_TIMEOUT_MS,
              breaker: { resetTimeoutMs: config.BREAKER_RESET_MS },
            });
            readiness.add('mysql', () => db.all((p) => p.query('SELECT 1')));
            return db;
          },
        },
        {
          provide: WALLET_CLIENT,
          useFactory: async () => {
            const client = new RpcClient({ target: config.WALLET_RPC, name: 'wallet', idempotent: isRetrySafePattern, breaker: { resetTimeoutMs: config.BREAKER_RESET_MS } });
            await client.connect();
            return client;
          },
        },
        {
          provide: ID_LEASE,
          inject: [HOT_REDIS, LOGGER],
          useFactory: (redis: RedisClient, log: Logger) => leasedSnowflake(redis, `${config.REDIS_KEY_PREFIX}:idworker:envelope`, config.ID_WORKER, log),
        },
        { provide: Snowflake, inject: [ID_LEASE], useFactory: (l: IdLease) => l.snowflake },
        ...redisProviders,
        EnvelopeRepository,
        ExpiryScheduler,
        CreateEnvelopeService,
        SoldOutCache,
        GrabService,
        EnvelopeQueryService,
        OutboxRelay,
        PendingSweeper,
        EnvelopeAuditService,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.wallet.close();
    await this.idLease.release();
    await this.redis.quit().catch(() => undefined);
    this.redisBreaker.dispose();
    await this.db.close();
  }
}
