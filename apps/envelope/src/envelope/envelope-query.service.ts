import { Inject, Injectable } from '@nestjs/common';
import { AppError, EnvelopeDetails, EnvelopeStatus, ErrorCode } from '@hongbao/contracts';
import { isIdString } from '@hongbao/ids';
import { EnvelopeKeys, RedisClient } from '@hongbao/redis';
import { SharedReads, type Breaker } from '@hongbao/resilience';
import { Metrics } from '@hongbao/service-kit';
import { LRUCache } from 'lru-cache';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { SoldOutCache } from '../grab/sold-out.cache';
import { HOT_REDIS, HOT_REDIS_BREAKER } from '../redis.provider';
import { EnvelopeRepository, EnvelopeRow } from './envelope.repository';

/**
 * Envelope details: live from Redis while the hot state exists, from MySQL after retention.
 * A sold-out envelope's details are final (its grabs cannot change, nothing is refunded), so they
 * are kept in memory (DETAILS_CACHE_GRABS, counted in grabs) and answered without Redis or MySQL:
 * after a flash sale the crowd reads the winners' list, and each read from Redis is an HGETALL
 * and an LRANGE as large as the envelope (docs/performance.md, sixth measurement). The first
 * reads arrive together, the moment it sells out: while the details of an envelope this replica
 * knows is sold out are being read, the readers that arrive share that read (SharedReads).
 */
@Injectable()
export class EnvelopeQueryService {
  private readonly finished?: LRUCache<string, EnvelopeDetails>;
  private readonly served: Record<'memory' | 'shared' | 'redis' | 'mysql', { inc(): void }>;
  private readonly reading = new SharedReads<EnvelopeDetails>();

  constructor(
    private readonly repo: EnvelopeRepository,
    private readonly keys: EnvelopeKeys,
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
    @Inject(HOT_REDIS_BREAKER) private readonly breaker: Breaker,
    private readonly soldOut: SoldOutCache,
    @Inject(ENVELOPE_CONFIG) config: EnvelopeConfig,
    metrics: Metrics,
  ) {
    if (config.DETAILS_CACHE_GRABS > 0) {
      this.finished = new LRUCache({ maxSize: config.DETAILS_CACHE_GRABS, sizeCalculation: (d) => d.grabs.length + 1 });
    }
    const served = metrics.counter('envelope_details_total', 'envelope details answered, by where they came from', ['source']);
    this.served = { memory: served.labels('memory'), shared: served.labels('shared'), redis: served.labels('redis'), mysql: served.labels('mysql') };
  }

  async get(envelopeId: string): Promise<EnvelopeDetails> {
    const known = this.finished?.get(envelopeId);
    if (known) {
      this.served.memory.inc();
      return known;
    }
    // Final details (sold out): readers that arrive while they are read share that read.
    if (!this.soldOut.winners(envelopeId)) return this.load(envelopeId);
    const { value, shared } = this.reading.read(envelopeId, () => this.load(envelopeId));
    if (shared) this.served.shared.inc();
    return value;
  }

  private async load(envelopeId: string): Promise<EnvelopeDetails> {
    const row = isIdString(envelopeId) ? await this.repo.find(envelopeId) : undefined;
    if (!row || row.status === 'pending' || row.status === 'failed') throw new AppError(ErrorCode.EnvelopeNotFound, 'no such envelope');
    const k = this.keys.of(envelopeId);
    const [meta, shares, grabsRaw] = await this.breaker.run(() => Promise.all([this.redis.hgetall(k.meta), this.redis.lrange(k.shares, 0, -1), this.redis.hgetall(k.grabs)]));

    let grabs: { userId: string; amount: number; at: number }[];
    let closed: boolean;
    let refunded: number;
    let remainingCount: number;
    let remainingAmount: number;
    const live = !!(meta && meta['exp']);
    if (live) {
      grabs = Object.entries(grabsRaw).map(([userId, v]) => {
        const [amount, at] = v.split(':');
        return { userId, amount: Number(amount), at: Number(at) };
      });
      closed = meta['closed'] === '1';
      refunded = closed ? Number(meta['refund'] ?? 0) : 0;
      remainingCount = closed ? 0 : shares.length;
      remainingAmount = closed ? 0 : shares.reduce((s, a) => s + Number(a), 0);
    } else {
      grabs = (await this.repo.grabsOf(envelopeId)).map((g) => ({ userId: g.userId, amount: g.amount, at: g.at }));
      closed = row.status === 'expired';
      refunded = row.refundedAmount ?? 0;
      const taken = grabs.reduce((s, g) => s + g.amount, 0);
      remainingCount = closed ? 0 : row.count - grabs.length;
      remainingAmount = closed ? 0 : row.amount - taken;
    }
    grabs.sort((a, b) => a.at - b.at || a.userId.localeCompare(b.userId));
    const soldOut = grabs.length === row.count;
    const status: EnvelopeStatus = soldOut ? 'sold_out' : closed || Date.now() >= row.expiresAtMs ? 'expired' : 'active';
    const details: EnvelopeDetails = {
      envelopeId,
      senderId: row.senderId,
      amount: row.amount,
      count: row.count,
      mode: row.mode,
      greeting: row.greeting,
      status,
      remainingCount,
      remainingAmount,
      grabs: grabs.map((g) => ({ userId: g.userId, amount: g.amount, grabbedAt: new Date(g.at).toISOString() })),
      luckiest: status === 'active' ? null : luckiest(grabs),
      expiresAt: new Date(row.expiresAtMs).toISOString(),
      refundedAmount: refunded,
    };
    (live ? this.served.redis : this.served.mysql).inc();
    if (soldOut) this.finished?.set(envelopeId, details);
    return details;
  }
}

/** The biggest share, first grabbed on a tie; decided once the envelope is finished. */
function luckiest(grabs: { userId: string; amount: number }[]): { userId: string; amount: number } | null {
  let best: { userId: string; amount: number } | null = null;
  for (const g of grabs) if (!best || g.amount > best.amount) best = { userId: g.userId, amount: g.amount };
  return best;
}

export type { EnvelopeRow };
