import { Breaker, type BreakerOptions, isDependencyFailure } from '@hongbao/resilience';
import type { RedisOptions } from 'ioredis';

/** Options of {@link failFastRedisOptions}. */
export interface FailFastRedisOptions {
  /** A command without a reply after this many ms rejects ("Command timed out"). Default 2000. */
  commandTimeoutMs?: number;
  /** How long one connection attempt may take, in ms. Default 2000. */
  connectTimeoutMs?: number;
}

/**
 * ioredis options for a request-path connection, so a dead or hung Redis fails requests within
 * seconds instead of queueing them through ioredis' 20 reconnection attempts:
 * - `maxRetriesPerRequest: 1`: a command waiting in the offline queue (or written on a
 *   connection that then dropped) fails after the first failed reconnection;
 * - `commandTimeout`: a command with no reply fails after `commandTimeoutMs`;
 * - the offline queue stays on, so commands sent while the first connection is being made (at
 *   boot) wait for it rather than fail.
 *
 * Never for BullMQ connections (they need `maxRetriesPerRequest: null` and block on purpose;
 * see {@link bullConnection}) nor for connections that issue blocking commands. Background
 * loops sharing such a connection see errors sooner and must (and do) retry on their own.
 */
export function failFastRedisOptions(opts: FailFastRedisOptions = {}): RedisOptions {
  return { maxRetriesPerRequest: 1, commandTimeout: opts.commandTimeoutMs ?? 2000, connectTimeout: opts.connectTimeoutMs ?? 2000 };
}

const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const UNAVAILABLE_MESSAGES = [/^Command timed out/, /^Connection is closed/, /^Stream isn't writeable/, /^(LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN)\b/, /^None of startup nodes is available/];

/**
 * True when a Redis call failed because Redis is unreachable, hung or not serving (ioredis'
 * timeout, closed-connection and retries-exhausted errors, LOADING/CLUSTERDOWN replies), or for
 * any {@link isDependencyFailure}. Script errors and wrong-type replies are not.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (isDependencyFailure(err)) return true;
  if (!(err instanceof Error)) return false;
  return UNAVAILABLE_NAMES.has(err.name) || UNAVAILABLE_MESSAGES.some((re) => re.test(err.message));
}

/**
 * A breaker for request-path calls to one Redis deployment, registered as `redis:<name>`, that
 * counts {@link isRedisUnavailable} failures. Its own timeout is off by default: the
 * connection's `commandTimeout` bounds each command (a script is never abandoned by the
 * breaker while Redis may still run it).
 */
export function redisBreaker(name: string, opts: BreakerOptions = {}): Breaker {
  return new Breaker(`redis:${name}`, { timeoutMs: false, isFailure: isRedisUnavailable, ...opts });
}
