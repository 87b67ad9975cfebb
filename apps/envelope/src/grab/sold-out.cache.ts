import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createRedis, EnvelopeKeys, RedisClient } from '@hongbao/redis';
import { InjectLogger } from '@hongbao/service-kit';
import type { Logger } from 'pino';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { HOT_REDIS } from '../redis.provider';

/**
 * Per-replica memory of sold-out envelopes and their winners (DESIGN §4.3). Once a replica sees
 * an envelope sell out it announces it on a pub/sub channel; every replica then loads the
 * winners once and answers later grabs (SOLD_OUT, or ALREADY_GRABBED with the amount) without
 * touching Redis. Bounded: the oldest entries are forgotten first.
 */
@Injectable()
export class SoldOutCache implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly known = new Map<string, Map<string, number>>();
  private readonly loading = new Set<string>();
  private subscriber?: RedisClient;

  constructor(
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
    private readonly keys: EnvelopeKeys,
    @Inject(ENVELOPE_CONFIG) private readonly config: EnvelopeConfig,
    @InjectLogger() private readonly log: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.SOLD_OUT_CACHE_SIZE === 0) return;
    this.subscriber = createRedis(this.config.REDIS_URL, { enableAutoPipelining: false });
    this.subscriber.on('message', (_channel: string, envelopeId: string) => void this.load(envelopeId));
    await this.subscriber.subscribe(this.keys.soldOutChannel());
  }

  /** The winners of a known sold-out envelope (user -> amount), or undefined. */
  winners(envelopeId: string): Map<string, number> | undefined {
    return this.known.get(envelopeId);
  }

  /** Called by the replica that saw the envelope sell out: tell every replica, this one included. */
  announce(envelopeId: string): void {
    if (this.config.SOLD_OUT_CACHE_SIZE === 0 || this.known.has(envelopeId)) return;
    this.redis.publish(this.keys.soldOutChannel(), envelopeId).catch((err) => this.log.warn({ err }, 'sold-out announce failed'));
    void this.load(envelopeId);
  }

  private async load(envelopeId: string): Promise<void> {
    if (this.known.has(envelopeId) || this.loading.has(envelopeId)) return;
    this.loading.add(envelopeId);
    try {
      const all = await this.redis.hgetall(this.keys.of(envelopeId).grabs);
      const winners = new Map<string, number>();
      for (const [user, v] of Object.entries(all)) winners.set(user, parseInt(v, 10));
      if (!winners.size) return; // keys already gone: let Redis/MySQL answer
      this.known.set(envelopeId, winners);
      if (this.known.size > this.config.SOLD_OUT_CACHE_SIZE) this.known.delete(this.known.keys().next().value as string);
    } catch (err) {
      this.log.warn({ err, envelopeId }, 'loading sold-out winners failed');
    } finally {
      this.loading.delete(envelopeId);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }
}
