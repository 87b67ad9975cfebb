import { ConfigError, loadConfig } from '@hongbao/config';
import { gatewayConfigSchema } from '../config';
import { effectiveRules, toWindow } from './rate-limit-rules';

const SECRET = 's'.repeat(40);

describe('rate-limit rules', () => {
  it('has the DESIGN defaults: 5 grabs/s per user with a burst of 10, 5000 req/s per IP over all routes, no global limit', () => {
    const rules = effectiveRules({});
    expect(rules).toEqual([
      { route: '*', scope: 'ip', rule: { rate: 5000 } },
      { route: 'grab', scope: 'user', rule: { rate: 5, burst: 10 } },
    ]);
  });

  it('turns a rule into a fixed window of `burst` points over burst/rate seconds', () => {
    expect(toWindow({ rate: 5, burst: 10 })).toEqual({ points: 10, durationSeconds: 2 });
    expect(toWindow({ rate: 5000 })).toEqual({ points: 5000, durationSeconds: 1 });
    expect(toWindow({ rate: 0.05, burst: 3 })).toEqual({ points: 3, durationSeconds: 60 });
    expect(toWindow({ rate: 100, burst: 10 })).toEqual({ points: 10, durationSeconds: 1 });
  });

  it('merges overrides scope by scope; null removes a default', () => {
    const c = loadConfig(gatewayConfigSchema, { JWT_SECRET: SECRET, RATE_LIMITS: '{"grab":{"user":null,"ip":{"rate":50}},"create":{"global":{"rate":1000,"burst":2000}}}' });
    expect(effectiveRules(c.RATE_LIMITS)).toEqual([
      { route: '*', scope: 'ip', rule: { rate: 5000 } },
      { route: 'create', scope: 'global', rule: { rate: 1000, burst: 2000 } },
      { route: 'grab', scope: 'ip', rule: { rate: 50 } },
    ]);
  });

  it.each([
    ['not JSON', '{grab'],
    ['an unknown route', '{"grabz":{"user":{"rate":1}}}'],
    ['an unknown scope', '{"grab":{"tenant":{"rate":1}}}'],
    ['a negative rate', '{"grab":{"user":{"rate":-1}}}'],
    ['a fractional burst', '{"grab":{"user":{"rate":1,"burst":1.5}}}'],
    ['an unknown field', '{"grab":{"user":{"rate":1,"per":"minute"}}}'],
  ])('refuses RATE_LIMITS with %s at start-up', (_, value) => {
    expect(() => loadConfig(gatewayConfigSchema, { JWT_SECRET: SECRET, RATE_LIMITS: value })).toThrow(ConfigError);
  });
});
