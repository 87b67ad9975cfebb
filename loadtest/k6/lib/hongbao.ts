/**
 * Everything the four k6 scripts share: options from the scenario JSON, HS256 tokens minted
 * in the script, setup (top-ups and envelopes), the iteration (grab / send / details / wallet /
 * transactions by the scenario's mix), per-outcome counters, and a teardown that waits for
 * settlement to drain and fails the test if the money audit is not clean.
 *
 * Needs k6 >= 1.0 (TypeScript is run natively). Environment:
 *   BASE_URL    gateway or edge URL (default http://127.0.0.1:3000)
 *   JWT_SECRET  HS256 secret the gateway verifies (default: the dev secret of .env.example)
 *   RATE_SCALE  multiply every arrival rate (and VU limits) by this (default 1)
 *   TIME_SCALE  multiply every stage duration by this (default 1)
 *   SCENARIO_FILE  another scenario JSON instead of the script's own (read by the entry scripts:
 *                  an absolute path, or relative to loadtest/k6/)
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { check, sleep } from 'k6';
import type { Options } from 'k6/options';
import { Counter, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { classify, errorCode, GRAB_OUTCOMES, k6ScenarioOptions, loadScenario, mixPicker, parseDuration, scaleScenario, senderId, userOf } from '../../lib/scenario.ts';
import type { EnvelopeSpec, Outcome, RequestType, Scenario } from '../../lib/scenario.ts';

/** The dev-only secret from .env.example; anything real must come from JWT_SECRET. */
const DEV_SECRET = 'dev-only-hongbao-secret-change-me-0123456789abcdef';

export interface EnvelopeRef {
  id: string;
  amount: number;
  count: number;
}

export interface SetupData {
  runId: string;
  envelopes: EnvelopeRef[];
}

export interface HongbaoTest {
  scenario: Scenario;
  options: Options;
  setup: () => SetupData;
  iteration: (data: SetupData) => void;
  teardown: (data: SetupData) => void;
}

