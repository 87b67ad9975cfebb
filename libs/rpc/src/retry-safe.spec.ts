import { EnvelopePattern, LedgerPattern, WalletPattern } from '@hongbao/contracts';
import { isRetrySafePattern, RETRY_SAFE_PATTERNS } from './retry-safe';

describe('isRetrySafePattern', () => {
  it('covers every contract pattern except the grab', () => {
    const all = [...Object.values(EnvelopePattern), ...Object.values(WalletPattern), ...Object.values(LedgerPattern)];
    expect(all.filter((p) => !isRetrySafePattern(p))).toEqual([EnvelopePattern.Grab]);
    expect(RETRY_SAFE_PATTERNS.size).toBe(all.length - 1);
  });

  it('says no to unknown patterns', () => {
    expect(isRetrySafePattern('echo')).toBe(false);
  });
});
