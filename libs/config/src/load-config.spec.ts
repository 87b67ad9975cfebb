import { z } from 'zod';
import { ConfigError, env, loadConfig, serviceBaseSchema } from './load-config';

describe('loadConfig', () => {
  const schema = serviceBaseSchema.extend({
    RPC_PORT: env.port(4001),
    SHARDS: env.list('mysql://a/b_0,mysql://a/b_1'),
    FLAG: env.bool(false),
    WALLET_RPC: env.hostPort('localhost:4002'),
    SECRET: z.string().min(16),
  });

  it('applies defaults and coerces types', () => {
    const c = loadConfig(schema, { SECRET: 'x'.repeat(16) });
    expect(c.PORT).toBe(3000);
    expect(c.RPC_PORT).toBe(4001);
    expect(c.SHARDS).toEqual(['mysql://a/b_0', 'mysql://a/b_1']);
    expect(c.FLAG).toBe(false);
    expect(c.WALLET_RPC).toBe('localhost:4002');
  });

  it('names every bad or missing variable', () => {
    let err: unknown;
    try {
      loadConfig(schema, { PORT: 'abc', FLAG: 'yes', WALLET_RPC: 'nohost' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['PORT', 'FLAG', 'WALLET_RPC', 'SECRET']) expect(msg).toContain(name);
  });
});
