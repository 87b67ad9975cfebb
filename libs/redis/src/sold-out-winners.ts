import { createRedis, RedisClient } from './connection';
import type { EnvelopeKeys } from './keys';

/** Fields per HSCAN call when loading winners: about half a millisecond of Redis each. */
export const SCAN_COUNT = 1000;

export interface SoldOutWinnersOptions {
  /** connection for HSCAN and PUBLISH (the hot Redis, where the envelopes' keys live) */
  redis: RedisClient;
  /** URL of that Redis, for the dedicated subscriber connection */
  url: string;
  keys: EnvelopeKeys;
  /** envelopes remembered; the oldest is forgotten first; 0 turns the memory off */
  size: number;
  /** told about a failed announce or load (the memory then simply stays empty for that envelope) */
  onError?: (err: unknown, what: string) => void;
}

/**
 * Per-process memory of sold-out envelopes and their winners (DESIGN §4.3). Whoever sees an
 * envelope sell out announces it on a pub/sub channel; every subscriber (each envelope replica,
 * and each gateway replica) then loads the winners once and can answer every later grab of that
 * envelope, SOLD_OUT or ALREADY_GRABBED with the amount, from memory. Sold out is final and the
 * winners cannot change after it, so the memory is never stale; it is only bounded.
 */
export class SoldOutWinners {
  private readonly known = new Map<string, Map<string, number>>();
  private readonly loading = new Set<string>();
  private subscriber?: RedisClient;

  constructor(private readonly o: SoldOutWinnersOptions) {}

  /** Subscribes to the announcements; resolves once subscribed. */
  async start(): Promise<void> {
    if (this.o.size === 0) return;
    this.subscriber = createRedis(this.o.url, { enableAutoPipelining: false });
    this.subscriber.on('message', (_channel: string, envelopeId: string) => void this.load(envelopeId));
    await this.subscriber.subscribe(this.o.keys.soldOutChannel());
  }

  async stop(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  /** The winners of a known sold-out envelope (user -> amount), or undefined. */
  winners(envelopeId: string): Map<string, number> | undefined {
    return this.known.get(envelopeId);
  }

  /** Called by whoever saw the envelope sell out: tells every subscriber, this one included. */
  announce(envelopeId: string): void {
    if (this.o.size === 0 || this.known.has(envelopeId)) return;
    this.o.redis.publish(this.o.keys.soldOutChannel(), envelopeId).catch((err: unknown) => this.o.onError?.(err, 'sold-out announce'));
    void this.load(envelopeId);
  }

  private async load(envelopeId: string): Promise<void> {
    if (this.known.has(envelopeId) || this.loading.has(envelopeId)) return;
    this.loading.add(envelopeId);
    try {
      // HSCAN in chunks, not one HGETALL: the winners of a 10,000-share envelope are read by every
      // gateway and envelope replica at the moment it sells out, and one HGETALL of them held the
      // single-threaded Redis (and every grab queued behind it) for milliseconds (docs/performance.md,
      // sixth measurement). The hash no longer changes once sold out, so the scan sees all of it.
      const key = this.o.keys.of(envelopeId).grabs;
      const winners = new Map<string, number>();
      let cursor = '0';
      do {
        const [next, flat] = await this.o.redis.hscan(key, cursor, 'COUNT', SCAN_COUNT);
        for (let i = 0; i < flat.length; i += 2) winners.set(flat[i], parseInt(flat[i + 1], 10));
        cursor = next;
      } while (cursor !== '0');
      if (!winners.size) return; // keys already gone: let Redis/MySQL answer
      this.known.set(envelopeId, winners);
      if (this.known.size > this.o.size) this.known.delete(this.known.keys().next().value as string);
    } catch (err) {
      this.o.onError?.(err, `loading the winners of ${envelopeId}`);
    } finally {
      this.loading.delete(envelopeId);
    }
  }
}
