import { isIdString, Snowflake } from './snowflake';

describe('Snowflake', () => {
  it('produces unique, increasing ids', () => {
    const sf = new Snowflake(7);
    const ids = Array.from({ length: 20_000 }, () => sf.next());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]) > BigInt(ids[i - 1])).toBe(true);
  });

  it('encodes the time and stays monotonic when the clock goes back', () => {
    let t = 1_800_000_000_000;
    const sf = new Snowflake(1, () => t);
    const a = sf.next();
    expect(Snowflake.timestampOf(a)).toBe(t);
    t -= 5000;
    const b = sf.next();
    expect(BigInt(b) > BigInt(a)).toBe(true);
  });

  it('borrows the next millisecond after 4096 ids in one', () => {
    const t = 1_800_000_000_000;
    const sf = new Snowflake(1, () => t);
    const ids = Array.from({ length: 4097 }, () => sf.next());
    expect(Snowflake.timestampOf(ids[4096])).toBe(t + 1);
    expect(new Set(ids).size).toBe(4097);
  });

  it('differs between workers in the same millisecond', () => {
    const t = 1_800_000_000_000;
    expect(new Snowflake(1, () => t).next()).not.toBe(new Snowflake(2, () => t).next());
  });

  it('rejects bad worker ids', () => {
    expect(() => new Snowflake(1024)).toThrow(RangeError);
    expect(() => new Snowflake(-1)).toThrow(RangeError);
  });

  it('recognises id strings', () => {
    expect(isIdString(new Snowflake(3).next())).toBe(true);
    for (const bad of ['', '0', '01', 'abc', '1.5', '-1', '99999999999999999999', 12, null]) expect(isIdString(bad)).toBe(false);
  });
});
