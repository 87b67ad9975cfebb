#!/usr/bin/env node
// A short flash-sale burst through the edge, for the compose smoke test (deploy/compose/smoke.sh).
// No dependencies: global fetch and node:crypto (HS256 tokens signed with the dev secret).
//
//   node deploy/compose/smoke-burst.mjs            # EDGE_URL=http://127.0.0.1:8080
//
// Steps: top up a sender, send one envelope of SHARES shares, fire GRABS grabs from USERS users
// (each user grabs GRABS/USERS times) with CONCURRENCY in flight, then check the outcome:
//   - every grab answered 200 (won), 409 ENVELOPE.ALREADY_GRABBED or 410 ENVELOPE.SOLD_OUT;
//     no 5xx, no transport error
//   - exactly SHARES winners, no user won twice, the shares sum to the envelope's amount
//   - GET /v1/envelopes/{id} says sold_out with nothing remaining
//   - the sender's balance is the top-up minus the envelope
//   - GET /v1/admin/audit reaches ok with pending == 0 within AUDIT_TIMEOUT_S
// Prints one JSON summary line on stdout; exits 1 on any failed check.
import { createHmac, randomUUID } from 'node:crypto';

const EDGE = (process.env.EDGE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const SECRET = process.env.JWT_SECRET ?? 'dev-only-hongbao-secret-change-me-0123456789abcdef';
const SHARES = int('SHARES', 200);
const USERS = int('USERS', 300);
const GRABS = int('GRABS', 600);
const CONCURRENCY = int('CONCURRENCY', 100);
const AMOUNT = int('AMOUNT', 100 * SHARES); // cents: 1.00 per share on average
const AUDIT_TIMEOUT_S = int('AUDIT_TIMEOUT_S', 120);

function int(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
function token(sub, extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub: String(sub), iat: now, exp: now + 3600, ...extra }));
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

