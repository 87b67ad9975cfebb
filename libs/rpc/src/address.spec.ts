import { addressKey, normalizeAddress, parseHostPort, toAddressMap } from './address';

describe('parseHostPort', () => {
  it('parses host:port', () => {
    expect(parseHostPort('wallet:4001')).toEqual({ host: 'wallet', port: 4001 });
    expect(parseHostPort('10.0.0.7:65535')).toEqual({ host: '10.0.0.7', port: 65535 });
  });

  it('parses a bracketed IPv6 literal', () => {
    expect(parseHostPort('[::1]:4001')).toEqual({ host: '::1', port: 4001 });
  });

  it.each(['wallet', 'wallet:', ':4001', 'wallet:0', 'wallet:65536', 'wallet:40a1', '::1:4001', '[::1]4001', '[::1'])(
    'refuses %j',
    (bad) => {
      expect(() => parseHostPort(bad)).toThrow(RangeError);
    },
  );
});

describe('normalizeAddress', () => {
  it('gives a bare IPv4 or IPv6 address the default port', () => {
    expect(normalizeAddress('10.0.0.7', 4001)).toEqual({ host: '10.0.0.7', port: 4001 });
    expect(normalizeAddress('fd00::7', 4001)).toEqual({ host: 'fd00::7', port: 4001 });
  });

  it('keeps an explicit port', () => {
    expect(normalizeAddress('127.0.0.1:5002', 4001)).toEqual({ host: '127.0.0.1', port: 5002 });
    expect(normalizeAddress('[::1]:5002', 4001)).toEqual({ host: '::1', port: 5002 });
    expect(normalizeAddress({ host: '127.0.0.1', port: 5003 }, 4001)).toEqual({ host: '127.0.0.1', port: 5003 });
  });

  it('fills in the port of an object without one', () => {
    expect(normalizeAddress({ host: '127.0.0.1' }, 4001)).toEqual({ host: '127.0.0.1', port: 4001 });
  });

  it('refuses malformed answers', () => {
    expect(() => normalizeAddress({ host: '' }, 4001)).toThrow(RangeError);
    expect(() => normalizeAddress({ host: 'a', port: 0 }, 4001)).toThrow(RangeError);
    expect(() => normalizeAddress(null as unknown as string, 4001)).toThrow(RangeError);
  });
});

describe('addressKey', () => {
  it('brackets IPv6 only', () => {
    expect(addressKey({ host: '127.0.0.1', port: 1 })).toBe('127.0.0.1:1');
    expect(addressKey({ host: '::1', port: 1 })).toBe('[::1]:1');
  });
});

describe('toAddressMap', () => {
  it('normalizes, de-duplicates and keeps answer order', () => {
    const map = toAddressMap(['10.0.0.2', '10.0.0.1:4001', { host: '10.0.0.2', port: 4001 }, '10.0.0.1:4002'], 4001);
    expect([...map.keys()]).toEqual(['10.0.0.2:4001', '10.0.0.1:4001', '10.0.0.1:4002']);
    expect(map.get('10.0.0.1:4002')).toEqual({ host: '10.0.0.1', port: 4002 });
  });

  it('is empty for an empty answer', () => {
    expect(toAddressMap([], 4001).size).toBe(0);
  });
});
