import { isDeadlock, isRetryableLockError, retryDelayMs } from './sharded-mysql';

describe('isRetryableLockError', () => {
  it('retries deadlocks and lock wait timeouts only', () => {
    expect(isRetryableLockError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' })).toBe(true);
    expect(isRetryableLockError({ errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' })).toBe(true);
    expect(isRetryableLockError({ code: 'ER_LOCK_DEADLOCK' })).toBe(true);
    expect(isRetryableLockError({ errno: 1062, code: 'ER_DUP_ENTRY' })).toBe(false);
    expect(isRetryableLockError(new Error('boom'))).toBe(false);
    expect(isRetryableLockError(undefined)).toBe(false);
  });
});

describe('isDeadlock', () => {
  it('is true for a deadlock only (a pool statement is re-run after one, never after a lock wait timeout)', () => {
    expect(isDeadlock({ errno: 1213, code: 'ER_LOCK_DEADLOCK' })).toBe(true);
    expect(isDeadlock({ code: 'ER_LOCK_DEADLOCK' })).toBe(true);
    expect(isDeadlock({ errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' })).toBe(false);
    expect(isDeadlock({ errno: 1062, code: 'ER_DUP_ENTRY' })).toBe(false);
    expect(isDeadlock(null)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially from 5 ms, capped at 200 ms, jittered within the upper half', () => {
    expect([1, 2, 3, 10].map((a) => retryDelayMs(a, () => 0))).toEqual([3, 5, 10, 100]);
    expect([1, 2, 3, 10].map((a) => retryDelayMs(a, () => 1))).toEqual([5, 10, 20, 200]);
  });
});
