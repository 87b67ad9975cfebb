import { AppError, ErrorCode } from '@hongbao/contracts';
import { failFastRedisOptions, isRedisUnavailable, redisBreaker } from './resilience';

describe('isRedisUnavailable', () => {
  it('tells connection trouble from Redis answers', () => {
    expect(isRedisUnavailable(new Error('Command timed out'))).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisUnavailable(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisUnavailable(new Error('ERR Error running script: attempt to compare nil'))).toBe(false);
    expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailable(new AppError(ErrorCode.EnvelopeSoldOut, 'no'))).toBe(false);
  });
});

describe('failFastRedisOptions', () => {
  it('gives up after one reconnection and bounds each command', () => {
    expect(failFastRedisOptions()).toEqual({ maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000 });
    expect(failFastRedisOptions({ commandTimeoutMs: 300 })).toMatchObject({ commandTimeout: 300 });
  });
});

describe('redisBreaker', () => {
  it('is named redis:<name> and counts Redis trouble as failures', async () => {
    const b = redisBreaker('unit', { volumeThreshold: 1 });
    try {
      expect(b.name).toBe('redis:unit');
      await expect(b.run(() => Promise.reject(new Error('Connection is closed.')))).rejects.toMatchObject({ code: ErrorCode.DependencyUnavailable });
      expect(b.state).toBe('open');
    } finally {
      b.dispose();
    }
  });
});
