import Fastify, { FastifyInstance } from 'fastify';
import { Admission } from './admission';
import { Metrics } from './metrics';

/** Blocks the event loop in slices so under-pressure's next sample sees a long mean delay. */
async function stall(totalMs: number, sliceMs = 200): Promise<void> {
  for (let spent = 0; spent < totalMs; spent += sliceMs) {
    const until = Date.now() + sliceMs;
    while (Date.now() < until) {
      /* busy */
    }
    await new Promise((r) => setImmediate(r));
  }
}

describe('Admission on a real Fastify server', () => {
  let app: FastifyInstance;
  let metrics: Metrics;
  let release: () => void = () => undefined;

  async function start(opts: { maxInflight: number; maxEventLoopDelayMs: number }) {
    metrics = new Metrics('test');
    const admission = new Admission({ ...opts, retryAfterSeconds: 3 }, metrics);
    app = Fastify();
    admission.install(app);
    const gate = new Promise<void>((r) => (release = r));
    app.get('/slow', async () => {
      await gate;
      return { ok: true };
    });
    app.get('/fast', async () => ({ ok: true }));
    app.get('/health/live', async () => ({ status: 'ok' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    return (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  }

  afterEach(async () => {
    release();
    await app.close();
  });

  it('refuses requests over the in-flight bound with 503 OVERLOADED and admits again once they finish', async () => {
    const get = await start({ maxInflight: 2, maxEventLoopDelayMs: 0 });
    const slow = [get('/slow'), get('/slow')];
    await new Promise((r) => setTimeout(r, 100));
    const shed = await get('/fast');
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('3');
    expect(await shed.json()).toMatchObject({ code: 'OVERLOADED' });
    expect((await get('/health/live')).status).toBe(200);
    release();
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    expect((await get('/fast')).status).toBe(200);
    expect(await metrics.registry.getSingleMetricAsString('hongbao_shed_requests_total')).toContain('transport="http",reason="inflight",service="test"} 1');
  });

  it('refuses requests while the event loop lags, probes excepted, and recovers when it stops', async () => {
    const get = await start({ maxInflight: 0, maxEventLoopDelayMs: 50 });
    expect((await get('/fast')).status).toBe(200);
    let shed: Response | undefined;
    for (let i = 0; i < 10 && !shed; i++) {
      await stall(1200);
      const r = await get('/fast');
      if (r.status === 503) shed = r;
      else expect(r.status).toBe(200);
    }
    expect(shed).toBeDefined();
    expect(await shed!.json()).toMatchObject({ code: 'OVERLOADED' });
    expect((await get('/health/live')).status).toBe(200);
    let after = 503;
    for (let i = 0; i < 30 && after === 503; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = (await get('/fast')).status;
    }
    expect(after).toBe(200);
  }, 30_000);
});
