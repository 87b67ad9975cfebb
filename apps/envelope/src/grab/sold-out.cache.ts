import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { EnvelopeKeys, RedisClient, SoldOutWinners } from '@hongbao/redis';
import { InjectLogger } from '@hongbao/service-kit';
import type { Logger } from 'pino';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { HOT_REDIS } from '../redis.provider';

/** This replica's memory of sold-out envelopes and their winners (see SoldOutWinners in libs/redis). */
@Injectable()
export class SoldOutCache implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly memory: SoldOutWinners;

  constructor(
    @Inject(HOT_REDIS) redis: RedisClient,
    keys: EnvelopeKeys,
    @Inject(ENVELOPE_CONFIG) config: EnvelopeConfig,
    @InjectLogger() log: Logger,
  ) {
    this.memory = new SoldOutWinners({ redis, url: config.REDIS_URL, keys, size: config.SOLD_OUT_CACHE_SIZE, onError: (err, what) => log.warn({ err }, `${what} failed`) });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.memory.start();
  }

  /** The winners of a known sold-out envelope (user -> amount), or undefined. */
  winners(envelopeId: string): Map<string, number> | undefined {
    return this.memory.winners(envelopeId);
  }

  /** Called by the replica that saw the envelope sell out: tell every replica, this one included. */
  announce(envelopeId: string): void {
    this.memory.announce(envelopeId);
  }

  onModuleDestroy(): Promise<void> {
    return this.memory.stop();
  }
}