function envNumber(name: string, dflt: number): number {
  const v = __ENV[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
}

/**
 * Builds options and the lifecycle functions from a scenario JSON's text. Call it in the init
 * context (top level of the entry script) with `open('../scenarios/<name>.json')`: open()
 * resolves relative paths against the script that calls it.
 */
export function hongbaoTest(scenarioJson: string): HongbaoTest {
  const sc = scaleScenario(loadScenario(JSON.parse(scenarioJson)), envNumber('RATE_SCALE', 1), envNumber('TIME_SCALE', 1));
  const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const SECRET = __ENV.JWT_SECRET || DEV_SECRET;
  const timeout = sc.requestTimeout;
  const settleMs = parseDuration(sc.settle.timeout);
  const setupMs = parseDuration(sc.setup.timeout ?? '120s');

  // --- metrics (created in the init context, as k6 requires) ---
  const grabCounters = {} as Record<Outcome, Counter>;
  for (const o of GRAB_OUTCOMES) grabCounters[o] = new Counter(`grab_${o}`);
  const wonCents = new Counter('grab_won_cents');
  const unexpected = new Rate('unexpected_responses');
  const auditOk = new Rate('audit_ok');
  const drainSeconds = new Trend('settlement_drain_seconds');
  const pending = new Trend('settlement_pending_at_end');

  // every status the API can answer on purpose; 429/503 of shedding stay "failed" requests
  http.setResponseCallback(http.expectedStatuses(...sc.expectedStatuses));

  // --- tokens: HS256 JWTs minted here (k6/crypto HMAC + base64url), cached per VU ---
  const tokens: Record<string, string> = {};
  const header = encoding.b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  function token(sub: string, admin = false): string {
    const key = admin ? `admin:${sub}` : sub;
    const hit = tokens[key];
    if (hit) return hit;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { sub, iat: now, exp: now + 6 * 3600 };
    if (admin) claims.role = 'admin';
    const signingInput = `${header}.${encoding.b64encode(JSON.stringify(claims), 'rawurl')}`;
    const sig = encoding.b64encode(crypto.hmac('sha256', SECRET, signingInput, 'binary'), 'rawurl');
    return (tokens[key] = `${signingInput}.${sig}`);
  }
  const auth = (sub: string, admin = false) => ({ authorization: `Bearer ${token(sub, admin)}` });
  const json = (sub: string, key: string) => ({ ...auth(sub), 'content-type': 'application/json', 'idempotency-key': key });

  // --- per-VU state (every VU has its own JS runtime) ---
  const pick = mixPicker(sc.mix);
  const mine: EnvelopeRef[] = [];
  const window = sc.targets.recentWindow ?? 20;

  function target(data: SetupData): EnvelopeRef | undefined {
    if (sc.targets.strategy === 'setup' || mine.length === 0) {
      if (data.envelopes.length === 0) return mine[mine.length - 1];
      const pool = sc.targets.strategy === 'setup' ? data.envelopes : data.envelopes.slice(-window);
      return pool[Math.floor(Math.random() * pool.length)];
    }
    const pool = data.envelopes.slice(-window).concat(mine.slice(-window));
    return pool[Math.floor(Math.random() * pool.length)];
  }

  /** The parsed body, or {} when it is not JSON (a check must never throw). */
  function body<T>(res: RefinedResponse<ResponseType | undefined>): Partial<T> {
    try {
      return (res.json() ?? {}) as Partial<T>;
    } catch {
      return {};
    }
  }

  function record(type: RequestType, res: RefinedResponse<ResponseType | undefined>, extra: Record<string, () => boolean> = {}): Outcome {
    const body = typeof res.body === 'string' ? res.body : null;
    const outcome = res.status === 0 ? 'other' : classify(type, res.status, errorCode(body));
    unexpected.add(outcome === 'other', { type });
    const checks: Record<string, () => boolean> = { [`${type}: known outcome`]: () => outcome !== 'other', ...extra };
    check(res, checks, { type });
    if (outcome === 'other') console.warn(`${type} ${res.status} ${body ? body.slice(0, 200) : res.error}`);
    return outcome;
  }

  function grab(data: SetupData, user: string): void {
    const env = target(data);
    if (!env) return;
    const res = http.post(`${BASE_URL}/v1/envelopes/${env.id}/grab`, null, { headers: auth(user), timeout, tags: { type: 'grab', name: 'POST /v1/envelopes/{id}/grab' } });
    let amount = 0;
    const outcome = record('grab', res, {
      'grab won: amount in 1..envelope amount': () => {
        if (res.status !== 200) return true;
        const b = body<{ envelopeId: string; amount: number }>(res);
        amount = typeof b.amount === 'number' ? b.amount : 0;
        return b.envelopeId === env.id && Number.isInteger(b.amount) && amount >= 1 && amount <= env.amount;
      },
    });
    grabCounters[outcome === 'ok' ? 'other' : outcome].add(1);
    if (outcome === 'won') wonCents.add(amount);
  }

  function send(data: SetupData, iter: number): void {
    const spec = sc.send as EnvelopeSpec;
    const sender = senderId(sc, iter);
    const res = http.post(`${BASE_URL}/v1/envelopes`, JSON.stringify(spec), {
      headers: json(sender, `lt-${data.runId}-send-${exec.vu.idInTest}-${iter}`),
      timeout,
      tags: { type: 'send', name: 'POST /v1/envelopes' },
    });
    record('send', res, { 'send: envelopeId': () => res.status !== 201 || typeof body<{ envelopeId: string }>(res).envelopeId === 'string' });
    const id = body<{ envelopeId: string }>(res).envelopeId;
    if (res.status === 201 && id) {
      mine.push({ id, amount: spec.amount, count: spec.count });
      if (mine.length > window * 2) mine.splice(0, mine.length - window);
    }
  }

  function details(data: SetupData, user: string): void {
    const env = target(data);
    if (!env) return;
    const res = http.get(`${BASE_URL}/v1/envelopes/${env.id}`, { headers: auth(user), timeout, tags: { type: 'details', name: 'GET /v1/envelopes/{id}' } });
    record('details', res, {
      'details: counts add up': () => {
        if (res.status !== 200) return true;
        const b = body<{ remainingCount: number; grabs: unknown[]; count: number }>(res);
        return Array.isArray(b.grabs) && b.count === env.count && typeof b.remainingCount === 'number' && b.remainingCount >= 0 && b.grabs.length <= env.count;
      },
    });
  }

  function wallet(user: string): void {
    const res = http.get(`${BASE_URL}/v1/wallet`, { headers: auth(user), timeout, tags: { type: 'wallet', name: 'GET /v1/wallet' } });
    record('wallet', res, { 'wallet: balance >= 0': () => res.status !== 200 || (body<{ balance: number }>(res).balance ?? -1) >= 0 });
  }

  function transactions(user: string): void {
    const res = http.get(`${BASE_URL}/v1/wallet/transactions?limit=20`, { headers: auth(user), timeout, tags: { type: 'transactions', name: 'GET /v1/wallet/transactions' } });
    record('transactions', res, { 'transactions: items': () => res.status !== 200 || Array.isArray(body<{ items: unknown[] }>(res).items) });
  }

  function mustStatus(res: RefinedResponse<ResponseType | undefined>, status: number, what: string): void {
    if (res.status !== status) exec.test.abort(`setup: ${what} answered ${res.status}: ${String(res.body).slice(0, 300)}`);
  }

  function setup(): SetupData {
    const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e8).toString(36)}`;
    const senders: string[] = [];
    for (let i = 0; i < sc.setup.senders.count; i++) senders.push(senderId(sc, i));
    const params = (sub: string, key: string) => ({ headers: json(sub, `lt-${runId}-${key}`), timeout: '60s', tags: { type: 'setup' } });
    for (let i = 0; i < senders.length; i += 20) {
      const chunk = senders.slice(i, i + 20);
      const res = http.batch(chunk.map((s, j) => ({ method: 'POST', url: `${BASE_URL}/v1/wallet/topups`, body: JSON.stringify({ amount: sc.setup.topupPerSender }), params: params(s, `topup-${i + j}`) })));
      res.forEach((r) => mustStatus(r, 201, 'top-up'));
    }
    const envelopes: EnvelopeRef[] = [];
    const { total, ...spec } = sc.setup.envelopes;
    for (let i = 0; i < total; i += 10) {
      const idx: number[] = [];
      for (let j = i; j < Math.min(total, i + 10); j++) idx.push(j);
      const res = http.batch(idx.map((j) => ({ method: 'POST', url: `${BASE_URL}/v1/envelopes`, body: JSON.stringify(spec), params: params(senders[j % senders.length], `send-${j}`) })));
      res.forEach((r) => {
        mustStatus(r, 201, 'send');
        envelopes.push({ id: String(body<{ envelopeId: string }>(r).envelopeId), amount: spec.amount, count: spec.count });
      });
    }
    console.log(`setup: run ${runId}, ${senders.length} senders topped up, ${envelopes.length} envelopes of ${spec.count} shares (${spec.amount} cents) against ${BASE_URL}`);
    return { runId, envelopes };
  }

  function iteration(data: SetupData): void {
    const iter = exec.scenario.iterationInTest;
    if (sc.maxIterations !== undefined && iter >= sc.maxIterations) return;
    const user = userOf(sc, iter, Math.random());
    switch (pick(Math.random())) {
      case 'grab':
        return grab(data, user);
      case 'send':
        return send(data, iter);
      case 'details':
        return details(data, user);
      case 'wallet':
        return wallet(user);
      case 'transactions':
        return transactions(user);
    }
  }

  /** Waits for settlement to drain (the audit's pending count reaching 0), then requires a clean audit. */
  function teardown(): void {
    const start = Date.now();
    let last: { ok?: boolean; pending?: number; checks?: { name: string; ok: boolean; detail: string }[] } | undefined;
    let status = 0;
    for (;;) {
      const res = http.get(`${BASE_URL}/v1/admin/audit`, { headers: auth('1', true), timeout: '120s', tags: { type: 'audit' } });
      status = res.status;
      if (res.status === 200) {
        last = body<NonNullable<typeof last>>(res);
        if (last && last.pending === 0) break;
      }
      if (Date.now() - start > settleMs) break;
      sleep(parseDuration(sc.settle.poll) / 1000);
    }
    const secs = (Date.now() - start) / 1000;
    drainSeconds.add(secs);
    pending.add(last?.pending ?? -1);
    const ok = status === 200 && last !== undefined && last.pending === 0 && last.ok === true;
    auditOk.add(ok);
    if (ok) {
      console.log(`teardown: settled in ${secs.toFixed(1)} s; audit ok (${(last?.checks ?? []).length} checks)`);
      return;
    }
    const why =
      status !== 200
        ? `audit answered ${status}`
        : last?.pending !== 0
          ? `${last?.pending} grabs still pending after ${sc.settle.timeout}`
          : `audit failed: ${(last?.checks ?? []).filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`;
    console.error(`teardown: ${why}`);
    exec.test.fail(why);
  }

  const options: Options = {
    scenarios: { [sc.name]: k6ScenarioOptions(sc) } as unknown as Options['scenarios'],
    thresholds: sc.thresholds,
    setupTimeout: `${Math.ceil(setupMs / 1000)}s`,
    teardownTimeout: `${Math.ceil(settleMs / 1000) + 150}s`,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
    userAgent: 'hongbao-loadtest-k6',
    tags: { hongbao_scenario: sc.name },
  };
  return { scenario: sc, options, setup, iteration, teardown };
}
