import { randomInt } from 'node:crypto';

/** Largest amount (cents) any single operation accepts unless configured lower: 10^12 cents. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** True for a positive safe integer number of cents no larger than `max`. */
export function isValidAmount(value: unknown, max = MAX_AMOUNT): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= max;
}

/** Sum of integer cents; throws if the result leaves the safe-integer range (never silently rounds). */
export function sumCents(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) {
    total += v;
    if (!Number.isSafeInteger(total)) throw new RangeError('money sum exceeds the safe integer range');
  }
  return total;
}

/** `count` equal shares of `amount`; `amount` must be divisible by `count`. */
export function splitEqual(amount: number, count: number): number[] {
  assertSplittable(amount, count);
  if (amount % count !== 0) throw new RangeError(`equal split needs amount % count == 0 (${amount} % ${count})`);
  return new Array<number>(count).fill(amount / count);
}

/**
 * Random split by the double-mean rule: each share is drawn uniformly from
 * [1, 2 * remaining / left] (floored, and capped so every later share can still get 1 cent);
 * the last share takes the rest. Uses a CSPRNG (crypto.randomInt), so shares cannot be predicted.
 */
export function splitRandom(amount: number, count: number, rand: (min: number, maxExclusive: number) => number = randomInt): number[] {
  assertSplittable(amount, count);
  const shares = new Array<number>(count);
  let remaining = amount;
  for (let left = count; left > 1; left--) {
    const mean2 = Math.floor((2 * remaining) / left);
    const max = Math.min(Math.max(mean2, 1), remaining - (left - 1));
    const share = max <= 1 ? 1 : rand(1, max + 1);
    shares[count - left] = share;
    remaining -= share;
  }
  shares[count - 1] = remaining;
  return shares;
}

function assertSplittable(amount: number, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(amount) || amount < count) throw new RangeError(`amount must be an integer >= count (${amount} < ${count})`);
}
