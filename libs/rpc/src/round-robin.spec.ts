import { RoundRobin } from './round-robin';

function take<T>(rr: RoundRobin<T>, n: number): (T | undefined)[] {
  return Array.from({ length: n }, () => rr.next());
}

describe('RoundRobin', () => {
  it('is empty at first and next() gives undefined', () => {
    const rr = new RoundRobin<string>();
    expect(rr.size).toBe(0);
    expect(rr.next()).toBeUndefined();
  });

  it('cycles through items in insertion order', () => {
    const rr = new RoundRobin<string>();
    rr.add('a');
    rr.add('b');
    rr.add('c');
    expect(take(rr, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('refuses duplicates', () => {
    const rr = new RoundRobin<string>();
    expect(rr.add('a')).toBe(true);
    expect(rr.add('a')).toBe(false);
    expect(rr.toArray()).toEqual(['a']);
  });

  it('keeps the turn when an item before the cursor is removed', () => {
    const rr = new RoundRobin<string>();
    ['a', 'b', 'c', 'd'].forEach((x) => rr.add(x));
    expect(take(rr, 2)).toEqual(['a', 'b']); // next would be c
    expect(rr.remove('a')).toBe(true);
    expect(take(rr, 4)).toEqual(['c', 'd', 'b', 'c']);
  });

  it('skips a removed item that was due next', () => {
    const rr = new RoundRobin<string>();
    ['a', 'b', 'c'].forEach((x) => rr.add(x));
    expect(rr.next()).toBe('a'); // next would be b
    rr.remove('b');
    expect(take(rr, 3)).toEqual(['c', 'a', 'c']);
  });

  it('wraps when the last item is removed while due', () => {
    const rr = new RoundRobin<string>();
    ['a', 'b', 'c'].forEach((x) => rr.add(x));
    take(rr, 2); // next would be c
    rr.remove('c');
    expect(take(rr, 3)).toEqual(['a', 'b', 'a']);
  });

  it('returns false when removing an absent item and keeps working when emptied and refilled', () => {
    const rr = new RoundRobin<string>();
    expect(rr.remove('x')).toBe(false);
    rr.add('a');
    rr.next();
    rr.remove('a');
    expect(rr.next()).toBeUndefined();
    rr.add('b');
    rr.add('c');
    expect(take(rr, 3)).toEqual(['b', 'c', 'b']);
    expect(rr.has('b')).toBe(true);
    expect(rr.has('a')).toBe(false);
  });

  it('spreads calls exactly evenly over a stable set', () => {
    const rr = new RoundRobin<number>();
    [1, 2, 3].forEach((x) => rr.add(x));
    const counts = new Map<number, number>();
    for (const x of take(rr, 300)) counts.set(x as number, (counts.get(x as number) ?? 0) + 1);
    expect([...counts.entries()].sort()).toEqual([
      [1, 100],
      [2, 100],
      [3, 100],
    ]);
  });
});
