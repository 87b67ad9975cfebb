import { Provider } from '@nestjs/common';
import { createRedis, EnvelopeKeys, EnvelopeScripts, RedisClient } from '@hongbao/redis';
import { Readiness } from '@hongbao/service-kit';
import { ENVELOPE_CONFIG, EnvelopeConfig } from './config';

/** DI token of the hot-state Redis connection (grab scripts, outbox streams). */
export const HOT_REDIS = Symbol('HOT_REDIS');

export const redisProviders: Provider[] = [
  {
    provide: HOT_REDIS,
    inject: [ENVELOPE_CONFIG, Readiness],
    useFactory: (c: EnvelopeConfig, readiness: Readiness): RedisClient => {
      const redis = createRedis(c.REDIS_URL);
      readiness.add('redis', () => redis.ping());
      return redis;
    },
  },
  { provide: EnvelopeKeys, inject: [ENVELOPE_CONFIG], useFactory: (c: EnvelopeConfig) => new EnvelopeKeys(c.REDIS_PARTITIONS, c.REDIS_KEY_PREFIX) },
  { provide: EnvelopeScripts, inject: [HOT_REDIS, EnvelopeKeys], useFactory: (r: RedisClient, k: EnvelopeKeys) => new EnvelopeScripts(r, k) },
];
