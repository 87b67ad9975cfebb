import { IdleBackoff } from './idle-backoff';

describe('IdleBackoff', () => {
  it('doubles after each empty round up to maxMs, and drops back to minMs as soon as a round finds work', () => {
    const b = new IdleBackoff(20, 250);
    expect([0, 0, 0, 0, 0, 0].map((n) => b.next(n))).toEqual([40, 80, 160, 250, 250, 250]);
    expect(b.next(3)).toBe(20);
    expect(b.next(0)).toBe(40);
  });

  it('a maxMs below minMs means a fixed wait of minMs', () => {
    const b = new IdleBackoff(50, 10);
    expect([0, 0, 7, 0].map((n) => b.next(n))).toEqual([50, 50, 50, 50]);
  });

  it('minMs 0 still backs off when idle (from 1 ms) and rejects a negative minMs', () => {
    const b = new IdleBackoff(0, 8);
    expect([0, 0, 0, 0, 0, 1].map((n) => b.next(n))).toEqual([1, 2, 4, 8, 8, 0]);
    expect(() => new IdleBackoff(-1, 10)).toThrow(RangeError);
  });
});
