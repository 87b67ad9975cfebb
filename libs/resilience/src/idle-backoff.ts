/**
 * The wait between rounds of a polling loop (an outbox relay): `minMs` after a round that found
 * work, doubling after each empty round up to `maxMs`. A loop under load keeps its short wait (the
 * next batch gathers for `minMs`); an idle one polls a few times a second instead of every `minMs`,
 * which is what an idle replica otherwise spends its CPU on. The first item after a quiet spell
 * waits at most `maxMs` longer.
 */
export class IdleBackoff {
  private current: number;
  private readonly maxMs: number;

  constructor(
    private readonly minMs: number,
    maxMs: number,
  ) {
    if (!Number.isFinite(minMs) || minMs < 0) throw new RangeError(`IdleBackoff: minMs must be >= 0, got ${minMs}`);
    this.maxMs = Math.max(minMs, maxMs);
    this.current = minMs;
  }

  /** ms to wait after a round that found `found` items. */
  next(found: number): number {
    this.current = found > 0 ? this.minMs : Math.min(this.maxMs, Math.max(1, this.current * 2));
    return this.current;
  }
}
