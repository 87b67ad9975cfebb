import { isValidAmount, MAX_AMOUNT, splitEqual, splitRandom, sumCents } from './money';

describe('money', () => {
  it('accepts only positive safe integers up to the max', () => {
    expect(isValidAmount(1)).toBe(true);
    expect(isValidAmount(MAX_AMOUNT)).toBe(true);
    for (const bad of [0, -1, 1.5, MAX_AMOUNT + 1, '100', NaN, Infinity, null, 2 ** 53]) {
      expect(isValidAmount(bad)).toBe(false);
    }
  });

  it('sumCents refuses to leave the safe range', () => {
    expect(sumCents([1, 2, 3])).toBe(6);
    expect(() => sumCents([Number.MAX_SAFE_INTEGER, 1])).toThrow(RangeError);
  });

  it('splits equally', () => {
    expect(splitEqual(1000, 4)).toEqual([250, 250, 250, 250]);
    expect(() => splitEqual(1000, 3)).toThrow('amount % count');
  });

  it('random split conserves the amount and gives everyone at least one cent', () => {
    for (const [amount, count] of [[100, 100], [101, 100], [1000, 7], [10_000_00, 10_000], [5, 1]]) {
      for (let i = 0; i < 20; i++) {
        const shares = splitRandom(amount, count);
        expect(shares).toHaveLength(count);
        expect(sumCents(shares)).toBe(amount);
        expect(Math.min(...shares)).toBeGreaterThanOrEqual(1);
        expect(shares.every(Number.isSafeInteger)).toBe(true);
      }
    }
  });

  it('random split keeps each non-last share within [1, 2*remaining/left]', () => {
    const amount = 10_000;
    const count = 50;
    const shares = splitRandom(amount, count);
    let remaining = amount;
    for (let i = 0; i < count - 1; i++) {
      const left = count - i;
      expect(shares[i]).toBeLessThanOrEqual(Math.floor((2 * remaining) / left));
      remaining -= shares[i];
    }
    expect(shares[count - 1]).toBe(remaining);
  });

  it('random split uses the injected generator bounds', () => {
    const calls: Array<[number, number]> = [];
    const shares = splitRandom(100, 4, (min, max) => {
      calls.push([min, max]);
      return max - 1;
    });
    expect(calls[0]).toEqual([1, 51]); // 2*100/4 = 50 -> randomInt(1, 51)
    expect(shares).toEqual([50, 33, 16, 1]);
  });

  it('rejects impossible splits', () => {
    expect(() => splitRandom(5, 6)).toThrow(RangeError);
    expect(() => splitRandom(5, 0)).toThrow(RangeError);
  });
});
