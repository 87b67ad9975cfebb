import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, promSum, scrapeMetrics, TestSystem, waitFor } from '@hongbao/testing';
import { expectCleanAudit, expectStatus } from './support/expect-status';

type Res = { status: number; body: any; headers: Headers };

/** Sum of a Prometheus metric's samples whose label set contains every `labels` pair. */
async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return promSum(await scrapeMetrics(port), name, labels);
}

/** Calls one gateway process directly (the system's baseUrl is the first gateway). */
async function call(port: number, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

describe('governance: rate limits, load shedding, degradation, canary', () => {
  const sys = new TestSystem({
    env: { DEGRADATION_POLL_MS: '200', DEGRADED_CACHE_TTL_MS: '60000', DEGRADE_SETTLEMENT_BACKLOG: '3' },
  });
  let admin: string;
  let sender: string;

  beforeAll(async () => {
    await sys.start();
    admin = await sys.token('1', true);
    sender = await sys.token('9000');
    expectStatus(await sys.api('POST', '/v1/wallet/topups', { token: sender, body: { amount: 1_000_000 }, headers: { 'idempotency-key': 'gov-topup' } }), 201);
  }, 120_000);
  afterAll(() => sys.stop());

  async function envelope(count: number, amount = count * 100, key = `gov-${Date.now()}-${Math.random()}`): Promise<string> {
    const r = await sys.api('POST', '/v1/envelopes', { token: sender, body: { amount, count, mode: 'random' }, headers: { 'idempotency-key': key } });
    expectStatus(r, 201);
    return r.body.envelopeId as string;
  }

  it('one user hammering grab is limited (429 with Retry-After and RateLimit headers) and still wins exactly once', async () => {
    const id = await envelope(5);
    const hammer = await sys.token('9101');
    const results = await Promise.all(Array.from({ length: 40 }, () => sys.api('POST', `/v1/envelopes/${id}/grab`, { token: hammer })));
    const by = (s: number) => results.filter((r) => r.status === s);
    // Default: 5 grabs/s per user with a burst of 10, so at most 10 get through.
    expect(by(429).length).toBeGreaterThanOrEqual(30);
    expect(by(200)).toHaveLength(1);
    expect(by(200).length + by(409).length + by(429).length).toBe(40);
    const won = by(200)[0].body.amount as number;
    for (const r of by(409)) expect(r.body).toMatchObject({ code: 'ENVELOPE.ALREADY_GRABBED', amount: won });
    for (const r of by(429)) {
      expect(r.body).toMatchObject({ code: 'RATE_LIMITED', scope: 'user' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('ratelimit-limit')).toBe('10');
      expect(r.headers.get('ratelimit-remaining')).toBe('0');
    }
    expect(by(200)[0].headers.get('ratelimit-limit')).toBe('10');
    expectCleanAudit(await sys.settledAudit());
    expect((await sys.api('GET', '/v1/wallet', { token: hammer })).body.balance).toBe(won);
    expect(await metric(sys.procs.get('gateway')!.httpPort, 'hongbao_rate_limited_total', { route: 'grab', scope: 'user' })).toBeGreaterThanOrEqual(30);
  });

  it('grabs of an envelope the gateway knows is sold out are answered from memory, before (and without) the rate limit', async () => {
    const id = await envelope(1);
    expectStatus(await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('9150') }), 200);
    const gw = sys.procs.get('gateway')!.httpPort;
    const late = await sys.token('9151');
    await waitFor(async () => (await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('9153') })).status === 410 && (await metric(gw, 'hongbao_edge_grab_answers_total', { outcome: 'ENVELOPE.SOLD_OUT' })) > 0, {
      timeoutMs: 10_000,
      what: 'the gateway to learn the envelope is sold out',
    });
    const limitedBefore = await metric(gw, 'hongbao_rate_limited_total', { route: 'grab' });
    // 30 at once from one user: over the user's grab limit (burst 10), yet every answer is the final 410.
    const results = await Promise.all(Array.from({ length: 30 }, () => sys.api('POST', `/v1/envelopes/${id}/grab`, { token: late })));
    expect(results.map((r) => `${r.status} ${r.body.code}`)).toEqual(Array(30).fill('410 ENVELOPE.SOLD_OUT'));
    expect(await metric(gw, 'hongbao_rate_limited_total', { route: 'grab' })).toBe(limitedBefore);
    // A bad body is still a 400, sold out or not.
    expectStatus(await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: late, body: { amount: 1 } }), 400);
  });

  describe('per-IP limits across replicas', () => {
    // 3 wallet reads per client IP per minute, on two replicas that trust 127.0.0.1 as a proxy,
    // and one that trusts no proxy.
    const env = {
      RATE_LIMITS: JSON.stringify({ '*': { ip: { rate: 1_000_000 } }, wallet: { ip: { rate: 0.05, burst: 3 } }, grab: { ip: { rate: 0.05, burst: 3 } } }),
      LOG_REQUESTS: 'true',
      LOG_LEVEL: 'info',
    };
    let a: number;
    let b: number;
    let untrusted: number;
    let user: string;
    beforeAll(async () => {
      a = (await sys.startService('gateway', { name: 'gw-a', env: { ...env, TRUST_PROXY: '127.0.0.1' } })).httpPort;
      b = (await sys.startService('gateway', { name: 'gw-b', env: { ...env, TRUST_PROXY: '127.0.0.1' } })).httpPort;
      untrusted = (await sys.startService('gateway', { name: 'gw-untrusted', env })).httpPort;
      user = await sys.token('9102');
    }, 90_000);

    it('counts a client IP from a trusted X-Forwarded-For, shared by every replica through Redis', async () => {
      const xff = { 'x-forwarded-for': '203.0.113.7' };
      expectStatus(await call(a, 'GET', '/v1/wallet', { token: user, headers: xff }), 200);
      expectStatus(await call(b, 'GET', '/v1/wallet', { token: user, headers: xff }), 200);
      const third = await call(a, 'GET', '/v1/wallet', { token: user, headers: xff });
      expectStatus(third, 200);
      expect(third.headers.get('ratelimit-remaining')).toBe('0');
      const fourth = await call(b, 'GET', '/v1/wallet', { token: user, headers: xff });
      expectStatus(fourth, 429);
      expect(fourth.body).toMatchObject({ code: 'RATE_LIMITED', scope: 'ip' });
      expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(1);
      // Another client IP behind the same proxy has its own budget.
      expectStatus(await call(b, 'GET', '/v1/wallet', { token: user, headers: { 'x-forwarded-for': '203.0.113.8' } }), 200);
      // The limit is per route: other routes are not affected.
      expectStatus(await call(b, 'GET', '/v1/wallet/transactions', { token: user, headers: xff }), 200);
    });

    it('refuses a client IP over its grab limit before any answer from memory, sold out or not', async () => {
      const soldOut = await envelope(1);
      expectStatus(await sys.api('POST', `/v1/envelopes/${soldOut}/grab`, { token: await sys.token('9160') }), 200);
      const grabber = await sys.token('9161');
      // From another client IP: gw-a learns the envelope is sold out and has verified the grabber's token.
      await waitFor(
        async () =>
          (await call(a, 'POST', `/v1/envelopes/${soldOut}/grab`, { token: grabber, headers: { 'x-forwarded-for': '203.0.113.20' } })).status === 410 &&
          (await metric(a, 'hongbao_edge_grab_answers_total', { outcome: 'ENVELOPE.SOLD_OUT' })) > 0,
        { timeoutMs: 10_000, what: 'gw-a to answer the sold-out envelope from memory' },
      );
      const xff = { 'x-forwarded-for': '203.0.113.21' };
      const open = await envelope(10);
      const statuses: number[] = [];
      for (const u of ['9162', '9163', '9164', '9165']) statuses.push((await call(a, 'POST', `/v1/envelopes/${open}/grab`, { token: await sys.token(u), headers: xff })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      // That IP is now blocked in gw-a's memory: even the sold-out answer, which is never counted, waits for the window.
      const late = await call(a, 'POST', `/v1/envelopes/${soldOut}/grab`, { token: grabber, headers: xff });
      expectStatus(late, 429);
      expect(late.body).toMatchObject({ code: 'RATE_LIMITED', scope: 'ip' });
      expect(late.headers.get('x-correlation-id')).toBe(late.body.correlationId);
      expect(Number(late.headers.get('retry-after'))).toBeGreaterThan(1);
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(untrusted, 'GET', '/v1/wallet', { token: user, headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    });

    it('never logs tokens', async () => {
      const bad = `${user.slice(0, -4)}AAAA`;
      expectStatus(await call(a, 'GET', '/v1/wallet/transactions', { token: bad }), 401);
      await new Promise((r) => setTimeout(r, 300));
      const log = readFileSync(join(sys.logDir, `${sys.runId}-gw-a.log`), 'utf8');
      expect(log).toContain('"route":"/v1/wallet"');
      expect(log).not.toContain(user.split('.')[2]);
      expect(log).not.toContain(bad.split('.')[2]);
      expect(log.toLowerCase()).not.toContain('bearer');
    });
  });

  it('a token acts only for its own user: no route takes a user id from the request', async () => {
    const a = await sys.token('9201');
    const b = await sys.token('9202');
    expectStatus(await sys.api('POST', '/v1/wallet/topups', { token: a, body: { amount: 700 }, headers: { 'idempotency-key': 'own-1' } }), 201);
    for (const body of [{ amount: 5, userId: '9202' }, { amount: 5, user: '9202' }]) {
      const r = await sys.api('POST', '/v1/wallet/topups', { token: a, body, headers: { 'idempotency-key': `own-x-${Object.keys(body)[1]}` } });
      expectStatus(r, 400);
      expect(r.body.code).toBe('VALIDATION.FAILED');
    }
    expectStatus(await sys.api('GET', '/v1/wallet/transactions?userId=9201', { token: b }), 400);
    expect((await sys.api('GET', '/v1/wallet', { token: b })).body.balance).toBe(0);
    expect((await sys.api('GET', '/v1/wallet/transactions', { token: b })).body.items).toEqual([]);
    expect((await sys.api('GET', '/v1/wallet', { token: a })).body.balance).toBe(700);
    // The admin routes need the admin role.
    expectStatus(await sys.api('GET', '/v1/admin/degradation', { token: a }), 403);
    expectStatus(await sys.api('PUT', '/v1/admin/degradation', { token: a, body: { mode: 'on' } }), 403);
  });

  it('sheds requests over the in-flight bound with 503 OVERLOADED and Retry-After, and keeps probes answering', async () => {
    const port = (await sys.startService('gateway', { name: 'gw-shed', env: { SHED_MAX_INFLIGHT: '2', SHED_RETRY_AFTER_SECONDS: '2' } })).httpPort;
    const user = await sys.token('9301');
    const [results, live] = await Promise.all([
      Promise.all(Array.from({ length: 60 }, () => call(port, 'GET', '/v1/wallet', { token: user }))),
      Promise.all(Array.from({ length: 5 }, () => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status))),
    ]);
    const shed = results.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    for (const r of shed) {
      expect(r.body).toMatchObject({ code: 'OVERLOADED' });
      expect(r.headers.get('retry-after')).toBe('2');
    }
    expect(live).toEqual([200, 200, 200, 200, 200]);
    expect(await metric(port, 'hongbao_shed_requests_total', { transport: 'http', reason: 'inflight' })).toBe(shed.length);
    await sys.kill('gw-shed', 'SIGTERM');
  });

  describe('degradation', () => {
    afterAll(async () => {
      await sys.api('PUT', '/v1/admin/degradation', { token: admin, body: { mode: 'auto' } });
    });

    it('manual: details and history come from the cache or get 503 DEGRADED; grabs keep working; every replica follows the switch', async () => {
      const cachedId = await envelope(4);
      const freshId = await envelope(4);
      const reader = await sys.token('9401');
      expectStatus(await sys.api('GET', `/v1/envelopes/${cachedId}`, { token: reader }), 200);
      const other = (await sys.startService('gateway', { name: 'gw-deg' })).httpPort;
      expect((await call(other, 'GET', '/v1/admin/degradation', { token: admin })).body).toMatchObject({ mode: 'auto', degraded: false, reasons: [] });

      expectStatus(await sys.api('PUT', '/v1/admin/degradation', { token: admin, body: { mode: 'sideways' } }), 400);
      const on = await sys.api('PUT', '/v1/admin/degradation', { token: admin, body: { mode: 'on' } });
      expectStatus(on, 200);
      expect(on.body).toMatchObject({ mode: 'on', degraded: true, reasons: ['manual'] });

      const cached = await sys.api('GET', `/v1/envelopes/${cachedId}`, { token: reader });
      expectStatus(cached, 200);
      expect(cached.headers.get('x-hongbao-degraded')).toBe('cached');
      expect(cached.body).toMatchObject({ envelopeId: cachedId, remainingCount: 4 });
      const refused = await sys.api('GET', `/v1/envelopes/${freshId}`, { token: reader });
      expectStatus(refused, 503);
      expect(refused.body.code).toBe('DEGRADED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await sys.api('GET', '/v1/wallet/transactions', { token: reader })).body.code).toBe('DEGRADED');
      // Grabs, top-ups and the balance are never degraded.
      expectStatus(await sys.api('POST', `/v1/envelopes/${freshId}/grab`, { token: reader }), 200);
      expectStatus(await sys.api('GET', '/v1/wallet', { token: reader }), 200);
      // The other replica picks the switch up from Redis.
      await waitFor(async () => (await call(other, 'GET', '/v1/admin/degradation', { token: admin })).body.degraded === true, { timeoutMs: 5000, what: 'the second replica to degrade' });
      expect((await call(other, 'GET', `/v1/envelopes/${freshId}`, { token: reader })).body.code).toBe('DEGRADED');

      const off = await sys.api('PUT', '/v1/admin/degradation', { token: admin, body: { mode: 'off' } });
      expect(off.body).toMatchObject({ mode: 'off', degraded: false });
      const live = await sys.api('GET', `/v1/envelopes/${freshId}`, { token: reader });
      expectStatus(live, 200);
      expect(live.headers.get('x-hongbao-degraded')).toBeNull();
      expect(live.body.remainingCount).toBe(3);
      await sys.kill('gw-deg', 'SIGTERM');
    });

    it('automatic: a settlement backlog degrades reads, grabs still win, and credits arrive once the workers are back', async () => {
      expectStatus(await sys.api('PUT', '/v1/admin/degradation', { token: admin, body: { mode: 'auto' } }), 200);
      const id = await envelope(12);
      const unread = await envelope(2);
      await sys.kill('wallet'); // the settlement workers run in the wallet service
      const winners: Array<{ token: string; amount: number }> = [];
      for (let i = 0; i < 12; i++) {
        const token = await sys.token(String(9500 + i));
        const r = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token });
        expectStatus(r, 200);
        winners.push({ token, amount: r.body.amount });
        await new Promise((res) => setTimeout(res, 50));
      }
      const status = await waitFor(
        async () => {
          const s = (await sys.api('GET', '/v1/admin/degradation', { token: admin })).body;
          return s.degraded ? s : undefined;
        },
        { timeoutMs: 20_000, what: 'the backlog to trigger degradation' },
      );
      expect(status.reasons).toContain('settlement-backlog');
      expect(status.readings.settlementBacklog).toBeGreaterThan(3);
      expect((await sys.api('GET', `/v1/envelopes/${unread}`, { token: winners[0].token })).body.code).toBe('DEGRADED');

      await sys.restart('wallet');
      await waitFor(async () => (await sys.api('GET', '/v1/admin/degradation', { token: admin })).body.degraded === false, { timeoutMs: 30_000, what: 'degradation to end' });
      expectCleanAudit(await sys.settledAudit());
      for (const w of winners) expect((await sys.api('GET', '/v1/wallet', { token: w.token })).body.balance).toBe(w.amount);
      expect(winners.reduce((s, w) => s + w.amount, 0)).toBe(1200);
    });
  });

  it('automatic: an open envelope breaker degrades reads (cached details still answer) until the envelope service is back', async () => {
    const id = await envelope(3);
    const reader = await sys.token('9701');
    expectStatus(await sys.api('GET', `/v1/envelopes/${id}`, { token: reader }), 200);
    await sys.kill('envelope');
    // Calls fail fast with DEPENDENCY.UNAVAILABLE until the breaker has seen enough of them to open.
    const codes = new Set<string>();
    let n = 0;
    await waitFor(
      async () => {
        // A new user each time: one user polling this fast would hit its grab rate limit.
        const r = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token(String(9800 + n++)) });
        codes.add(`${r.status} ${r.body.code}`);
        return (await sys.api('GET', '/v1/admin/degradation', { token: admin })).body.degraded;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'the envelope breaker to open' },
    );
    expect([...codes].every((c) => c === '503 DEPENDENCY.UNAVAILABLE')).toBe(true);
    const status = (await sys.api('GET', '/v1/admin/degradation', { token: admin })).body;
    expect(status.reasons).toEqual(['breaker:rpc:envelope']);
    const cached = await sys.api('GET', `/v1/envelopes/${id}`, { token: reader });
    expectStatus(cached, 200);
    expect(cached.headers.get('x-hongbao-degraded')).toBe('cached');
    expect(await metric(sys.procs.get('gateway')!.httpPort, 'hongbao_breaker_state', { breaker: 'rpc:envelope' })).toBe(2);

    await sys.restart('envelope');
    // The breaker lets a trial call through after its reset timeout; a success closes it.
    const won = await waitFor(
      async () => {
        const r = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: reader });
        return r.status === 200 ? r.body.amount : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'grabs to work again' },
    );
    await waitFor(async () => (await sys.api('GET', '/v1/admin/degradation', { token: admin })).body.degraded === false, { timeoutMs: 10_000, what: 'degradation to end' });
    expectCleanAudit(await sys.settledAudit());
    expect((await sys.api('GET', '/v1/wallet', { token: reader })).body.balance).toBe(won);
  });

  it('canary: listed users, the header, and a sticky percentage go to the canary pool; metrics say which', async () => {
    const rpcPort = await freePort();
    const canary = await sys.startService('envelope', { name: 'envelope-canary', env: { RPC_PORT: String(rpcPort), SERVICE_VERSION: 'canary' } });
    const gw = (
      await sys.startService('gateway', {
        name: 'gw-canary',
        env: { ENVELOPE_CANARY_RPC: `127.0.0.1:${rpcPort}`, CANARY_USERS: '9601', CANARY_PERCENT: '0' },
      })
    ).httpPort;
    const id = await envelope(3);
    const listed = await sys.token('9601');
    const plain = await sys.token('9602');
    const canaryGets = () => metric(canary.httpPort, 'hongbao_rpc_server_requests_total', { pattern: 'envelope.get', version: 'canary' });
    const stableGets = () => metric(sys.procs.get('envelope')!.httpPort, 'hongbao_rpc_server_requests_total', { pattern: 'envelope.get', version: 'stable' });
    const [c0, s0] = [await canaryGets(), await stableGets()];

    expectStatus(await call(gw, 'GET', `/v1/envelopes/${id}`, { token: listed }), 200);
    expectStatus(await call(gw, 'GET', `/v1/envelopes/${id}`, { token: listed }), 200);
    expectStatus(await call(gw, 'GET', `/v1/envelopes/${id}`, { token: plain }), 200);
    expectStatus(await call(gw, 'GET', `/v1/envelopes/${id}`, { token: plain, headers: { 'x-hongbao-canary': 'canary' } }), 200);
    expectStatus(await call(gw, 'GET', `/v1/envelopes/${id}`, { token: listed, headers: { 'x-hongbao-canary': 'stable' } }), 200);
    expect((await canaryGets()) - c0).toBe(3);
    expect((await stableGets()) - s0).toBe(2);
    // A grab through the canary is a real grab: same Redis, same settlement.
    const g = await call(gw, 'POST', `/v1/envelopes/${id}/grab`, { token: listed });
    expectStatus(g, 200);
    expect(await metric(gw, 'hongbao_upstream_requests_total', { service: 'envelope', pool: 'canary', outcome: 'ok' })).toBe(4);
    expect(await metric(gw, 'hongbao_upstream_requests_total', { service: 'envelope', pool: 'stable', outcome: 'ok' })).toBe(2);
    expectCleanAudit(await sys.settledAudit());
    expect((await sys.api('GET', '/v1/wallet', { token: listed })).body.balance).toBe(g.body.amount);
    await sys.kill('gw-canary', 'SIGTERM');
    await sys.kill('envelope-canary', 'SIGTERM');
  });
});

