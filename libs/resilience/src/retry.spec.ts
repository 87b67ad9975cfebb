import { fullJitterDelayMs, retry } from './retry';

describe('fullJitterDelayMs', () => {
  it('is uniform below an exponential ceiling capped at maxMs', () => {
    expect([1, 2, 3, 4, 10].map((a) => fullJitterDelayMs(a, 10, 50, () => 0.999999))).toEqual([9, 19, 39, 49, 49]);
    expect([1, 2, 10].map((a) => fullJitterDelayMs(a, 10, 50, () => 0))).toEqual([0, 0, 0]);
    expect(fullJitterDelayMs(2, 10, 50, () => 0.5)).toBe(10);
  });
});

describe('retry', () => {
  const noWait = { baseMs: 0, maxMs: 0 };

  it('returns the first success and reports each retry', async () => {
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return attempt;
      },
      { ...noWait, attempts: 5, onRetry: (a) => seen.push(a) },
    );
    expect(result).toBe(3);
    expect(seen).toEqual([1, 2]);
  });

  it('gives up after `attempts` with the last error', async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          n++;
          throw new Error(`fail ${n}`);
        },
        { ...noWait, attempts: 3 },
      ),
    ).rejects.toThrow('fail 3');
    expect(n).toBe(3);
  });

  it('does not retry what retryOn refuses', async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          n++;
          throw new Error('domain');
        },
        { ...noWait, attempts: 5, retryOn: () => false },
      ),
    ).rejects.toThrow('domain');
    expect(n).toBe(1);
  });

  it('starts no attempt whose backoff would end past the deadline', async () => {
    let n = 0;
    await expect(
      retry(
        async () => {
          n++;
          throw new Error('slow');
        },
        { attempts: 5, baseMs: 1000, maxMs: 1000, random: () => 0.5, deadline: Date.now() + 100 },
      ),
    ).rejects.toThrow('slow');
    expect(n).toBe(1);
  });

  it('refuses a non-positive attempt count', async () => {
    await expect(retry(async () => 1, { attempts: 0 })).rejects.toThrow(RangeError);
  });
});
