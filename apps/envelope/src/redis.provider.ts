import { Provider } from '@nestjs/common';
import { createRedis, EnvelopeKeys, EnvelopeScripts, failFastRedisOptions, RedisClient, redisBreaker } from '@hongbao/redis';
import type { Breaker } from '@hongbao/resilience';
import { Readiness } from '@hongbao/service-kit';
import { ENVELOPE_CONFIG, EnvelopeConfig } from './config';

/**
 * DI token of the hot-state Redis connection (grab scripts, outbox streams). It fails fast
 * (REDIS_COMMAND_TIMEOUT_MS, one reconnection per command): the request path answers 503 at
 * once, and the background loops sharing it (relay, expiry, lease renewal) retry on their own.
 */
export const HOT_REDIS = Symbol('HOT_REDIS');
/** DI token of the breaker (`redis:hot`) around request-path calls to the hot-state Redis. */
export const HOT_REDIS_BREAKER = Symbol('HOT_REDIS_BREAKER');

export const redisProviders: Provider[] = [
  {
    provide: HOT_REDIS,
    inject: [ENVELOPE_CONFIG, Readiness],
    useFactory: (c: EnvelopeConfig, readiness: Readiness): RedisClient => {
      const redis = createRedis(c.REDIS_URL, failFastRedisOptions({ commandTimeoutMs: c.REDIS_COMMAND_TIMEOUT_MS }));
      readiness.add('redis', () => redis.ping());
      return redis;
    },
  },
  { provide: EnvelopeKeys, inject: [ENVELOPE_CONFIG], useFactory: (c: EnvelopeConfig) => new EnvelopeKeys(c.REDIS_PARTITIONS, c.REDIS_KEY_PREFIX) },
  { provide: HOT_REDIS_BREAKER, inject: [ENVELOPE_CONFIG], useFactory: (c: EnvelopeConfig): Breaker => redisBreaker('hot', { resetTimeoutMs: c.BREAKER_RESET_MS }) },
  {
    provide: EnvelopeScripts,
    inject: [HOT_REDIS, EnvelopeKeys, HOT_REDIS_BREAKER],
    useFactory: (r: RedisClient, k: EnvelopeKeys, breaker: Breaker) => new EnvelopeScripts(r, k, { breaker }),
  },
];