describe('governance: the envelope service sheds RPC work it cannot take, without partial writes', () => {
  const sys = new TestSystem({ serviceEnv: { envelope: { SHED_MAX_INFLIGHT: '2' } } });
  beforeAll(() => sys.start(), 120_000);
  afterAll(() => sys.stop());

  it('answers 503 OVERLOADED to grabs over its bound; those users win on retry and every share is paid once', async () => {
    const sender = await sys.token('8000');
    expectStatus(await sys.api('POST', '/v1/wallet/topups', { token: sender, body: { amount: 5000 }, headers: { 'idempotency-key': 't' } }), 201);
    const env = await sys.api('POST', '/v1/envelopes', { token: sender, body: { amount: 5000, count: 50, mode: 'random' }, headers: { 'idempotency-key': 'e' } });
    expectStatus(env, 201);
    const id = env.body.envelopeId as string;
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => sys.token(String(8100 + i))));
    const first = await Promise.all(tokens.map((token) => sys.api('POST', `/v1/envelopes/${id}/grab`, { token })));
    const shed = first.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r.body.code).toBe('OVERLOADED');
      expect(r.headers.get('retry-after')).toBe('1');
    }
    expect(first.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    const amounts: number[] = first.filter((r) => r.status === 200).map((r) => r.body.amount);
    for (let i = 0; i < tokens.length; i++) {
      if (first[i].status !== 503) continue;
      const retry = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: tokens[i] });
      expectStatus(retry, 200);
      amounts.push(retry.body.amount);
    }
    expect(amounts).toHaveLength(50);
    expect(amounts.reduce((a, b) => a + b, 0)).toBe(5000);
    expectCleanAudit(await sys.settledAudit());
    expect(await metric(sys.procs.get('envelope')!.httpPort, 'hongbao_shed_requests_total', { transport: 'rpc', reason: 'inflight' })).toBe(shed.length);
  });
});