async function call(method, path, { tok, body, headers = {} } = {}) {
  const res = await fetch(`${EDGE}${path}`, {
    method,
    headers: {
      ...(tok ? { authorization: `Bearer ${tok}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(70_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text.slice(0, 200) };
  }
  return { status: res.status, body: json };
}

// Run state (declared up front: finish() may run early and reports all of it).
const failures = [];
const statuses = {};
const codes = {};
const wins = new Map(); // user index -> amount won
const latencies = [];
let transportErrors = 0;
let envelopeId;
let burstMs;
let audit;
let auditMs;
const check = (ok, what) => {
  if (!ok) failures.push(what);
  return ok;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[smoke-burst] ${msg}\n`);
function pct(p) {
  return Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
}

// User ids unique per run, so the burst can be repeated against the same stack.
const base = BigInt(Date.now()) * 1000n;
const senderId = base;
const userId = (i) => base + 1n + BigInt(i);
const admin = token(String(base + 999n), { role: 'admin' });
const senderTok = token(senderId);
const started = Date.now();

try {
  // 1. Top up the sender and send one envelope.
  const topup = await call('POST', '/v1/wallet/topups', {
    tok: senderTok,
    body: { amount: AMOUNT * 2 },
    headers: { 'idempotency-key': `smoke-topup-${randomUUID()}` },
  });
  if (!check(topup.status === 201, `top-up: expected 201, got ${topup.status} ${JSON.stringify(topup.body)}`)) finish();

  const sent = await call('POST', '/v1/envelopes', {
    tok: senderTok,
    body: { amount: AMOUNT, count: SHARES, mode: 'random', greeting: 'smoke' },
    headers: { 'idempotency-key': `smoke-send-${randomUUID()}` },
  });
  if (!check(sent.status === 201, `send: expected 201, got ${sent.status} ${JSON.stringify(sent.body)}`)) finish();
  envelopeId = sent.body.envelopeId;
  log(`envelope ${envelopeId}: ${AMOUNT} cents in ${SHARES} shares; ${GRABS} grabs from ${USERS} users, ${CONCURRENCY} in flight`);

  // 2. The burst: GRABS attempts, user i % USERS, CONCURRENCY in flight.
  const userTokens = Array.from({ length: USERS }, (_, i) => token(userId(i)));
  let next = 0;
  const burstStart = Date.now();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= GRABS) return;
      const u = i % USERS;
      const t0 = performance.now();
      try {
        const r = await call('POST', `/v1/envelopes/${envelopeId}/grab`, { tok: userTokens[u] });
        latencies.push(performance.now() - t0);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        const code = r.status === 200 ? 'won' : (r.body?.code ?? `HTTP_${r.status}`);
        codes[code] = (codes[code] ?? 0) + 1;
        if (r.status === 200) {
          if (!check(!wins.has(u), `user ${userId(u)} won twice`)) continue;
          wins.set(u, r.body.amount);
        }
      } catch (err) {
        transportErrors++;
        if (transportErrors <= 3) log(`grab transport error: ${err.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, GRABS) }, worker));
  burstMs = Date.now() - burstStart;
  latencies.sort((a, b) => a - b);

  const allowed = new Set(['won', 'ENVELOPE.ALREADY_GRABBED', 'ENVELOPE.SOLD_OUT']);
  check(transportErrors === 0, `${transportErrors} grabs failed in transport`);
  for (const [code, n] of Object.entries(codes)) check(allowed.has(code), `${n} grabs answered ${code}`);
  check(wins.size === SHARES, `expected ${SHARES} winners, got ${wins.size}`);
  const won = [...wins.values()].reduce((a, b) => a + b, 0);
  check(won === AMOUNT, `shares sum to ${won}, expected ${AMOUNT}`);

  // 3. The envelope as the service sees it.
  const env = await call('GET', `/v1/envelopes/${envelopeId}`, { tok: senderTok });
  check(env.status === 200, `GET envelope: ${env.status}`);
  check(env.body?.status === 'sold_out', `envelope status ${env.body?.status}, expected sold_out`);
  check(env.body?.remainingCount === 0 && env.body?.remainingAmount === 0, `envelope remaining ${env.body?.remainingCount}/${env.body?.remainingAmount}`);

  // 4. Settlement drains and the audit is clean.
  const auditStart = Date.now();
  for (;;) {
    audit = await call('GET', '/v1/admin/audit', { tok: admin });
    if (audit.status === 200 && audit.body.ok === true && audit.body.pending === 0) break;
    if (audit.status === 200 && audit.body.ok === false) break; // a violation: no point waiting
    if (Date.now() - auditStart > AUDIT_TIMEOUT_S * 1000) break;
    await sleep(1000);
  }
  auditMs = Date.now() - auditStart;
  check(audit.status === 200, `audit: HTTP ${audit.status} ${JSON.stringify(audit.body)}`);
  check(audit.body?.ok === true, `audit not ok: ${JSON.stringify(audit.body?.checks?.filter((c) => !c.ok))}`);
  check(audit.body?.pending === 0, `audit still pending ${audit.body?.pending} after ${AUDIT_TIMEOUT_S}s`);

  // 5. Money moved: the sender paid the envelope, and a winner holds its share.
  const wallet = await call('GET', '/v1/wallet', { tok: senderTok });
  check(wallet.body?.balance === AMOUNT, `sender balance ${wallet.body?.balance}, expected ${AMOUNT}`);
  const [firstWinner, firstAmount] = [...wins.entries()][0] ?? [];
  if (firstWinner !== undefined) {
    const w = await call('GET', '/v1/wallet', { tok: userTokens[firstWinner] });
    check(w.body?.balance === firstAmount, `winner ${userId(firstWinner)} balance ${w.body?.balance}, expected ${firstAmount}`);
  }

} catch (err) {
  // the edge unreachable, a timeout...: report it like any other failed check
  failures.push(`aborted: ${err.message}${err.cause ? ` (${err.cause.code ?? err.cause.message})` : ''}`);
}

finish();

function finish() {
  const summary = {
    ok: failures.length === 0,
    envelopeId,
    shares: SHARES,
    amount: AMOUNT,
    grabs: GRABS,
    users: USERS,
    concurrency: CONCURRENCY,
    statuses,
    codes,
    winners: wins.size,
    burstMs,
    grabsPerSecond: burstMs ? Math.round((GRABS / burstMs) * 1000) : undefined,
    latencyMs: latencies.length ? { p50: pct(50), p95: pct(95), p99: pct(99), max: Math.round(latencies.at(-1)) } : undefined,
    audit: audit ? { status: audit.status, ok: audit.body?.ok, pending: audit.body?.pending, waitedMs: auditMs } : undefined,
    totalMs: Date.now() - started,
    failures,
  };
  console.log(JSON.stringify(summary));
  process.exit(failures.length === 0 ? 0 : 1);
}
