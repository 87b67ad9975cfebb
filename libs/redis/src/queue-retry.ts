/**
 * Retry policy for BullMQ jobs that must eventually succeed (settlement, expiry): capped
 * exponential backoff with jitter (100 ms doubling, at most 10 s), used as a worker's
 * `settings.backoffStrategy` together with jobs added with NEVER_DROP.
 */
export function retryForeverBackoff(attemptsMade: number): number {
  const base = Math.min(10_000, 100 * 2 ** Math.min(attemptsMade, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** Job options for work that is never dropped: effectively unlimited attempts, custom backoff. */
export const NEVER_DROP = { attempts: 1_000_000, backoff: { type: 'custom' }, removeOnComplete: 1000, removeOnFail: false } as const;
