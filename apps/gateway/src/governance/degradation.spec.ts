import { AppError, ErrorCode } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { createRedis } from '@hongbao/redis';
import { Admission, Metrics } from '@hongbao/service-kit';
import { freePort } from '@hongbao/testing';
import { gatewayConfigSchema, GatewayConfig } from '../config';
import { Degradation } from './degradation';

describe('Degradation switch without Redis', () => {
  it('refuses to set the mode (503 DEPENDENCY.UNAVAILABLE) instead of switching one replica only', async () => {
    // A port nobody listens on: the connection is refused at once (real TCP, no stand-in).
    const url = `redis://127.0.0.1:${await freePort()}`;
    const config = loadConfig(gatewayConfigSchema, { JWT_SECRET: 's'.repeat(40), REDIS_URL: url, QUEUE_REDIS_URL: url }) as GatewayConfig;
    const redis = createRedis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const queueRedis = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: () => null });
    redis.on('error', () => undefined);
    queueRedis.on('error', () => undefined);
    const metrics = new Metrics('test');
    const d = new Degradation(config, redis, queueRedis, new Admission({ maxInflight: 0, maxEventLoopDelayMs: 0, retryAfterSeconds: 1 }, metrics), metrics);
    try {
      const err = await d.setMode('on').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe(ErrorCode.DependencyUnavailable);
      expect(d.status()).toMatchObject({ mode: 'auto', degraded: false });
    } finally {
      // Not d.onApplicationShutdown(): closing a queue that never connected makes BullMQ report
      // the failed connect after its listeners are gone; the queue's own error handler takes it here.
      await new Promise((r) => setTimeout(r, 50));
      redis.disconnect();
      queueRedis.disconnect();
    }
  });
});
