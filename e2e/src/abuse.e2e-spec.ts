import fc from 'fast-check';
import { ErrorCode, HTTP_STATUS_BY_CODE } from '@hongbao/contracts';
import { signToken, TestSystem, unsignedToken } from '@hongbao/testing';
import { expectCleanAudit } from './support/expect-status';
import { RawRequest, RawResponse, rawHttp } from './support/raw-http';

/**
 * Abuse tests (DESIGN §2): property-based fuzzing of every public route's body, query, path and
 * headers with fast-check, then replayed and reused Idempotency-Keys, oversized bodies with
 * lying or absent lengths, and wrong content types. Invariants, for every response:
 *  - never a 5xx, except 503 with OVERLOADED, DEGRADED or DEPENDENCY.* (documented shedding);
 *  - every 4xx/5xx is a JSON `{code, message, correlationId}` whose documented code maps to
 *    exactly that status (429 RATE_LIMITED included: rate limits are documented);
 *  - a money-moving call succeeds only when it was valid, and an oracle of what each user's
 *    successful calls did (topups, sends, grabs, replays) predicts every idempotent answer;
 * and at the end every balance and history is exactly what the oracle says, and the audit is clean.
 *
 * Replay a failure with FUZZ_SEED=<seed> (printed by fast-check with the path); FUZZ_RUNS scales
 * the number of runs per property.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261127);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const fcParams = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

const USERS = ['8101', '8102', '8103', '8104'] as const;
type User = (typeof USERS)[number];
const FUNDING = 500_000_000; // each user's first top-up, so most near-valid sends can be paid
const MAX_AMOUNT = 1_000_000_000_000;
const DEFAULT_TTL = 86_400;
const LIMIT = 16 * 1024;

const DOCUMENTED = new Set<string>(Object.values(ErrorCode).filter((c) => c !== ErrorCode.Internal));
const SHEDDING = new Set<string>([ErrorCode.Overloaded, ErrorCode.Degraded, ErrorCode.DependencyUnavailable, ErrorCode.DependencyTimeout]);


// ---- the request under test ----

interface Attempt {
  method: string;
  path: string;
  headers: [string, string | Buffer][];
  body?: string | Buffer;
  /** set when we deliberately sent bytes that are not valid HTTP/1.1 */
  protocolInvalid?: boolean;
  /** set when the path has a malformed percent-escape */
  badUrl?: boolean;
}

/** a byte Node's HTTP parser refuses in a header value (a control character other than tab) */
const hasControl = (v: string) => [...v].some((ch) => (ch.charCodeAt(0) < 0x20 && ch !== '\t') || ch.charCodeAt(0) === 0x7f);
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Everything wrong with a response to any request (empty: fine). */
function problemsOf(a: Attempt, res: RawResponse): string[] {
  const p: string[] = [];
  const b = res.body;
  if (res.status >= 500 && !(res.status === 503 && SHEDDING.has(b?.code))) p.push(`5xx that is not documented shedding: ${res.status} ${res.text.slice(0, 200)}`);
  if (res.status >= 400) {
    if (a.method === 'HEAD') return p; // no body by definition
    if (typeof b !== 'object' || b === null) return [...p, `${res.status} with a body that is not a JSON object: ${JSON.stringify(res.text.slice(0, 200))}`];
    if (!DOCUMENTED.has(b.code)) p.push(`${res.status} with an undocumented code: ${res.text.slice(0, 200)}`);
    else if (HTTP_STATUS_BY_CODE[b.code as ErrorCode] !== res.status) p.push(`${b.code} came with ${res.status}, documented ${HTTP_STATUS_BY_CODE[b.code as ErrorCode]}`);
    if (typeof b.message !== 'string' || !b.message) p.push('error without a message');
    if (typeof b.correlationId !== 'string' || !b.correlationId) p.push('error without a correlationId');
    if (!/^application\/json/.test(res.headers['content-type'] ?? '')) p.push(`error content-type ${res.headers['content-type']}`);
  }
  return p;
}

/** Documented "not now" answers that may replace any other outcome: nothing happened. */
const isBackoff = (res: RawResponse) => (res.status === 429 && res.body?.code === ErrorCode.RateLimited) || (res.status === 503 && SHEDDING.has(res.body?.code));

// ---- the oracle: what each user's accepted calls did ----

interface Sent {
  envelopeId: string;
  sender: User;
  amount: number;
}
const perUser = <T>(make: () => T) => Object.fromEntries(USERS.map((u) => [u, make()])) as Record<User, T>;
class Books {
  readonly topups = perUser((): number[] => []);
  readonly sends = perUser((): Sent[] => []);
  readonly grabs = perUser(() => new Map<string, number>());
  /** route|user|key -> the request fingerprint the service stored and its first answer */
  readonly keys = new Map<string, { fp: string; status: number; body: RawResponse['body'] }>();
  readonly envelopes = new Map<string, Sent>();
}

/** The Idempotency-Key as the gateway sees it (Node trims surrounding blanks), or undefined if it is not a valid one. */
function serverKey(raw: string | Buffer | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const s = (typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw).toString('latin1').replace(/^[ \t]+|[ \t]+$/g, '');
  return /^[\x21-\x7E]{1,128}$/.test(s) ? s : undefined;
}

/** The JSON the gateway parsed (it strips a BOM; JSON.parse does the rest the same way). */
function parsedBody(body: string | Buffer | undefined): Record<string, unknown> {
  const text = (typeof body === 'string' ? body : (body ?? Buffer.alloc(0)).toString('utf8')).replace(/^\uFEFF/, '');
  return JSON.parse(text);
}

// ---- arbitraries ----

