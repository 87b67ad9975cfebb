import { slotOf } from '@hongbao/sharding';

/**
 * Hot envelope state lives under a partition hash tag `{pNN}` (WeChat's SET idea): all keys of
 * one envelope and that partition's outbox stream share one Redis Cluster slot, so the grab
 * script can touch them atomically, while 64 partitions spread envelopes over the cluster.
 * Changing the partition count on a live system strands keys: it is fixed per deployment.
 */
export const DEFAULT_PARTITIONS = 64;

export class EnvelopeKeys {
  /**
   * @param partitions number of partitions (hash tags), default 64
   * @param prefix key prefix, default "hb"; distinct prefixes let several deployments (or test runs) share one Redis
   */
  constructor(
    readonly partitions = DEFAULT_PARTITIONS,
    readonly prefix = 'hb',
  ) {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw new RangeError('partitions must be 1..1024');
  }

  partitionOf(envelopeId: string): number {
    return slotOf(envelopeId) % this.partitions;
  }

  tag(partition: number): string {
    return `{p${partition}}`;
  }

  /** meta hash, shares list, grabs hash (user -> "amount:ms") */
  of(envelopeId: string): { meta: string; shares: string; grabs: string; outbox: string; partition: number } {
    const p = this.partitionOf(envelopeId);
    const base = `${this.prefix}:${this.tag(p)}:e:${envelopeId}`;
    return { meta: `${base}:meta`, shares: `${base}:shares`, grabs: `${base}:grabs`, outbox: this.outbox(p), partition: p };
  }

  outbox(partition: number): string {
    return `${this.prefix}:${this.tag(partition)}:outbox`;
  }

  allOutboxes(): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.outbox(p));
  }

  /** Pub/sub channel on which envelope replicas announce a sold-out envelope. */
  soldOutChannel(): string {
    return `${this.prefix}:soldout`;
  }
}
