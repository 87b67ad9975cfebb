import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import { signToken, TEST_JWT_SECRET, TestSystem, unsignedToken, pool } from '@hongbao/testing';
import { expectCleanAudit, expectStatus } from './support/expect-status';

/**
 * Hostile and malformed input against every public route (DESIGN §2): each bad call must get
 * its exact documented status and error code with a correlation id, never a 5xx, and none may
 * move money. A few well-formed calls are made as controls; at the end the balances and
 * histories of every user involved must be exactly what those successful calls alone give, and
 * the audit must be clean.
 */

interface Req {
  method: string;
  path: string;
  /** the whole Authorization header value; omitted: no header */
  auth?: string;
  /** serialised as JSON with content-type application/json (unless headers say otherwise) */
  json?: unknown;
  /** sent byte for byte; set the content-type yourself */
  raw?: string;
  headers?: Record<string, string>;
}
interface Res {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}
interface Case {
  name: string;
  req: Req;
  status: number;
  code: string;
}

/** node:http rather than fetch: it sends exactly the headers and bytes given (tabs, latin-1, no implicit content-type). */
function call(baseUrl: string, r: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    let payload: Buffer | undefined;
    if (r.json !== undefined) {
      payload = Buffer.from(JSON.stringify(r.json), 'utf8');
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    } else if (r.raw !== undefined) {
      payload = Buffer.from(r.raw, 'utf8');
    }
    if (payload) headers['content-length'] = String(payload.length);
    if (r.auth !== undefined) headers['authorization'] = r.auth;
    const req = httpRequest({ host: url.hostname, port: url.port, path: r.path, method: r.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Everything wrong with one error response, as readable strings (empty: it is exactly right). */
function problemsOf(c: Case, res: Res): string[] {
  const p: string[] = [];
  const b = res.body;
  if (res.status !== c.status || b?.code !== c.code) p.push(`got ${res.status} ${b?.code ?? JSON.stringify(b)}, expected ${c.status} ${c.code}`);
  if (typeof b !== 'object' || b === null) return [...p, `body is not a JSON object: ${JSON.stringify(b)}`];
  const keys = Object.keys(b).sort().join(',');
  if (keys !== 'code,correlationId,message') p.push(`error body keys are [${keys}], expected [code,correlationId,message]`);
  if (typeof b.message !== 'string' || b.message.length === 0) p.push('message is missing or empty');
  if (typeof b.correlationId !== 'string' || b.correlationId.length === 0) p.push('correlationId is missing or empty');
  else if (res.headers['x-correlation-id'] !== b.correlationId) p.push(`x-correlation-id header ${String(res.headers['x-correlation-id'])} != body ${b.correlationId}`);
  if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) p.push(`content-type is ${String(res.headers['content-type'])}`);
  return p;
}

const A = '7001'; // makes the successful control calls
const B = '7002'; // never makes a successful call
const C = '7003'; // grabs one share (a control)
const D = '7004'; // tops up exactly MAX_AMOUNT (a boundary control)
const MAX_AMOUNT = 1_000_000_000_000;

describe('bad input: exact 4xx codes on every route, never a 5xx, no money moved', () => {
  // One user sends every bad grab here: rate limits (checked before validation, with their own
  // spec in governance.e2e-spec.ts) would answer 429 instead of the validation error under test.
  const sys = new TestSystem({ serviceEnv: { gateway: { RATE_LIMITS: JSON.stringify({ '*': { ip: null }, grab: { user: null } }) } } });
  const statuses = new Map<number, number>();
  let send: (r: Req) => Promise<Res>;
  let tok: Record<'A' | 'B' | 'C' | 'D' | 'admin', string>;
  let keySeq = 0;
  /** a fresh Idempotency-Key, so a wrongly accepted bad call would really move money (not be deduplicated) */
  const freshKey = () => `bad-${++keySeq}`;

  // What the successful calls did, for the final money check.
  const expectedTx: Record<string, { kind: string; amount: number; envelopeId?: string }[]> = { [A]: [], [B]: [], [C]: [], [D]: [] };
  let env1 = ''; // A's random envelope: 100 cents, 10 shares
  let env2 = ''; // A's equal envelope: 10000 cents, 10000 shares (the count boundary)
  let cGrab = 0;

  beforeAll(async () => {
    await sys.start();
    send = async (r) => {
      const res = await call(sys.baseUrl, r);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      return res;
    };
    tok = {
      A: `Bearer ${await signToken(A)}`,
      B: `Bearer ${await signToken(B)}`,
      C: `Bearer ${await signToken(C)}`,
      D: `Bearer ${await signToken(D)}`,
      admin: `Bearer ${await signToken('1', { admin: true })}`,
    };
  }, 120_000);
  afterAll(() => sys.stop());

  /** Sends every case (8 at a time) and fails once with the full list of mismatches. */
  async function runCases(cases: Case[]): Promise<void> {
    expect(cases.length).toBeGreaterThan(0);
    const results = await pool(cases, 8, async (c) => ({ c, res: await send(c.req) }));
    const bad = results.flatMap(({ c, res }) => problemsOf(c, res).map((p) => `${c.name} [${c.req.method} ${c.req.path}]: ${p}`));
    expect(bad).toEqual([]);
  }

  it('control calls succeed: top-ups at the key and amount boundaries, sends at the greeting and count boundaries, one grab', async () => {
    const t1 = await send({ method: 'POST', path: '/v1/wallet/topups', auth: tok.A, json: { amount: 100_000 }, headers: { 'idempotency-key': 'ok-topup-1' } });
    expectStatus(t1, 201);
    expect(t1.body).toEqual({ userId: A, balance: 100_000, transactionId: expect.any(String) });
    expectedTx[A].push({ kind: 'topup', amount: 100_000 });

    const key128 = 'k'.repeat(120) + '~!#$%^&*'; // 128 printable characters: the longest key allowed
    expect(key128).toHaveLength(128);
    const t2 = await send({ method: 'POST', path: '/v1/wallet/topups', auth: tok.A, json: { amount: 1 }, headers: { 'idempotency-key': key128 } });
    expectStatus(t2, 201);
    expect(t2.body.balance).toBe(100_001);
    expectedTx[A].push({ kind: 'topup', amount: 1 });

    const t3 = await send({
      method: 'POST',
      path: '/v1/wallet/topups',
      auth: tok.A,
      json: { amount: 2 },
      headers: { 'idempotency-key': 'x', 'content-type': 'application/json; charset=utf-8' },
    });
    expectStatus(t3, 201);
    expect(t3.body.balance).toBe(100_003);
    expectedTx[A].push({ kind: 'topup', amount: 2 });

    const t4 = await send({ method: 'POST', path: '/v1/wallet/topups', auth: tok.D, json: { amount: MAX_AMOUNT }, headers: { 'idempotency-key': 'max' } });
    expectStatus(t4, 201);
    expect(t4.body).toEqual({ userId: D, balance: MAX_AMOUNT, transactionId: expect.any(String) });
    expectedTx[D].push({ kind: 'topup', amount: MAX_AMOUNT });

    const greeting64 = '恭喜发财'.repeat(16);
    expect(greeting64).toHaveLength(64);
    const e1 = await send({
      method: 'POST',
      path: '/v1/envelopes',
      auth: tok.A,
      json: { amount: 100, count: 10, mode: 'random', greeting: greeting64, ttlSeconds: 86_400 },
      headers: { 'idempotency-key': 'ok-env-1' },
    });
    expectStatus(e1, 201);
    expect(e1.body).toEqual({ envelopeId: expect.stringMatching(/^[1-9][0-9]{0,18}$/), amount: 100, count: 10, mode: 'random', expiresAt: expect.any(String) });
    env1 = e1.body.envelopeId;
    expectedTx[A].push({ kind: 'send', amount: -100, envelopeId: env1 });

    const e2 = await send({
      method: 'POST',
      path: '/v1/envelopes',
      auth: tok.A,
      json: { amount: 10_000, count: 10_000, mode: 'equal', ttlSeconds: 1 * 86_400 },
      headers: { 'idempotency-key': 'ok-env-2' },
    });
    expectStatus(e2, 201);
    expect(e2.body).toEqual({ envelopeId: expect.stringMatching(/^[1-9][0-9]{0,18}$/), amount: 10_000, count: 10_000, mode: 'equal', expiresAt: expect.any(String) });
    env2 = e2.body.envelopeId;
    expectedTx[A].push({ kind: 'send', amount: -10_000, envelopeId: env2 });

    // A grab with no body at all is the normal call.
    const g = await send({ method: 'POST', path: `/v1/envelopes/${env1}/grab`, auth: tok.C });
    expectStatus(g, 200);
    expect(g.body).toEqual({ envelopeId: env1, amount: expect.any(Number) });
    cGrab = g.body.amount;
    expect(Number.isInteger(cGrab) && cGrab >= 1 && cGrab <= 100 - 9).toBe(true);
    expectedTx[C].push({ kind: 'grab', amount: cGrab, envelopeId: env1 });

    const w = await send({ method: 'GET', path: '/v1/wallet', auth: tok.A });
    expectStatus(w, 200);
    expect(w.body).toEqual({ userId: A, balance: 100_003 - 100 - 10_000, currency: expect.any(String) });
  });

  it('authentication: missing, garbage, forged, expired, exp-less, alg none, wrong alg, not-yet-valid and non-digit-subject tokens get 401 on every route', async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = new TextEncoder().encode(TEST_JWT_SECRET);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512', typ: 'JWT' }).setSubject(A).setIssuedAt().setExpirationTime(now + 3600).sign(secret);
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(now + 3600).sign(secret);
    const numericSub = await new SignJWT({ sub: 7001 as unknown as string }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setExpirationTime(now + 3600).sign(secret);
    // B's genuine token with its payload swapped for one naming A: the signature no longer matches.
    const [h, , s] = (await signToken(B)).split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: A, exp: now + 3600 })).toString('base64url')}.${s}`;

    const badAuth: [string, string | undefined][] = [
      ['no Authorization header', undefined],
      ['empty Authorization header', ''],
      ['no Bearer scheme', await signToken(A)],
      ['Basic scheme', `Basic ${Buffer.from('7001:pw').toString('base64')}`],
      ['Bearer with nothing', 'Bearer '],
      ['garbage token', 'Bearer garbage'],
      ['three garbage segments', 'Bearer aaa.bbb.ccc'],
      ['signed with another secret', `Bearer ${await signToken(A, { secret: 'another-secret-another-secret-0123456789' })}`],
      ['admin token signed with another secret', `Bearer ${await signToken('1', { admin: true, secret: 'another-secret-another-secret-0123456789' })}`],
      ['expired a minute ago', `Bearer ${await signToken(A, { expiresInSeconds: -60 })}`],
      ['expired admin token', `Bearer ${await signToken('1', { admin: true, expiresInSeconds: -60 })}`],
      ['no exp claim', `Bearer ${await signToken(A, { omitExp: true })}`],
      ['not valid before an hour from now', `Bearer ${await signToken(A, { claims: { nbf: now + 3600 } })}`],
      ['alg none', `Bearer ${unsignedToken(A)}`],
      ['alg none admin', `Bearer ${unsignedToken('1')}`],
      ['HS512 with the right secret (algorithm is pinned)', `Bearer ${hs512}`],
      ['tampered payload', `Bearer ${tampered}`],
      ['no sub claim', `Bearer ${noSub}`],
      ['numeric (non-string) sub', `Bearer ${numericSub}`],
      ['sub letters', `Bearer ${await signToken('abc')}`],
      ['sub empty', `Bearer ${await signToken('')}`],
      ['sub negative', `Bearer ${await signToken('-1')}`],
      ['sub fractional', `Bearer ${await signToken('1.5')}`],
      ['sub with spaces', `Bearer ${await signToken(' 7001')}`],
      ['sub 21 digits', `Bearer ${await signToken('1'.repeat(21))}`],
    ];
    // Each route with a request that would succeed (and move money for A) if the token were good.
    const routes = (): Req[] => [
      { method: 'POST', path: '/v1/wallet/topups', json: { amount: 500 }, headers: { 'idempotency-key': freshKey() } },
      { method: 'GET', path: '/v1/wallet' },
      { method: 'GET', path: '/v1/wallet/transactions?limit=10' },
      { method: 'POST', path: '/v1/envelopes', json: { amount: 50, count: 5, mode: 'equal' }, headers: { 'idempotency-key': freshKey() } },
      { method: 'POST', path: `/v1/envelopes/${env1}/grab` },
      { method: 'GET', path: `/v1/envelopes/${env1}` },
      { method: 'GET', path: '/v1/admin/audit' },
    ];
    const cases: Case[] = [];
    for (const [name, auth] of badAuth) {
      for (const r of routes()) cases.push({ name, req: { ...r, ...(auth !== undefined ? { auth } : {}) }, status: 401, code: 'AUTH.UNAUTHENTICATED' });
    }
    await runCases(cases);
  });

  it('authorisation: a valid non-admin token gets 403 AUTH.FORBIDDEN on the admin audit', async () => {
    const cases: Case[] = [
      { name: 'plain user token', req: { method: 'GET', path: '/v1/admin/audit', auth: tok.A }, status: 403, code: 'AUTH.FORBIDDEN' },
      { name: 'role ADMIN (case matters)', req: { method: 'GET', path: '/v1/admin/audit', auth: `Bearer ${await signToken(A, { claims: { role: 'ADMIN' } })}` }, status: 403, code: 'AUTH.FORBIDDEN' },
      { name: 'role as an array', req: { method: 'GET', path: '/v1/admin/audit', auth: `Bearer ${await signToken(A, { claims: { role: ['admin'] } })}` }, status: 403, code: 'AUTH.FORBIDDEN' },
      { name: 'admin: true instead of role', req: { method: 'GET', path: '/v1/admin/audit', auth: `Bearer ${await signToken(A, { claims: { admin: true } })}` }, status: 403, code: 'AUTH.FORBIDDEN' },
    ];
    await runCases(cases);
    const ok = await send({ method: 'GET', path: '/v1/admin/audit', auth: tok.admin });
    expectStatus(ok, 200);
    expect(typeof ok.body.ok).toBe('boolean');
  });

  it('unknown routes and methods get 404 ROUTE.NOT_FOUND', async () => {
    const nf = (method: string, path: string, auth?: string): Case => ({ name: 'unknown route', req: { method, path, ...(auth ? { auth } : {}) }, status: 404, code: 'ROUTE.NOT_FOUND' });
    await runCases([
      nf('GET', '/v1/nope', tok.A),
      nf('GET', '/v1/nope'),
      nf('GET', '/v2/wallet', tok.A),
      nf('GET', '/', tok.A),
      nf('GET', '/v1', tok.A),
      nf('DELETE', '/v1/wallet', tok.A),
      nf('PUT', '/v1/wallet/topups', tok.A),
      nf('GET', '/v1/wallet/topups', tok.A),
      nf('GET', '/v1/envelopes', tok.A),
      nf('DELETE', `/v1/envelopes/${env1}`, tok.A),
      nf('GET', `/v1/envelopes/${env1}/grab`, tok.A),
      nf('POST', `/v1/envelopes/${env1}/grab/again`, tok.A),
      nf('POST', '/v1/admin/audit', tok.admin),
    ]);
  });

  it('top-ups: malformed JSON, wrong types, bad amounts, unknown fields, bad keys, oversized and non-JSON bodies', async () => {
    const path = '/v1/wallet/topups';
    const v = (name: string, json: unknown): Case => ({ name, req: { method: 'POST', path, auth: tok.A, json, headers: { 'idempotency-key': freshKey() } }, status: 400, code: 'VALIDATION.FAILED' });
    const rawJson = (name: string, raw: string): Case => ({
      name,
      req: { method: 'POST', path, auth: tok.A, raw, headers: { 'content-type': 'application/json', 'idempotency-key': freshKey() } },
      status: 400,
      code: 'VALIDATION.FAILED',
    });
    const key = (name: string, headers: Record<string, string>): Case => ({ name, req: { method: 'POST', path, auth: tok.A, json: { amount: 300 }, headers }, status: 400, code: 'VALIDATION.FAILED' });
    await runCases([
      rawJson('truncated JSON', '{"amount": 100'),
      rawJson('unquoted key', '{amount: 100}'),
      rawJson('single quotes', "{'amount': 100}"),
      rawJson('trailing comma', '{"amount": 100,}'),
      rawJson('empty body with JSON content type', ''),
      rawJson('NaN literal', '{"amount": NaN}'),
      rawJson('number too big for a double', '{"amount": 1e400}'),
      rawJson('negative zero', '{"amount": -0}'),
      rawJson('__proto__ key', '{"amount": 100, "__proto__": {"admin": true}}'),
      rawJson('constructor.prototype key', '{"amount": 100, "constructor": {"prototype": {"admin": true}}}'),
      rawJson('body is null', 'null'),
      v('body is an array', [{ amount: 100 }]),
      v('body is a number', 100),
      v('body is a string', '100'),
      v('empty object', {}),
      v('amount as a string', { amount: '100' }),
      v('amount as an empty string', { amount: '' }),
      v('amount true', { amount: true }),
      v('amount false', { amount: false }),
      v('amount as an array', { amount: [100] }),
      v('amount as an object', { amount: { value: 100 } }),
      v('amount null', { amount: null }),
      v('amount negative', { amount: -100 }),
      v('amount -1', { amount: -1 }),
      v('amount zero', { amount: 0 }),
      v('amount fractional', { amount: 1.5 }),
      v('amount tiny fraction', { amount: 0.01 }),
      v('amount over MAX_AMOUNT by one', { amount: MAX_AMOUNT + 1 }),
      v('amount 1e13', { amount: 1e13 }),
      v('amount 2**53', { amount: 2 ** 53 }),
      v('amount 2**53 + 2', { amount: 2 ** 53 + 2 }),
      v('unknown field', { amount: 100, currency: 'CNY' }),
      v('userId field (spoofing)', { amount: 100, userId: B }),
      v('misspelled field', { amonut: 100 }),
      key('no Idempotency-Key', {}),
      key('empty Idempotency-Key', { 'idempotency-key': '' }),
      key('129-character Idempotency-Key', { 'idempotency-key': 'k'.repeat(129) }),
      key('Idempotency-Key with a tab', { 'idempotency-key': 'abc\tdef' }),
      key('Idempotency-Key with a non-ASCII byte', { 'idempotency-key': 'k\u00e9y' }),
      {
        name: 'key reused with another amount',
        req: { method: 'POST', path, auth: tok.A, json: { amount: 5 }, headers: { 'idempotency-key': 'ok-topup-1' } },
        status: 409,
        code: 'IDEMPOTENCY.KEY_REUSED',
      },
      {
        name: 'body over 16 KiB',
        req: { method: 'POST', path, auth: tok.A, json: { amount: 100, pad: 'x'.repeat(17 * 1024) }, headers: { 'idempotency-key': freshKey() } },
        status: 413,
        code: 'REQUEST.TOO_LARGE',
      },
      {
        name: 'body of 16 KiB + 1 byte',
        req: { method: 'POST', path, auth: tok.A, raw: `{"amount":100,"pad":"${'x'.repeat(16 * 1024 - 22)}"}`, headers: { 'content-type': 'application/json', 'idempotency-key': freshKey() } },
        status: 413,
        code: 'REQUEST.TOO_LARGE',
      },
      {
        name: 'text/plain',
        req: { method: 'POST', path, auth: tok.A, raw: '{"amount":100}', headers: { 'content-type': 'text/plain', 'idempotency-key': freshKey() } },
        status: 415,
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'form encoded',
        req: { method: 'POST', path, auth: tok.A, raw: 'amount=100', headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': freshKey() } },
        status: 415,
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'a body with no content type',
        req: { method: 'POST', path, auth: tok.A, raw: '{"amount":100}', headers: { 'idempotency-key': freshKey() } },
        status: 415,
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'application/xml',
        req: { method: 'POST', path, auth: tok.A, raw: '<amount>100</amount>', headers: { 'content-type': 'application/xml', 'idempotency-key': freshKey() } },
        status: 415,
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      },
    ]);
    expect(`{"amount":100,"pad":"${'x'.repeat(16 * 1024 - 22)}"}`).toHaveLength(16 * 1024 + 1);
  });

  it('envelope sends: wrong types and limits on amount, count, mode, greeting and ttl, unknown fields, bad keys, 422 without funds', async () => {
    const path = '/v1/envelopes';
    const base = { amount: 1000, count: 10, mode: 'random' };
    const v = (name: string, json: unknown, auth = tok.A): Case => ({ name, req: { method: 'POST', path, auth, json, headers: { 'idempotency-key': freshKey() } }, status: 400, code: 'VALIDATION.FAILED' });
    const without = (k: keyof typeof base) => Object.fromEntries(Object.entries(base).filter(([x]) => x !== k));
    const key = (name: string, headers: Record<string, string>): Case => ({ name, req: { method: 'POST', path, auth: tok.A, json: base, headers }, status: 400, code: 'VALIDATION.FAILED' });
    await runCases([
      {
        name: 'truncated JSON',
        req: { method: 'POST', path, auth: tok.A, raw: '{"amount":1000,"count":10,', headers: { 'content-type': 'application/json', 'idempotency-key': freshKey() } },
        status: 400,
        code: 'VALIDATION.FAILED',
      },
      {
        name: 'body is null',
        req: { method: 'POST', path, auth: tok.A, raw: 'null', headers: { 'content-type': 'application/json', 'idempotency-key': freshKey() } },
        status: 400,
        code: 'VALIDATION.FAILED',
      },
      v('body is an array', [base]),
      v('body is a string', 'envelope'),
      v('empty object', {}),
      v('missing amount', without('amount')),
      v('missing count', without('count')),
      v('missing mode', without('mode')),
      v('amount as a string', { ...base, amount: '1000' }),
      v('amount true', { ...base, amount: true }),
      v('amount as an array', { ...base, amount: [1000] }),
      v('amount as an object', { ...base, amount: { cents: 1000 } }),
      v('amount null', { ...base, amount: null }),
      v('amount negative', { ...base, amount: -1000 }),
      v('amount zero', { ...base, amount: 0 }),
      v('amount fractional', { ...base, amount: 1000.5 }),
      v('amount over MAX_AMOUNT by one', { ...base, amount: MAX_AMOUNT + 1 }),
      v('amount 1e13', { ...base, amount: 1e13 }),
      v('amount 2**53', { ...base, amount: 2 ** 53 }),
      v('count 0', { ...base, count: 0 }),
      v('count 10001', { ...base, amount: 100_000, count: 10_001 }),
      v('count negative', { ...base, count: -1 }),
      v('count fractional', { ...base, count: 1.5 }),
      v('count as a string', { ...base, count: '10' }),
      v('count null', { ...base, count: null }),
      v('count true', { ...base, count: true }),
      v('amount < count', { amount: 5, count: 10, mode: 'random' }),
      v('amount one less than count', { amount: 9_999, count: 10_000, mode: 'random' }),
      v('equal, not divisible', { amount: 1001, count: 10, mode: 'equal' }),
      v('equal, amount < count', { amount: 3, count: 4, mode: 'equal' }),
      v('mode RANDOM (case matters)', { ...base, mode: 'RANDOM' }),
      v('mode unknown', { ...base, mode: 'lucky' }),
      v('mode empty', { ...base, mode: '' }),
      v('mode a number', { ...base, mode: 1 }),
      v('mode null', { ...base, mode: null }),
      v('greeting 65 characters', { ...base, greeting: 'g'.repeat(65) }),
      v('greeting 65 CJK characters', { ...base, greeting: '福'.repeat(65) }),
      v('greeting a number', { ...base, greeting: 8 }),
      v('greeting null', { ...base, greeting: null }),
      v('greeting an array', { ...base, greeting: ['hi'] }),
      v('ttlSeconds 0', { ...base, ttlSeconds: 0 }),
      v('ttlSeconds 86401', { ...base, ttlSeconds: 86_401 }),
      v('ttlSeconds negative', { ...base, ttlSeconds: -5 }),
      v('ttlSeconds fractional', { ...base, ttlSeconds: 1.5 }),
      v('ttlSeconds as a string', { ...base, ttlSeconds: '60' }),
      v('ttlSeconds null', { ...base, ttlSeconds: null }),
      v('unknown field', { ...base, colour: 'red' }),
      v('senderId field (spoofing)', { ...base, senderId: B }),
      v('shares field (choosing the split)', { ...base, shares: [991, 1, 1, 1, 1, 1, 1, 1, 1, 1] }),
      key('no Idempotency-Key', {}),
      key('empty Idempotency-Key', { 'idempotency-key': '' }),
      key('129-character Idempotency-Key', { 'idempotency-key': 'e'.repeat(129) }),
      key('Idempotency-Key with a tab', { 'idempotency-key': 'e\t1' }),
      key('Idempotency-Key with a non-ASCII byte', { 'idempotency-key': '\u00ff' }),
      {
        name: 'key reused with another amount',
        req: { method: 'POST', path, auth: tok.A, json: { amount: 200, count: 10, mode: 'random', greeting: '恭喜发财'.repeat(16), ttlSeconds: 86_400 }, headers: { 'idempotency-key': 'ok-env-1' } },
        status: 409,
        code: 'IDEMPOTENCY.KEY_REUSED',
      },
      {
        name: 'body over 16 KiB',
        req: { method: 'POST', path, auth: tok.A, json: { ...base, greeting: 'x'.repeat(17 * 1024) }, headers: { 'idempotency-key': freshKey() } },
        status: 413,
        code: 'REQUEST.TOO_LARGE',
      },
      {
        name: 'text/plain',
        req: { method: 'POST', path, auth: tok.A, raw: JSON.stringify(base), headers: { 'content-type': 'text/plain', 'idempotency-key': freshKey() } },
        status: 415,
        code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'user without a wallet',
        req: { method: 'POST', path, auth: tok.B, json: { amount: 100, count: 1, mode: 'equal' }, headers: { 'idempotency-key': 'b-send' } },
        status: 422,
        code: 'WALLET.INSUFFICIENT_FUNDS',
      },
      {
        name: 'more than the balance',
        req: { method: 'POST', path, auth: tok.A, json: { amount: 1_000_000, count: 10, mode: 'random' }, headers: { 'idempotency-key': 'a-too-much' } },
        status: 422,
        code: 'WALLET.INSUFFICIENT_FUNDS',
      },
    ]);
    // A refused send stays refused when retried with the same key.
    await runCases([
      {
        name: 'retried refused send',
        req: { method: 'POST', path, auth: tok.B, json: { amount: 100, count: 1, mode: 'equal' }, headers: { 'idempotency-key': 'b-send' } },
        status: 422,
        code: 'WALLET.INSUFFICIENT_FUNDS',
      },
    ]);
  });

  it('grab and details: malformed envelope ids get 400, well-formed unknown ids 404 ENVELOPE.NOT_FOUND; a grab refuses any body', async () => {
    const malformed = ['abc', '0', '-1', '1.5', '1'.repeat(25), '01', '1e3', '0x1F', '%20', '12%2034', '9223372036854775808', '99999999999999999999', `${'1'.repeat(19)}a`];
    const unknown = ['123456789', '1', '9223372036854775807'];
    const cases: Case[] = [];
    for (const id of malformed) {
      cases.push({ name: `grab malformed id ${id}`, req: { method: 'POST', path: `/v1/envelopes/${id}/grab`, auth: tok.B }, status: 400, code: 'VALIDATION.FAILED' });
      cases.push({ name: `details malformed id ${id}`, req: { method: 'GET', path: `/v1/envelopes/${id}`, auth: tok.B }, status: 400, code: 'VALIDATION.FAILED' });
    }
    for (const id of unknown) {
      cases.push({ name: `grab unknown id ${id}`, req: { method: 'POST', path: `/v1/envelopes/${id}/grab`, auth: tok.B }, status: 404, code: 'ENVELOPE.NOT_FOUND' });
      cases.push({ name: `details unknown id ${id}`, req: { method: 'GET', path: `/v1/envelopes/${id}`, auth: tok.B }, status: 404, code: 'ENVELOPE.NOT_FOUND' });
    }
    const grabBody = (name: string, raw: string, contentType: string, status = 400, code = 'VALIDATION.FAILED'): Case => ({
      name,
      req: { method: 'POST', path: `/v1/envelopes/${env1}/grab`, auth: tok.B, raw, headers: { 'content-type': contentType } },
      status,
      code,
    });
    cases.push(
      grabBody('grab with an unknown field', '{"userId":"7001"}', 'application/json'),
      grabBody('grab with an amount', '{"amount":100}', 'application/json'),
      grabBody('grab with an array body', '[]', 'application/json'),
      grabBody('grab with a string body', '"grab"', 'application/json'),
      grabBody('grab with malformed JSON', '{', 'application/json'),
      grabBody('grab with text/plain', 'grab', 'text/plain', 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE'),
      grabBody('grab with a body over 16 KiB', JSON.stringify({ pad: 'x'.repeat(17 * 1024) }), 'application/json', 413, 'REQUEST.TOO_LARGE'),
    );
    await runCases(cases);

    // C already won a share of env1: a second try is 409 with the earlier amount (and nothing else moves).
    const again = await send({ method: 'POST', path: `/v1/envelopes/${env1}/grab`, auth: tok.C });
    expectStatus(again, 409);
    expect(again.body).toEqual({ code: 'ENVELOPE.ALREADY_GRABBED', message: expect.any(String), amount: cGrab, correlationId: expect.any(String) });
  });

  it('transactions query: bad limit, unknown parameters and garbage cursors get 400', async () => {
    const q = (name: string, query: string): Case => ({ name, req: { method: 'GET', path: `/v1/wallet/transactions?${query}`, auth: tok.A }, status: 400, code: 'VALIDATION.FAILED' });
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    await runCases([
      q('limit=0', 'limit=0'),
      q('limit=101', 'limit=101'),
      q('limit=abc', 'limit=abc'),
      q('limit=-1', 'limit=-1'),
      q('limit=1.5', 'limit=1.5'),
      q('limit empty', 'limit='),
      q('limit=1e2', 'limit=1e2'),
      q('limit=99999999999', 'limit=99999999999'),
      q('limit twice', 'limit=1&limit=2'),
      q('unknown parameter', 'foo=bar'),
      q('unknown parameter beside a good one', 'limit=10&userId=7002'),
      q('garbage cursor', 'cursor=garbage'),
      q('cursor of punctuation', 'cursor=%21%21%21%21'),
      q('cursor empty', 'cursor='),
      q('cursor too long', `cursor=${'A'.repeat(201)}`),
      q('cursor that decodes to the wrong shape', `cursor=${b64('x123')}`),
      q('cursor with a negative position', `cursor=${b64('s-5')}`),
      q('cursor with 17 digits', `cursor=${b64('s12345678901234567')}`),
      q('cursor twice', `cursor=${b64('s1')}&cursor=${b64('s2')}`),
    ]);
    // The bounds themselves are fine.
    for (const limit of [1, 100]) {
      const r = await send({ method: 'GET', path: `/v1/wallet/transactions?limit=${limit}`, auth: tok.A });
      expectStatus(r, 200);
      expect(r.body.items).toHaveLength(Math.min(limit, expectedTx[A].length));
    }
  });

  it('no money moved: every balance and history is exactly what the control calls made, and the audit is clean', async () => {
    const audit = await sys.settledAudit(60_000);
    expectCleanAudit(audit);

    for (const [user, auth] of [
      [A, tok.A],
      [B, tok.B],
      [C, tok.C],
      [D, tok.D],
    ] as const) {
      const want = expectedTx[user];
      const w = await send({ method: 'GET', path: '/v1/wallet', auth });
      expectStatus(w, 200);
      expect(w.body).toEqual({ userId: user, balance: want.reduce((s, t) => s + t.amount, 0), currency: expect.any(String) });
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const page: Res = await send({ method: 'GET', path: `/v1/wallet/transactions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, auth });
        expectStatus(page, 200);
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      const norm = (t: { kind: string; amount: number; envelopeId?: string }) => `${t.kind} ${t.amount} ${t.envelopeId ?? '-'}`;
      expect(items.map(norm).sort()).toEqual(want.map(norm).sort());
      expect(new Set(items.map((t) => t.id)).size).toBe(items.length);
    }

    const d1 = await send({ method: 'GET', path: `/v1/envelopes/${env1}`, auth: tok.B });
    expectStatus(d1, 200);
    expect(d1.body).toMatchObject({ envelopeId: env1, senderId: A, amount: 100, count: 10, mode: 'random', status: 'active', remainingCount: 9, remainingAmount: 100 - cGrab, refundedAmount: 0 });
    expect(d1.body.grabs).toEqual([{ userId: C, amount: cGrab, grabbedAt: expect.any(String) }]);
    const d2 = await send({ method: 'GET', path: `/v1/envelopes/${env2}`, auth: tok.B });
    expectStatus(d2, 200);
    expect(d2.body).toMatchObject({ envelopeId: env2, senderId: A, amount: 10_000, count: 10_000, mode: 'equal', status: 'active', remainingCount: 10_000, remainingAmount: 10_000, grabs: [] });

    // Every response in this file had a documented status; not one 5xx.
    expect([...statuses.keys()].sort((a, b) => a - b)).toEqual([200, 201, 400, 401, 403, 404, 409, 413, 415, 422]);
  });
});