/** Values that break a field: wrong types, bounds, floats, huge and very long strings, unicode, nesting. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(0, -0, -1, 1, 0.5, 1.5, 0.01, -1000, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, MAX_AMOUNT, MAX_AMOUNT + 1, 1e13, 1e21, 10_000, 10_001, 86_400, 86_401, '', '1', '100', ' 100', '1e3', 'random', 'equal', 'RANDOM', true, false, null, [], {}, [1], { amount: 1 }),
  fc.integer(),
  fc.integer({ min: 1, max: 100_000 }),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 60, maxLength: 2_000 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Number literals as raw JSON text, including ones JSON.parse rounds (beyond MAX_SAFE_INTEGER) or refuses. */
const rawNumber = fc.oneof(
  fc.constantFrom('9007199254740993', '9007199254740992', '18446744073709551616', '123456789012345678901234567890', '1e400', '-1e400', '1e-400', '-0', '0.0', '1.0', '100.000', '1E2', '1e2', '1000.0000000000001', '0x10', '01', '+1', '.5', '1.', 'Infinity', 'NaN', '1_000', '1 000', '"100"'),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d)),
);

const jsonText = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)) ?? 'null';

/** A body for a route whose valid shape is `base`: random JSON, one field mutated, raw text, duplicates, oversized. */
function bodyArb(base: Record<string, unknown>, fields: string[]): fc.Arbitrary<string> {
  const field = fc.constantFrom(...fields, 'extra', 'userId', '__proto__', 'constructor', '', '福');
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(jsonText(base)) },
    { weight: 6, arbitrary: fc.tuple(field, weird).map(([k, v]) => jsonText({ ...base, [k]: v })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...fields), weird, fc.constantFrom(...fields), weird).map(([k1, v1, k2, v2]) => jsonText({ ...base, [k1]: v1, [k2]: v2 })) },
    { weight: 2, arbitrary: fc.constantFrom(...fields).map((k) => jsonText(Object.fromEntries(Object.entries(base).filter(([x]) => x !== k)))) },
    {
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...fields), rawNumber).map(([k, n]) => {
        const others = Object.entries(base).filter(([x]) => x !== k).map(([x, v]) => `${JSON.stringify(x)}:${JSON.stringify(v)}`);
        return `{${[...others, `${JSON.stringify(k)}:${n}`].join(',')}}`;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...fields), weird).map(([k, v]) => `${jsonText(base).slice(0, -1)},${JSON.stringify(k)}:${jsonText(v)}}`) }, // duplicate key: the last wins
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(jsonText) },
    { weight: 1, arbitrary: fc.object({ maxDepth: 2 }).map(jsonText) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '{', '}', '[]', 'null', '0', '""', '{"a":', '\uFEFF{}', '{}{}', '{"amount":1}garbage', '\u0000') },
    { weight: 1, arbitrary: fc.integer({ min: LIMIT - 40, max: LIMIT + 200 }).map((n) => jsonText({ ...base, pad: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((d) => '['.repeat(d * 100) + ']'.repeat(d * 100)) },
  );
}

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json-patch+json', '', ';;;', '*/*'];
const contentTypeArb = fc.oneof({ weight: 8, arbitrary: fc.constant<string | undefined>('application/json') }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom<string | undefined>(...CONTENT_TYPES) });

type KeyGen = { kind: 'fresh' } | { kind: 'literal'; value: string } | { kind: 'absent' };
const keyArb: fc.Arbitrary<KeyGen> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<KeyGen>({ kind: 'fresh' }) },
  { weight: 3, arbitrary: fc.constantFrom('dup-a', 'dup-b', 'dup-c', ' dup-a', 'dup-a\t').map<KeyGen>((value) => ({ kind: 'literal', value })) },
  { weight: 1, arbitrary: fc.constant<KeyGen>({ kind: 'absent' }) },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.constantFrom('', ' ', '\t', 'k'.repeat(128), 'k'.repeat(129), 'a b', '福', 'ключ', '🧧', 'k\u00e9y', 'a\x01b', '\x7f', 'a\x00b', 'x\x1b[31m'),
        fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 }), // printable: collisions are likely
        fc.string({ minLength: 129, maxLength: 2_000 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }),
      )
      .map<KeyGen>((value) => ({ kind: 'literal', value: value.replace(/[\r\n]/g, '') })),
  },
);

type AuthGen = { kind: 'user'; user: User } | { kind: 'bad'; index: number } | { kind: 'literal'; value: string } | { kind: 'none' };
const userArb = fc.constantFrom(...USERS);

// ---- the spec ----

describe(`abuse: fuzzed body, query, path and headers on every route (fast-check seed ${SEED}, ${RUNS} runs each), idempotency, sizes, content types`, () => {
  let sys: TestSystem;
  const books = new Books();
  const statuses = new Map<number, number>();
  const tok = {} as Record<User | 'admin', string>;
  let badTokens: string[] = [];
  let keySeq = 0;
  let sent = 0;
  const envs = { big: '', single: '', expired: '' };

  const authArb = (okWeight = 8): fc.Arbitrary<AuthGen> =>
    fc.oneof(
      { weight: okWeight, arbitrary: userArb.map<AuthGen>((user) => ({ kind: 'user', user })) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 1_000 }).map<AuthGen>((index) => ({ kind: 'bad', index })) },
      { weight: 1, arbitrary: fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' }), fc.string().map((s) => `Bearer ${s}`)).map<AuthGen>((value) => ({ kind: 'literal', value: value.replace(/[\r\n]/g, '') })) },
      { weight: 1, arbitrary: fc.constant<AuthGen>({ kind: 'none' }) },
    );

  function authHeader(a: AuthGen): { header?: string; user?: User } {
    switch (a.kind) {
      case 'user':
        return { header: tok[a.user], user: a.user };
      case 'bad':
        return { header: badTokens[a.index % badTokens.length] };
      case 'literal':
        return { header: a.value };
      case 'none':
        return {};
    }
  }

  async function send(a: Attempt): Promise<RawResponse> {
    const res = await rawHttp(sys.baseUrl, { method: a.method, path: a.path, headers: a.headers, ...(a.body !== undefined ? { body: a.body } : {}) } as RawRequest);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    sent++;
    return res;
  }

  /** Headers for a request, flagging bytes that are not valid HTTP. */
  function build(method: string, path: string, opts: { auth?: string; key?: string; contentType?: string; body?: string | Buffer; extra?: [string, string][] }): Attempt {
    const headers: [string, string | Buffer][] = [];
    let protocolInvalid = /[^\x21-\x7e]/.test(path);
    const add = (n: string, v: string) => {
      headers.push([n, v]);
      if (hasControl(v)) protocolInvalid = true;
    };
    if (opts.auth !== undefined) add('authorization', opts.auth);
    if (opts.key !== undefined) add('idempotency-key', opts.key);
    if (opts.contentType !== undefined) add('content-type', opts.contentType);
    for (const [n, v] of opts.extra ?? []) add(n, v);
    if (opts.body !== undefined) headers.push(['content-length', String(Buffer.byteLength(opts.body))]);
    return { method, path, headers, ...(opts.body !== undefined ? { body: opts.body } : {}), protocolInvalid, badUrl: BAD_ESCAPE.test(path) };
  }

  /** A money-moving POST with the oracle's checks; returns the problems. */
  function checkMoneyPost(route: 'topup' | 'send', a: Attempt, user: User | undefined, key: string | undefined, res: RawResponse): string[] {
    const p = problemsOf(a, res);
    if (p.length || isBackoff(res)) return p;
    const ok = route === 'topup' ? 201 : 201;
    if (res.status === ok || res.status === 409 || res.status === 422) {
      if (!user) return [`${res.status} without a valid token`];
      if (!key) return [`${res.status} without a valid Idempotency-Key`];
    }
    if (res.status === 401 && user && !a.protocolInvalid) return [`401 with a valid token: ${res.text}`];
    if (res.status === 201 && !a.headers.some(([n, v]) => n === 'content-type' && /^application\/json/i.test(String(v)))) return [`201 without a JSON content type`];
    if (res.status !== 201 && res.status !== 409 && res.status !== 422) return p;
    // The body was accepted as valid: its fingerprint is what the service stores with the key.
    let body: Record<string, unknown>;
    try {
      body = parsedBody(a.body);
    } catch {
      return [`${res.status} for a body that is not JSON: ${String(a.body).slice(0, 100)}`];
    }
    const fp = route === 'topup' ? JSON.stringify([body.amount]) : JSON.stringify([body.amount, body.count, body.mode, body.greeting ?? null, body.ttlSeconds ?? DEFAULT_TTL]);
    const slot = `${route}|${user}|${key}`;
    const first = books.keys.get(slot);
    if (first) {
      if (first.fp !== fp) return res.status === 409 && res.body.code === ErrorCode.IdempotencyKeyReused ? [] : [`key ${slot} reused with another body got ${res.status} ${res.text}`];
      if (res.status !== first.status || (res.status === 201 && JSON.stringify(res.body) !== JSON.stringify(first.body)) || (res.status !== 201 && res.body.code !== first.body.code)) {
        return [`replay of ${slot} got ${res.status} ${res.text}, first answer was ${first.status} ${JSON.stringify(first.body)}`];
      }
      return [];
    }
    if (res.status === 409) return [`409 for a key never used: ${slot} ${res.text}`];
    if (route === 'topup') {
      if (res.status !== 201) return [`top-up answered ${res.status} ${res.text}`];
      const amount = body.amount;
      if (!(typeof amount === 'number' && Number.isSafeInteger(amount) && amount >= 1 && amount <= MAX_AMOUNT)) return [`top-up of ${JSON.stringify(amount)} accepted`];
      if (res.body.userId !== user || typeof res.body.transactionId !== 'string' || !Number.isSafeInteger(res.body.balance)) return [`bad top-up answer ${res.text}`];
      books.topups[user as User].push(amount);
    } else {
      if (res.status === 201) {
        const r = res.body;
        if (r.amount !== body.amount || r.count !== body.count || r.mode !== body.mode || !/^[1-9][0-9]{0,18}$/.test(r.envelopeId)) return [`send answer ${res.text} does not match ${String(a.body)}`];
        const s: Sent = { envelopeId: r.envelopeId, sender: user as User, amount: r.amount };
        books.sends[user as User].push(s);
        books.envelopes.set(s.envelopeId, s);
      } else if (res.body.code !== ErrorCode.WalletInsufficientFunds) {
        return [`send answered ${res.status} ${res.text}`];
      }
    }
    books.keys.set(slot, { fp, status: res.status, body: res.body });
    return [];
  }

  beforeAll(async () => {
    // Rate limits and load shedding are documented outcomes: a 429 or 503 is accepted anywhere
    // and moves nothing. The per-user grab limit (5/s) is lifted so the grab fuzz reaches the
    // envelope service instead of mostly testing the limiter (e2e/src/governance covers that).
    sys = new TestSystem({ serviceEnv: { gateway: { RATE_LIMITS: JSON.stringify({ grab: { user: { rate: 100_000, burst: 100_000 } } }) } } });
    await sys.start();
    for (const u of USERS) tok[u] = `Bearer ${await signToken(u)}`;
    tok.admin = `Bearer ${await signToken('1', { admin: true })}`;
    const other = 'another-secret-another-secret-0123456789';
    badTokens = [
      'garbage',
      'Bearer',
      'Bearer ',
      'Bearer garbage',
      'Bearer a.b.c',
      'Bearer ...',
      `Basic ${Buffer.from('8101:pw').toString('base64')}`,
      await signToken('8101'), // no scheme
      `bearer${tok['8101'].slice(6)}x`,
      `Bearer ${unsignedToken('8101')}`,
      `Bearer ${unsignedToken('1')}`,
      `Bearer ${await signToken('8101', { expiresInSeconds: -60 })}`,
      `Bearer ${await signToken('1', { admin: true, expiresInSeconds: -60 })}`,
      `Bearer ${await signToken('8101', { secret: other })}`,
      `Bearer ${await signToken('1', { admin: true, secret: other })}`,
      `Bearer ${await signToken('8101', { omitExp: true })}`,
      `Bearer ${await signToken('8101', { claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } })}`,
      `Bearer ${await signToken('')}`,
      `Bearer ${await signToken('-8101')}`,
      `Bearer ${await signToken('8101 ')}`,
      `Bearer ${await signToken('1'.repeat(21))}`,
      `Bearer ${await signToken('８１０１')}`, // full-width digits
      `Bearer ${(await signToken('8101')).slice(0, -2)}`,
      `Bearer ${'a'.repeat(8_000)}`,
    ];
    // Funding and three envelopes whose state the grab fuzz exercises: one with many shares,
    // one already sold out, one expired.
    for (const u of USERS) {
      const a = build('POST', '/v1/wallet/topups', { auth: tok[u], key: `fund-${u}`, contentType: 'application/json', body: JSON.stringify({ amount: FUNDING }) });
      const res = await send(a);
      expect(checkMoneyPost('topup', a, u, `fund-${u}`, res)).toEqual([]);
      expect(res.status).toBe(201);
    }
    const mk = async (key: string, body: object, who: User = '8104') => {
      const a = build('POST', '/v1/envelopes', { auth: tok[who], key, contentType: 'application/json', body: JSON.stringify(body) });
      const res = await send(a);
      expect(checkMoneyPost('send', a, who, key, res)).toEqual([]);
      expect(res.status).toBe(201);
      return res.body.envelopeId as string;
    };
    envs.big = await mk('env-big', { amount: 100_000, count: 1_000, mode: 'random' });
    envs.single = await mk('env-single', { amount: 50, count: 1, mode: 'equal' });
    envs.expired = await mk('env-expired', { amount: 30, count: 3, mode: 'equal', ttlSeconds: 1 });
    const g = build('POST', `/v1/envelopes/${envs.single}/grab`, { auth: tok['8104'] });
    expect(grabProblems(g, '8104', envs.single, await send(g))).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_500));
  }, 180_000);
  afterAll(async () => {
    const seen = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
    console.log(`abuse: ${sent} requests (seed ${SEED}, ${RUNS} runs per property); statuses ${seen}`);
    await sys?.stop();
  });

  /** Grab oracle: a user wins a share at most once; a second try is 409 with the same amount. */
  function grabProblems(a: Attempt, user: User | undefined, id: string | undefined, res: RawResponse): string[] {
    const p = problemsOf(a, res);
    if (p.length || isBackoff(res)) return p;
    if (res.status === 200 || res.status === 409) {
      if (!user || !id) return [`${res.status} for an invalid grab: ${res.text}`];
      const mine = books.grabs[user];
      if (res.status === 409) {
        return res.body.code === ErrorCode.EnvelopeAlreadyGrabbed && mine.get(id) === res.body.amount ? [] : [`409 ${res.text} but the oracle has ${mine.get(id)}`];
      }
      if (mine.has(id)) return [`a second share of ${id} for ${user}: ${res.text}`];
      if (res.body.envelopeId !== id || !Number.isSafeInteger(res.body.amount) || res.body.amount < 1) return [`bad grab answer ${res.text}`];
      mine.set(id, res.body.amount);
    }
    return [];
  }

  const bodyOrNot = fc.option(fc.tuple(bodyArb({}, ['a']), contentTypeArb), { freq: 4 });

  /** Path ids: ours, unknown, huge, negative, non-digits, unicode raw and encoded, malformed escapes. */
  const idArb = (): fc.Arbitrary<{ segment: string; id?: string }> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(envs.big, envs.single, envs.expired).map((id) => ({ segment: id, id })) },
      { weight: 2, arbitrary: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map((n) => ({ segment: String(n), id: String(n) })) },
      { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 63n, max: 2n ** 200n }).map((n) => ({ segment: String(n) })) },
      { weight: 1, arbitrary: fc.integer({ max: 0 }).map((n) => ({ segment: String(n) })) },
      { weight: 1, arbitrary: fc.constantFrom('0', '01', '1.5', '1e3', '0x1F', '+1', '1_0', '%31', '%2031', '1%00', '%', '%zz', '%2', '%E7%A6%8F', '%252F', '..', '.', '%2e%2e', 'null', 'undefined', '[]', '{}', '9'.repeat(5_000), `${envs.big}%20`, `${envs.big}.json`, `${envs.big};x`).map((segment) => ({ segment })) },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => ({ segment: encodeURIComponent(s) })) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map((s) => ({ segment: encodeURIComponent(s) })) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map((s) => ({ segment: s.replace(/[\s/?#]/g, '') || '福' })) }, // raw bytes in the request line
    );
  const idOf = (seg: { segment: string; id?: string }) => (seg.id && /^[1-9][0-9]{0,18}$/.test(seg.id) && BigInt(seg.id) < 2n ** 63n ? seg.id : undefined);

  /** One money-moving POST per run: fuzzed body, content type, Idempotency-Key and Authorization, checked by the oracle. */
  const fuzzMoneyPost = (route: 'topup' | 'send', path: string, base: Record<string, unknown>, fields: string[]) =>
    fc.assert(
      fc.asyncProperty(fc.record({ auth: authArb(), key: keyArb, body: bodyArb(base, fields), contentType: contentTypeArb }), async (g) => {
        const { header, user } = authHeader(g.auth);
        const rawKey = g.key.kind === 'fresh' ? `fz-${++keySeq}` : g.key.kind === 'literal' ? g.key.value : undefined;
        const a = build('POST', path, { auth: header, key: rawKey, contentType: g.contentType, body: g.body });
        expect(checkMoneyPost(route, a, user, serverKey(rawKey), await send(a))).toEqual([]);
      }),
      fcParams,
    );

  it('fuzz POST /v1/wallet/topups: body, content type, Idempotency-Key and Authorization', () => fuzzMoneyPost('topup', '/v1/wallet/topups', { amount: 100 }, ['amount']));

  it('fuzz POST /v1/envelopes: body, content type, Idempotency-Key and Authorization', () =>
    fuzzMoneyPost('send', '/v1/envelopes', { amount: 1000, count: 10, mode: 'random' }, ['amount', 'count', 'mode', 'greeting', 'ttlSeconds']));

  it('fuzz POST /v1/envelopes/:id/grab and GET /v1/envelopes/:id: path ids, bodies, Authorization', async () => {
    const arb = fc.record({ auth: authArb(), id: idArb(), body: bodyOrNot, details: fc.boolean(), suffix: fc.constantFrom('', '', '', '/', '?', '?x=1', '#f') });
    await fc.assert(
      fc.asyncProperty(arb, async (g) => {
        const { header, user } = authHeader(g.auth);
        const id = idOf(g.id);
        if (g.details) {
          const a = build('GET', `/v1/envelopes/${g.id.segment}${g.suffix}`, { auth: header });
          const res = await send(a);
          const p = problemsOf(a, res);
          if (res.status === 200 && (!user || !id || res.body.envelopeId !== id)) p.push(`details 200 for ${a.path} as ${user}: ${res.text.slice(0, 200)}`);
          expect(p).toEqual([]);
        } else {
          const [body, contentType] = g.body ?? [undefined, undefined];
          const a = build('POST', `/v1/envelopes/${g.id.segment}/grab${g.suffix}`, { auth: header, body, contentType });
          const res = await send(a);
          // a suffix after /grab other than a query or fragment makes it another route
          const target = g.suffix === '/' ? undefined : id;
          expect(grabProblems(a, user, target, res)).toEqual([]);
        }
      }),
      fcParams,
    );
  });

  it('fuzz GET /v1/wallet/transactions: limit, cursor, unknown and repeated parameters', async () => {
    // A real cursor to mutate.
    const first = await send(build('GET', '/v1/wallet/transactions?limit=1', { auth: tok['8101'] }));
    expect(first.status).toBe(200);
    const realCursor: string = first.body.nextCursor ?? 'czE';
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    const value = fc.oneof(
      fc.constantFrom('1', '20', '100', '0', '101', '-1', '1.5', '1e2', '', ' 1', '0x10', '99999999999', realCursor, `${realCursor}=`, `${realCursor}A`, realCursor.slice(1), b64('s-1'), b64('s0'), b64('s9007199254740993'), b64('s1e3'), b64('x1'), b64(''), 'A'.repeat(201)),
      fc.integer({ min: -200, max: 300 }).map(String),
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
      fc.string({ maxLength: 300 }).map(b64),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => b64(`s${n}`)),
    );
    const name = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('limit', 'cursor') }, { weight: 1, arbitrary: fc.constantFrom('limit[]', 'limit[a]', '__proto__', 'constructor', 'userId', 'LIMIT', '', 'limit ') }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });
    const param = fc.tuple(name, value, fc.constantFrom('encoded', 'encoded', 'raw', 'no-value'));
    const arb = fc.record({ auth: authArb(), params: fc.array(param, { maxLength: 4 }) });
    await fc.assert(
      fc.asyncProperty(arb, async (g) => {
        const { header, user } = authHeader(g.auth);
        const qs = g.params.map(([n, v, how]) => (how === 'no-value' ? encodeURIComponent(n) : how === 'raw' ? `${n}=${v}`.replace(/[\s#]/g, '') : `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)).join('&');
        const a = build('GET', `/v1/wallet/transactions${qs ? `?${qs}` : ''}`, { auth: header });
        const res = await send(a);
        const p = problemsOf(a, res);
        if (res.status === 200) {
          if (!user) p.push(`200 without a valid token`);
          if (!Array.isArray(res.body?.items) || res.body.items.length > 100 || !('nextCursor' in res.body)) p.push(`bad page ${res.text.slice(0, 200)}`);
        }
        expect(p).toEqual([]);
      }),
      fcParams,
    );
  });

  it('fuzz GET /v1/wallet and GET /v1/admin/audit: Authorization and stray headers', async () => {
    const arb = fc.record({
      route: fc.constantFrom('/v1/wallet', '/v1/admin/audit'),
      auth: fc.oneof({ weight: 1, arbitrary: fc.constant<AuthGen | 'admin'>('admin') }, { weight: 6, arbitrary: authArb(3) as fc.Arbitrary<AuthGen | 'admin'> }),
      extra: fc.array(fc.tuple(fc.constantFrom('x-correlation-id', 'x-forwarded-for', 'x-user-id', 'content-type', 'accept', 'x-http-method-override'), fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }))), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (g) => {
        const { header, user } = g.auth === 'admin' ? { header: tok.admin, user: '1' } : authHeader(g.auth);
        const extra = g.extra.map(([n, v]) => [n, v.replace(/[\r\n]/g, '')] as [string, string]);
        const a = build('GET', g.route, { auth: header, extra });
        const res = await send(a);
        const p = problemsOf(a, res);
        if (g.route === '/v1/admin/audit' && res.status === 200 && g.auth !== 'admin') p.push(`audit 200 for a non-admin: ${header?.slice(0, 40)}`);
        if (g.route === '/v1/wallet' && res.status === 200 && (!user || res.body.userId !== user)) p.push(`wallet 200 for ${header?.slice(0, 40)}: ${res.text}`);
        expect(p).toEqual([]);
      }),
      { ...fcParams, numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('fuzz unknown routes and methods: 404 ROUTE.NOT_FOUND (or an ordinary answer on a real route), never a 2xx that writes', async () => {
    const segment = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('v1', 'v1', 'wallet', 'envelopes', 'admin', 'audit', 'topups', 'grab', 'transactions', 'health', 'metrics', 'v2', '..', '.', '', '1', '%2F', '%') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
    );
    const arb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'SEARCH'),
      segments: fc.array(segment, { minLength: 0, maxLength: 5 }),
      auth: authArb(4),
      body: fc.option(fc.constantFrom('{}', '{"amount":100}', '{"amount":100,"count":1,"mode":"equal"}'), { freq: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (g) => {
        const { header } = authHeader(g.auth);
        const path = `/${g.segments.join('/')}`;
        // Real writes would be fuzzed above; here a fresh key keeps a hit on a real POST route from
        // being a replay, and its 201 (if any) is a violation of "unknown route" only if the route is unknown.
        const a = build(g.method, path, { auth: header, body: g.body ?? undefined, contentType: g.body ? 'application/json' : undefined });
        const res = await send(a);
        const p = problemsOf(a, res);
        if (res.status >= 200 && res.status < 300 && !['GET', 'HEAD'].includes(g.method)) p.push(`${g.method} ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
        expect(p).toEqual([]);
      }),
      fcParams,
    );
  });

  it('the same Idempotency-Key with the same body, 20 at once: one top-up and one send, every answer the first', async () => {
    const u: User = '8102';
    const topups = await Promise.all(
      Array.from({ length: 20 }, () => {
        const a = build('POST', '/v1/wallet/topups', { auth: tok[u], key: 'par-topup', contentType: 'application/json', body: '{"amount":321}' });
        return send(a).then((res) => ({ a, res }));
      }),
    );
    // The oracle checks every answer against the first one it records (and records money once).
    const firstT = topups.find((t) => t.res.status === 201);
    if (!firstT) throw new Error(`no top-up succeeded: ${topups.map((t) => t.res.status).join(',')}`);
    expect(checkMoneyPost('topup', firstT.a, u, 'par-topup', firstT.res)).toEqual([]);
    for (const t of topups) expect(checkMoneyPost('topup', t.a, u, 'par-topup', t.res)).toEqual([]);
    // every answer is the first one (a 429/503 shed under load would have moved nothing)
    expect(topups.filter((t) => t.res.status !== 201 && !isBackoff(t.res))).toEqual([]);
    expect(new Set(topups.filter((t) => t.res.status === 201).map((t) => t.res.body.transactionId)).size).toBe(1);

    const body = JSON.stringify({ amount: 600, count: 6, mode: 'equal', greeting: '同一个' });
    const sends = await Promise.all(
      Array.from({ length: 20 }, () => {
        const a = build('POST', '/v1/envelopes', { auth: tok[u], key: 'par-send', contentType: 'application/json', body });
        return send(a).then((res) => ({ a, res }));
      }),
    );
    const firstS = sends.find((t) => t.res.status === 201);
    if (!firstS) throw new Error(`no send succeeded: ${sends.map((t) => t.res.status).join(',')}`);
    expect(checkMoneyPost('send', firstS.a, u, 'par-send', firstS.res)).toEqual([]);
    for (const t of sends) expect(checkMoneyPost('send', t.a, u, 'par-send', t.res)).toEqual([]);
    expect(sends.filter((t) => t.res.status !== 201 && !isBackoff(t.res))).toEqual([]);
    expect(new Set(sends.filter((t) => t.res.status === 201).map((t) => t.res.body.envelopeId)).size).toBe(1);
    // The envelope exists once, with all six shares.
    const d = await send(build('GET', `/v1/envelopes/${firstS.res.body.envelopeId}`, { auth: tok['8101'] }));
    expect(d.body).toMatchObject({ senderId: u, amount: 600, count: 6, remainingCount: 6, remainingAmount: 600 });
  });

  it('one new Idempotency-Key with 10 different bodies, 20 at once: exactly one body wins, the others get 409 IDEMPOTENCY.KEY_REUSED', async () => {
    const u: User = '8103';
    for (const route of ['topup', 'send'] as const) {
      const key = `race-${route}`;
      const bodies = Array.from({ length: 20 }, (_, i) =>
        route === 'topup' ? JSON.stringify({ amount: 1_000 + (i % 10) }) : JSON.stringify({ amount: 100 + (i % 10), count: 1, mode: 'equal' }),
      );
      const results = await Promise.all(
        bodies.map((body) => {
          const a = build('POST', route === 'topup' ? '/v1/wallet/topups' : '/v1/envelopes', { auth: tok[u], key, contentType: 'application/json', body });
          return send(a).then((res) => ({ a, res, body }));
        }),
      );
      const won = results.filter((r) => r.res.status === 201);
      expect(won.length).toBeGreaterThanOrEqual(1);
      expect(new Set(won.map((r) => r.body)).size).toBe(1); // one body only
      expect(checkMoneyPost(route, won[0].a, u, key, won[0].res)).toEqual([]);
      for (const r of results) {
        expect(problemsOf(r.a, r.res)).toEqual([]);
        expect(checkMoneyPost(route, r.a, u, key, r.res)).toEqual([]);
      }
      expect(results.filter((r) => r.res.status === 409).length + results.filter((r) => isBackoff(r.res)).length).toBe(20 - won.length);
    }
  });

  it('Idempotency-Keys are per user: another user\'s same key (same or other body) is independent, and the first user\'s replay still answers first', async () => {
    for (const route of ['topup', 'send'] as const) {
      const path = route === 'topup' ? '/v1/wallet/topups' : '/v1/envelopes';
      const body = (n: number) => (route === 'topup' ? JSON.stringify({ amount: n }) : JSON.stringify({ amount: n, count: 2, mode: 'random' }));
      const steps: [User, number][] = [
        ['8101', 40],
        ['8102', 40], // same key, same body, another user: a new operation
        ['8103', 77], // same key, another body, another user: a new operation, not 409
        ['8101', 40], // replay: the first answer
        ['8101', 41], // another body for 8101: 409
        ['8102', 77], // another body for 8102: 409
      ];
      const answers: RawResponse[] = [];
      for (const [u, n] of steps) {
        const a = build('POST', path, { auth: tok[u], key: `shared-${route}`, contentType: 'application/json', body: body(n) });
        const res = await send(a);
        expect(checkMoneyPost(route, a, u, `shared-${route}`, res)).toEqual([]);
        answers.push(res);
      }
      expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 409, 409]);
      expect(answers[3].body).toEqual(answers[0].body);
      expect(answers[1].body).not.toEqual(answers[0].body);
    }
  });

  it('bodies over 16 KiB get 413 REQUEST.TOO_LARGE: with a lying content-length, chunked without one, and across chunks; a short lying length is refused too', async () => {
    const u: User = '8104';
    const big = JSON.stringify({ amount: 100, pad: 'x'.repeat(LIMIT) });
    const cases: { name: string; req: RawRequest; want: number[]; trailingGarbage?: boolean }[] = [];
    for (const path of ['/v1/wallet/topups', '/v1/envelopes', `/v1/envelopes/${envs.big}/grab`]) {
      const h = (): [string, string][] => [
        ['authorization', tok[u]],
        ['content-type', 'application/json'],
        ['idempotency-key', `big-${++keySeq}`],
      ];
      cases.push(
        { name: `${path}: content-length claims 1 MiB, small body`, req: { method: 'POST', path, headers: [...h(), ['content-length', String(1 << 20)]], body: '{"amount":1}' }, want: [413] },
        { name: `${path}: content-length claims 16 KiB + 1`, req: { method: 'POST', path, headers: [...h(), ['content-length', String(LIMIT + 1)]], body: big.slice(0, LIMIT + 1) }, want: [413] },
        { name: `${path}: chunked, 20 KiB in one chunk`, req: { method: 'POST', path, headers: h(), chunks: [big] }, want: [413] },
        { name: `${path}: chunked, 20 KiB in 1 KiB chunks`, req: { method: 'POST', path, headers: h(), chunks: Array.from({ length: Math.ceil(big.length / 1024) }, (_, i) => big.slice(i * 1024, (i + 1) * 1024)) }, want: [413] },
        { name: `${path}: chunked, 16 KiB + 1 byte`, req: { method: 'POST', path, headers: h(), chunks: [`{"amount":1,"p":"${'x'.repeat(LIMIT - 18)}"}`] }, want: [413] },
        // content-length under the limit but a huge body: the server reads the declared bytes
        // (not JSON here) and refuses them; the rest is not a request of ours.
        { name: `${path}: content-length 20, 20 KiB sent`, req: { method: 'POST', path, headers: [...h(), ['content-length', '20']], body: `${' '.repeat(10)}xxxxxxxxxx${big}` }, want: [400], trailingGarbage: true },
      );
    }
    expect(`{"amount":1,"p":"${'x'.repeat(LIMIT - 18)}"}`.length).toBe(LIMIT + 1);
    const bad: string[] = [];
    for (const c of cases) {
      const res = await rawHttp(sys.baseUrl, c.req);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      // The bytes after a short content-length are parsed as a next request, which is not HTTP.
      const p = problemsOf({ method: 'POST', path: c.req.path, headers: c.req.headers ?? [], protocolInvalid: c.trailingGarbage }, res);
      if (!c.want.includes(res.status) && !isBackoff(res)) p.push(`got ${res.status} ${res.text.slice(0, 150)}, expected ${c.want.join('/')}`);
      if (res.status === 413 && res.body?.code !== ErrorCode.BodyTooLarge) p.push(`413 with ${res.text}`);
      if (res.status === 400 && res.body?.code !== ErrorCode.ValidationFailed && !c.trailingGarbage) p.push(`400 with ${res.text}`);
      bad.push(...p.map((x) => `${c.name}: ${x}`));
    }
    expect(bad).toEqual([]);
    // A chunked body under the limit is an ordinary request.
    const a = build('POST', '/v1/wallet/topups', { auth: tok[u], key: 'chunked-ok', contentType: 'application/json' });
    const res = await rawHttp(sys.baseUrl, { method: a.method, path: a.path, headers: a.headers, chunks: ['{"amo', 'unt":', '9}'] });
    expect(checkMoneyPost('topup', { ...a, body: '{"amount":9}' }, u, 'chunked-ok', res)).toEqual([]);
    expect(res.status).toBe(201);
  });

  it('wrong content types get 415 REQUEST.UNSUPPORTED_MEDIA_TYPE (or 400), on both money-moving POSTs and the grab', async () => {
    const u: User = '8104';
    const bodies = { '/v1/wallet/topups': '{"amount":100}', '/v1/envelopes': '{"amount":100,"count":1,"mode":"equal"}', [`/v1/envelopes/${envs.big}/grab`]: '{}' };
    const types: [string, string | undefined, (b: string) => string][] = [
      ['text/plain', 'text/plain', (b) => b],
      ['text/plain; charset=utf-8', 'text/plain; charset=utf-8', (b) => b],
      ['form-urlencoded', 'application/x-www-form-urlencoded', () => 'amount=100&count=1&mode=equal'],
      ['multipart', 'multipart/form-data; boundary=XyZ', () => '--XyZ\r\nContent-Disposition: form-data; name="amount"\r\n\r\n100\r\n--XyZ--\r\n'],
      ['missing content-type with a body', undefined, (b) => b],
      ['text/json', 'text/json', (b) => b],
      ['application/javascript', 'application/javascript', (b) => b],
      ['application/octet-stream', 'application/octet-stream', (b) => b],
      ['a JSON-looking suffix', 'application/problem+json', (b) => b],
      ['a quoted media type', '"application/json"', (b) => b],
    ];
    const bad: string[] = [];
    for (const [path, body] of Object.entries(bodies)) {
      for (const [name, ct, make] of types) {
        const a = build('POST', path, { auth: tok[u], key: `ct-${++keySeq}`, contentType: ct, body: make(body) });
        const res = await send(a);
        const p = problemsOf(a, res);
        if (![400, 415].includes(res.status) && !isBackoff(res)) p.push(`got ${res.status} ${res.text.slice(0, 150)}`);
        bad.push(...p.map((x) => `${path} ${name}: ${x}`));
      }
    }
    expect(bad).toEqual([]);
  });

  it('JSON with a BOM is tolerated (RFC 8259 §8.1); a declared non-UTF-8 charset gets 415 and moves no money', async () => {
    const u: User = '8104';
    const cases: [string, string, string][] = [
      ['bom', 'application/json', '\uFEFF{"amount":11}'],
      ['latin1', 'application/json; charset=latin1', '{"amount":12}'],
      ['iso-8859-1', 'application/json; charset=ISO-8859-1', '{"amount":13}'],
      ['utf-16', 'application/json; charset=utf-16', '{"amount":14}'],
    ];
    const outcome: Record<string, number> = {};
    for (const [name, ct, body] of cases) {
      const a = build('POST', '/v1/wallet/topups', { auth: tok[u], key: `charset-${name}`, contentType: ct, body });
      const res = await send(a);
      expect(checkMoneyPost('topup', a, u, `charset-${name}`, res)).toEqual([]);
      expect(res.status).toBe(name === 'bom' ? 201 : 415);
      outcome[name] = res.status;
    }
    // A greeting in latin-1 bytes under a latin-1 label: refused before it is read.
    const latin = Buffer.concat([Buffer.from('{"amount":100,"count":1,"mode":"equal","greeting":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const a = build('POST', '/v1/envelopes', { auth: tok[u], key: 'charset-send', contentType: 'application/json; charset=latin1', body: latin });
    const res = await send(a);
    expect(checkMoneyPost('send', a, u, 'charset-send', res)).toEqual([]);
    expect(res.status).toBe(415);
    outcome['latin1 send'] = res.status;
    console.log(`content types: ${JSON.stringify(outcome)}`);
  });

  it('after all of it: every balance and history is what the accepted calls made, and the audit is clean', async () => {
    // Envelopes whose time ran out are refunded by the expiry job: wait for it, then count refunds.
    const refunds = perUser((): { envelopeId: string; amount: number }[] => []);
    const deadline = Date.now() + 60_000;
    for (const s of books.envelopes.values()) {
      for (;;) {
        const d = await send(build('GET', `/v1/envelopes/${s.envelopeId}`, { auth: tok['8101'] }));
        expect(d.status).toBe(200);
        const due = Date.parse(d.body.expiresAt) <= Date.now();
        if (!due || d.body.status === 'sold_out' || (d.body.status === 'expired' && d.body.remainingCount === 0)) {
          if (d.body.refundedAmount > 0) refunds[s.sender].push({ envelopeId: s.envelopeId, amount: d.body.refundedAmount });
          const grabbed = (d.body.grabs as { userId: User; amount: number }[]).filter((x) => (USERS as readonly string[]).includes(x.userId));
          for (const gr of grabbed) expect(books.grabs[gr.userId].get(s.envelopeId)).toBe(gr.amount);
          break;
        }
        if (Date.now() > deadline) throw new Error(`envelope ${s.envelopeId} is still ${d.body.status} after its expiry`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    expectCleanAudit(await sys.settledAudit(90_000));

    for (const u of USERS) {
      const want = [
        ...books.topups[u].map((amount) => `topup ${amount} -`),
        ...books.sends[u].map((s) => `send ${-s.amount} ${s.envelopeId}`),
        ...[...books.grabs[u]].map(([id, amount]) => `grab ${amount} ${id}`),
        ...refunds[u].map((r) => `refund ${r.amount} ${r.envelopeId}`),
      ];
      const total = want.reduce((s, w) => s + Number(w.split(' ')[1]), 0);
      const w = await send(build('GET', '/v1/wallet', { auth: tok[u] }));
      expect(w.body).toEqual({ userId: u, balance: total, currency: expect.any(String) });
      const items: { kind: string; amount: number; envelopeId?: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: RawResponse = await send(build('GET', `/v1/wallet/transactions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: tok[u] }));
        expect(page.status).toBe(200);
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(items.map((t) => `${t.kind} ${t.amount} ${t.envelopeId ?? '-'}`).sort()).toEqual(want.sort());
    }
    // Nothing outside the documented set, ever.
    const undocumented = [...statuses.keys()].filter((s) => s >= 500 && s !== 503);
    expect(undocumented).toEqual([]);
  });
});
