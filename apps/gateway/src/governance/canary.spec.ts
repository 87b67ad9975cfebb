import { bucketOf, CanaryRouter } from './canary';

describe('CanaryRouter', () => {
  const users = Array.from({ length: 20_000 }, (_, i) => String(1_000_000 + i));

  it('lets the header force either pool, then the user list, then the percentage', () => {
    const r = new CanaryRouter({ percent: 0, users: ['42'] });
    expect(r.pick({ userId: '42' })).toBe('canary');
    expect(r.pick({ userId: '43' })).toBe('stable');
    expect(r.pick({ userId: '43', canaryHeader: ' Canary ' })).toBe('canary');
    expect(r.pick({ userId: '42', canaryHeader: 'stable' })).toBe('stable');
    expect(r.pick({ userId: '43', canaryHeader: 'yes please' })).toBe('stable');
  });

  it('sends about the configured share of users, each user always to the same side', () => {
    const r = new CanaryRouter({ percent: 10, users: [] });
    const canary = users.filter((u) => r.pick({ userId: u }) === 'canary');
    expect(canary.length / users.length).toBeGreaterThan(0.09);
    expect(canary.length / users.length).toBeLessThan(0.11);
    expect(users.filter((u) => r.pick({ userId: u }) === 'canary')).toEqual(canary);
    // Raising the share only adds users: nobody flips back to stable.
    const wider = new CanaryRouter({ percent: 25, users: [] });
    expect(canary.every((u) => wider.pick({ userId: u }) === 'canary')).toBe(true);
  });

  it('sends nobody at 0% and everybody at 100%', () => {
    expect(users.some((u) => new CanaryRouter({ percent: 0, users: [] }).pick({ userId: u }) === 'canary')).toBe(false);
    expect(users.every((u) => new CanaryRouter({ percent: 100, users: [] }).pick({ userId: u }) === 'canary')).toBe(true);
  });

  it('buckets are 0..9999 and do not depend on the process', () => {
    expect(bucketOf('42')).toBe(bucketOf('42'));
    for (const u of users.slice(0, 100)) expect(bucketOf(u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...users.map(bucketOf))).toBeLessThan(10_000);
  });
});
