/** Options of {@link retry}. */
export interface RetryOptions {
  /** Total attempts including the first, default 3; 1 means no retry. */
  attempts?: number;
  /** Backoff base in ms, default 25: attempt n waits a random 0..min(maxMs, baseMs * 2^(n-1)) ms. */
  baseMs?: number;
  /** Backoff cap in ms, default 500. */
  maxMs?: number;
  /** Which failures are worth another attempt, default every one. */
  retryOn?: (err: unknown) => boolean;
  /**
   * Epoch ms after which no new attempt starts: a retry whose backoff would end past it is not
   * made and the last error is thrown. Default none.
   */
  deadline?: number;
  /** Called before each backoff sleep with the attempt that just failed (1-based) and its error. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  /** Random source in [0, 1), for tests. Default Math.random. */
  random?: () => number;
}

/**
 * "Full jitter" backoff before retry number `attempt` (1-based): uniform in
 * [0, min(maxMs, baseMs * 2^(attempt-1))]. Spreading retries over the whole window keeps
 * callers that failed together from retrying together.
 */
export function fullJitterDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn` until it resolves, `attempts` are used up, `retryOn` says no, or the `deadline`
 * would be passed; then rethrows the last error. Only wrap calls that are safe to repeat.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 3;
  const baseMs = opts.baseMs ?? 25;
  const maxMs = opts.maxMs ?? 500;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`retry: attempts must be a positive integer, got ${attempts}`);
  if (!(baseMs >= 0) || !(maxMs >= 0)) throw new RangeError(`retry: baseMs and maxMs must be >= 0, got ${baseMs} and ${maxMs}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || (opts.retryOn && !opts.retryOn(err))) throw err;
      const delay = fullJitterDelayMs(attempt, baseMs, maxMs, opts.random);
      if (opts.deadline !== undefined && Date.now() + delay >= opts.deadline) throw err;
      opts.onRetry?.(attempt, err, delay);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
