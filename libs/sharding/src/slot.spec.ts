import { fnv1a32, SLOT_COUNT, slotOf } from './slot';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes, not UTF-16 code units', () => {
    // "é" is 0xC3 0xA9 in UTF-8; hashing those two bytes by hand must agree.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32('é')).toBe(h >>> 0);
  });
});

describe('slotOf', () => {
  it('is stable: pinned values that routing of stored rows depends on', () => {
    expect(SLOT_COUNT).toBe(1024);
    expect(slotOf('a')).toBe(0xe40c292c % 1024);
    expect(slotOf('foobar')).toBe(0xbf9cf968 % 1024);
    expect(slotOf('1')).toBe(fnv1a32('1') % 1024);
    const sample = ['42', '7329048213098496000', 'grab:123:456'];
    expect(sample.map(slotOf)).toEqual(sample.map(slotOf));
  });

  it('always returns an integer slot in range', () => {
    for (let i = 0; i < 5000; i++) {
      const s = slotOf(`grab:${i * 7919}:${i}`);
      expect(Number.isInteger(s) && s >= 0 && s < SLOT_COUNT).toBe(true);
    }
  });

  it('spreads 100k sequential decimal ids over all 1024 slots within ±50% of the mean', () => {
    const counts = new Array<number>(SLOT_COUNT).fill(0);
    const n = 100_000;
    for (let i = 1; i <= n; i++) counts[slotOf(String(i))]++;
    const mean = n / SLOT_COUNT;
    expect(Math.min(...counts)).toBeGreaterThan(mean * 0.5);
    expect(Math.max(...counts)).toBeLessThan(mean * 1.5);
  });

  it('spreads snowflake-style ids and transfer ids evenly across two halves of the slot space', () => {
    const n = 100_000;
    let low = 0;
    for (let i = 0; i < n; i++) {
      const snowflake = (BigInt(1_700_000_000_000 + Math.floor(i / 64)) << 22n) | BigInt(i % 64);
      if (slotOf(String(snowflake)) < SLOT_COUNT / 2) low++;
      if (slotOf(`grab:${snowflake}:${i % 1000}`) < SLOT_COUNT / 2) low++;
    }
    expect(Math.abs(low / (2 * n) - 0.5)).toBeLessThan(0.02);
  });

  it('rejects an empty or non-string key', () => {
    expect(() => slotOf('')).toThrow(/non-empty string/);
    expect(() => slotOf(42 as unknown as string)).toThrow(/got number/);
  });
});
