import { Readiness } from './readiness';

describe('Readiness', () => {
  it('is ready when every check passes', async () => {
    const r = new Readiness();
    r.add('db', async () => 1);
    r.add('redis', async () => 'PONG');
    expect(await r.run()).toEqual({ ok: true, checks: { db: 'ok', redis: 'ok' } });
  });

  it('names the failing check and its reason', async () => {
    const r = new Readiness();
    r.add('db', async () => {
      throw new Error('connect ECONNREFUSED');
    });
    r.add('redis', async () => 'PONG');
    expect(await r.run()).toEqual({ ok: false, checks: { db: 'connect ECONNREFUSED', redis: 'ok' } });
  });

  it('fails a check that hangs, after the timeout', async () => {
    const r = new Readiness();
    r.add('slow', () => new Promise(() => undefined));
    expect(await r.run(20)).toEqual({ ok: false, checks: { slow: 'timed out after 20 ms' } });
  });

  it('reports not ready once shutting down', async () => {
    const r = new Readiness();
    r.add('db', async () => 1);
    r.markShuttingDown();
    expect(await r.run()).toEqual({ ok: false, checks: { shutdown: 'shutting down', db: 'ok' } });
  });
});
