import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GRAB_OUTCOMES, loadScenario, OUTCOMES, parseDuration, REQUEST_TYPES, scaleScenario, senderId } from '../lib/scenario.ts';
import type { Outcome, Scenario } from '../lib/scenario.ts';
import type { TestSystem } from '@hongbao/testing';
import { Api, secretFromEnvFiles, Tokens } from './api.ts';
import { EnvelopeRef, LoadEngine, liveLatency } from './load.ts';
import { evaluateThresholds, Metrics } from './metrics.ts';
import { renderHtml, Report, TypeSummary } from './report.ts';
import { SettlementMonitor } from './settlement.ts';

const ROOT = resolve(__dirname, '../..');

const USAGE = `npm run loadtest -- --scenario NAME|FILE [options]

Runs a scenario of loadtest/scenarios/ open-loop against the gateway, waits for settlement to
drain, audits the money, evaluates the thresholds and writes a JSON and an HTML report.

  --scenario NAME|FILE   smoke, spike, flash, steady, or a path to a scenario JSON
  --base-url URL         gateway, edge or Ingress URL (env BASE_URL; default http://127.0.0.1:3000)
  --secret SECRET        HS256 JWT secret (env JWT_SECRET, else .env, else .env.example)
  --system               start a private test system (built dist/apps/*, test databases and
                         Redis prefix) for this run and remove it afterwards; no npm start needed
  --out DIR              where reports go (default loadtest/reports)
  --rate-scale X         multiply every arrival rate (and VU limits) by X (default 1)
  --time-scale X         multiply every stage duration by X (default 1)
  --metrics-url URL      a service's /metrics to scrape for settlement lag (repeatable;
                         e.g. the wallet's and the envelope's; automatic with --system)
  --max-inflight N       requests in flight before arrivals are dropped (default: maxVUs)
  --connections N        keep-alive HTTP connections to the gateway (default: max in flight,
                         at most 256; requests beyond them queue in the client, and that
                         wait counts in their latency)
  --late-ms N            a start this much after its due time counts as late (default 25)
  --settle-timeout DUR   override the scenario's settle.timeout (e.g. 5m)
  --seed N               seed of the request mix (default: random, printed)
  --quiet                no per-second progress lines
  --render REPORT.json   only rewrite the HTML page of an earlier JSON report
  --help

Exit status: 0 pass; 1 a threshold missed; 2 the audit failed, settlement did not drain, or a
client-side money check failed; 3 setup or usage error.`;

interface Cli {
  render?: string;
  scenario: string;
  baseUrl: string;
  secret?: string;
  system: boolean;
  out: string;
  rateScale: number;
  timeScale: number;
  metricsUrls: string[];
  maxInFlight?: number;
  connections?: number;
  lateMs: number;
  settleTimeout?: string;
  seed: number;
  quiet: boolean;
}

class UsageError extends Error {}

function parseCli(argv: string[]): Cli | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', short: 's' },
      'base-url': { type: 'string' },
      secret: { type: 'string' },
      system: { type: 'boolean', default: false },
      out: { type: 'string' },
      'rate-scale': { type: 'string' },
      'time-scale': { type: 'string' },
      'metrics-url': { type: 'string', multiple: true },
      'max-inflight': { type: 'string' },
      connections: { type: 'string' },
      'late-ms': { type: 'string' },
      'settle-timeout': { type: 'string' },
      seed: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return undefined;
  if (values.render) return { render: resolve(values.render) } as Cli;
  if (!values.scenario) throw new UsageError('--scenario is required');
  const num = (name: string, v: string | undefined, dflt: number, int = false): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!(n > 0) || (int && !Number.isInteger(n))) throw new UsageError(`--${name} must be a positive ${int ? 'integer' : 'number'}`);
    return n;
  };
  if (values['settle-timeout']) parseDuration(values['settle-timeout']);
  return {
    scenario: values.scenario,
    baseUrl: (values['base-url'] ?? process.env['BASE_URL'] ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    secret: values.secret,
    system: values.system ?? false,
    out: resolve(values.out ?? join(ROOT, 'loadtest', 'reports')),
    rateScale: num('rate-scale', values['rate-scale'], 1),
    timeScale: num('time-scale', values['time-scale'], 1),
    metricsUrls: values['metrics-url'] ?? [],
    maxInFlight: values['max-inflight'] ? num('max-inflight', values['max-inflight'], 1, true) : undefined,
    connections: values.connections ? num('connections', values.connections, 1, true) : undefined,
    lateMs: values['late-ms'] !== undefined ? Number(values['late-ms']) : 25,
    settleTimeout: values['settle-timeout'],
    seed: values.seed !== undefined ? num('seed', values.seed, 1, true) : Math.floor(Math.random() * 2 ** 31) + 1,
    quiet: values.quiet ?? false,
  };
}

function scenarioPath(s: string): string {
  if (existsSync(s)) return resolve(s);
  const p = join(ROOT, 'loadtest', 'scenarios', `${s.replace(/\.json$/, '')}.json`);
  if (!existsSync(p)) throw new UsageError(`no scenario "${s}" (${p}); have: smoke, spike, flash, steady`);
  return p;
}

const log = (msg: string) => console.log(msg);
const f1 = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : '–');

/** Runs `fn` over items with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

async function startSystem(): Promise<TestSystem> {
  // The same private system the e2e specs use: test databases, a private Redis prefix, the built services.
  const { TestSystem: Sys } = require(join(ROOT, 'libs/testing/src/index.ts')) as typeof import('@hongbao/testing');
  const sys = new Sys({ env: { LOG_LEVEL: 'warn' } });
  await sys.start();
  return sys;
}

async function setup(sc: Scenario, api: Api, runId: string): Promise<EnvelopeRef[]> {
  const senders = Array.from({ length: sc.setup.senders.count }, (_, i) => senderId(sc, i));
  await pool(senders, 16, async (s, i) => {
    const r = await api.call('POST', '/v1/wallet/topups', { user: s, body: { amount: sc.setup.topupPerSender }, idempotencyKey: `lt-${runId}-topup-${i}`, timeoutMs: 60_000 });
    if (r.status !== 201) throw new Error(`setup: top-up of ${s} answered ${r.status || r.error}: ${r.text.slice(0, 300)}`);
  });
  const { total, ...spec } = sc.setup.envelopes;
  const envelopes: EnvelopeRef[] = new Array(total);
  await pool(
    Array.from({ length: total }, (_, i) => i),
    8,
    async (i) => {
      const sender = senders[i % senders.length];
      const r = await api.call('POST', '/v1/envelopes', { user: sender, body: spec, idempotencyKey: `lt-${runId}-send-setup-${i}`, timeoutMs: 60_000 });
      const b = Api.json<{ envelopeId?: string }>(r);
      if (r.status !== 201 || !b?.envelopeId) throw new Error(`setup: send ${i} answered ${r.status || r.error}: ${r.text.slice(0, 300)}`);
      envelopes[i] = { id: b.envelopeId, amount: spec.amount, count: spec.count, sender, setup: true };
    },
  );
  return envelopes;
}

/** After settlement: each setup envelope's details must add up and list every win this runner saw. */
async function verifyEnvelopes(api: Api, envelopes: EnvelopeRef[], wins: Map<string, Map<string, number>>, violation: (m: string) => void): Promise<{ envelopes: number; wins: number }> {
  let nEnv = 0;
  let nWins = 0;
  await pool(envelopes.filter((e) => e.setup).slice(0, 50), 4, async (env) => {
    const r = await api.call('GET', `/v1/envelopes/${env.id}`, { user: env.sender, timeoutMs: 60_000 });
    const d = Api.json<{ amount: number; count: number; remainingAmount: number; remainingCount: number; refundedAmount: number; grabs: { userId: string; amount: number }[] }>(r);
    if (r.status !== 200 || !d) return violation(`details of ${env.id} answered ${r.status || r.error}`);
    nEnv++;
    const taken = d.grabs.reduce((a, g) => a + g.amount, 0);
    if (d.grabs.length > env.count) violation(`envelope ${env.id}: ${d.grabs.length} grabs for ${env.count} shares`);
    if (taken + d.remainingAmount + (d.refundedAmount ?? 0) !== env.amount) violation(`envelope ${env.id}: grabs ${taken} + remaining ${d.remainingAmount} + refunded ${d.refundedAmount} != ${env.amount}`);
    const byUser = new Map<string, number>();
    for (const g of d.grabs) {
      if (byUser.has(g.userId)) violation(`envelope ${env.id}: user ${g.userId} listed twice`);
      byUser.set(g.userId, g.amount);
    }
    for (const [user, amount] of wins.get(env.id) ?? []) {
      nWins++;
      if (byUser.get(user) !== amount) violation(`envelope ${env.id}: ${user} won ${amount} but details say ${byUser.get(user) ?? 'nothing'}`);
    }
  });
  return { envelopes: nEnv, wins: nWins };
}

export async function main(argv: string[]): Promise<number> {
  let cli: Cli | undefined;
  try {
    cli = parseCli(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 3;
  }
  if (!cli) {
    log(USAGE);
    return 0;
  }
  if (cli.render) {
    const html = cli.render.replace(/\.json$/, '') + '.html';
    writeFileSync(html, renderHtml(JSON.parse(readFileSync(cli.render, 'utf8')) as Report));
    log(html);
    return 0;
  }
  const file = scenarioPathSafe(cli.scenario);
  if (!file) return 3;
  let sc: Scenario;
  try {
    sc = scaleScenario(loadScenario(JSON.parse(readFileSync(file, 'utf8'))), cli.rateScale, cli.timeScale);
  } catch (e) {
    console.error((e as Error).message);
    return 3;
  }
  if (cli.settleTimeout) sc.settle.timeout = cli.settleTimeout;

  let sys: TestSystem | undefined;
  let stopping = false;
  const stopSystem = async () => {
    if (sys && !stopping) {
      stopping = true;
      log('▶ stopping the private test system');
      await sys.stop().catch((e) => console.error(`stopping the test system: ${(e as Error).message}`));
    }
  };
  const onSignal = () => {
    console.error('\ninterrupted');
    void stopSystem().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let secret = cli.secret ?? secretFromEnvFiles(ROOT);
    let baseUrl = cli.baseUrl;
    const metricsUrls = [...cli.metricsUrls];
    if (cli.system) {
      log('▶ starting a private test system (dist/apps/*, test databases, private Redis prefix)');
      const t = performance.now();
      sys = await startSystem();
      baseUrl = sys.baseUrl;
      secret = sys.env['JWT_SECRET'];
      for (const name of ['wallet', 'envelope']) {
        const p = sys.procs.get(name);
        if (p && !cli.metricsUrls.length) metricsUrls.push(`http://127.0.0.1:${p.httpPort}/metrics`);
      }
      log(`  gateway ${baseUrl} ready in ${((performance.now() - t) / 1000).toFixed(1)} s (run ${sys.runId}; logs in tmp/test-logs/)`);
    }
    if (!secret) {
      console.error('no JWT secret: pass --secret, set JWT_SECRET, or keep .env.example');
      return 3;
    }
    const ex = sc.executor;
    const maxInFlight = cli.maxInFlight ?? ex.maxVUs;
    const connections = cli.connections ?? Math.min(256, maxInFlight);
    const timeoutMs = parseDuration(sc.requestTimeout);
    const tokens = new Tokens(secret);
    const api = new Api(baseUrl, tokens, { connections, timeoutMs });
    const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

    // --- preflight: reachable, and the secret is the gateway's (the audit needs an admin token) ---
    log(`▶ scenario ${sc.name} (${basename(file)}${cli.rateScale !== 1 || cli.timeScale !== 1 ? `, rate ×${cli.rateScale}, time ×${cli.timeScale}` : ''}) against ${baseUrl}`);
    const pre = await new SettlementMonitor(api, performance.now(), []).audit('load');
    const preMon = pre.status;
    if (preMon !== 200) {
      console.error(
        preMon === 0
          ? `✖ ${baseUrl} is not reachable: start the system (npm start) or use --system`
          : preMon === 401 || preMon === 403
            ? `✖ the audit answered ${preMon}: the JWT secret is not the gateway's (--secret / JWT_SECRET)`
            : `✖ the audit answered ${preMon}`,
      );
      return 3;
    }
    if (pre.pending) log(`  note: ${pre.pending} grabs from earlier traffic are still pending settlement`);

    // --- setup ---
    const tSetup = performance.now();
    let envelopes: EnvelopeRef[];
    try {
      envelopes = await setup(sc, api, runId);
    } catch (e) {
      console.error(`✖ ${(e as Error).message}`);
      return 3;
    }
    const setupSeconds = (performance.now() - tSetup) / 1000;
    log(`▶ setup: ${sc.setup.senders.count} senders topped up, ${envelopes.length} envelopes of ${sc.setup.envelopes.count} shares in ${setupSeconds.toFixed(1)} s`);

    // --- warm-up: open the connections and mint the users' tokens before the clock starts ---
    await pool(
      Array.from({ length: connections }, (_, i) => i),
      connections,
      async () => void (await api.call('GET', '/health/live', { timeoutMs: 10_000 })),
    );
    if (sc.users.count <= 200_000) for (let i = 0; i < sc.users.count; i++) tokens.get(String(sc.users.first + i));

    // --- load ---
    const metrics = new Metrics();
    const live: { monitor?: SettlementMonitor } = {};
    const lastPending = () => {
      const a = live.monitor?.audits.filter((x) => x.pending !== null).slice(-1)[0];
      return a ? ` | pending ${a.pending}` : '';
    };
    const engine = new LoadEngine(sc, api, envelopes, {
      maxInFlight,
      lateMs: cli.lateMs,
      seed: cli.seed,
      timeoutMs,
      runId,
      onSecond: cli.quiet
        ? undefined
        : (b, tot) => {
            const l = liveLatency(b);
            const oc = OUTCOMES.filter((o) => tot.outcomes[o] > 0)
              .map((o) => `${o} ${tot.outcomes[o]}`)
              .join(' ');
            log(
              `[${String(b.t + 1).padStart(4)}s] target ${f1(tot.rate).padStart(5)}/s  started ${String(b.started).padStart(5)}  answered ${String(b.completed).padStart(5)}  in-flight ${String(tot.inflight).padStart(4)}  p50 ${f1(l.p50).padStart(5)} ms  p99 ${f1(l.p99).padStart(5)} ms | ${oc || '-'} | dropped ${tot.dropped} late ${tot.late}${lastPending()}`,
            );
          },
    }, metrics);
    log(`▶ load: ${ex.type}, ${ex.type === 'ramping-arrival-rate' ? `${ex.startRate}/s → ${ex.stages.map((s) => `${s.target}/s in ${s.duration}`).join(' → ')}` : `${ex.rate}/s for ${ex.duration}`}; up to ${maxInFlight} in flight over ${connections} connections; seed ${cli.seed}`);
    const loadAtStart = loadavg().map((v) => +v.toFixed(2));
    const loadPromise = engine.run();
    const monitor = new SettlementMonitor(api, engine.startTime, metricsUrls);
    live.monitor = monitor;
    monitor.startDuringLoad(parseDuration(sc.settle.pollDuringLoad ?? '5s'));
    const load = await loadPromise;
    const loadSeconds = load.durationMs / 1000;
    log(`▶ load done: ${load.iterations} started of ${load.iterationsPlanned} planned in ${loadSeconds.toFixed(1)} s (${load.dropped} dropped, ${load.late} late)`);

    // --- drain and audit ---
    log(`▶ waiting for settlement to drain (up to ${sc.settle.timeout})`);
    const drain = await monitor.drain(parseDuration(sc.settle.timeout), parseDuration(sc.settle.poll), load.tEnd, (s) => {
      if (!cli?.quiet) log(`  audit: ${s.status === 200 ? `pending ${s.pending}, ok ${s.ok}` : `status ${s.status}`} (${s.ms.toFixed(0)} ms)`);
    });
    // a last scrape window for the lag chart, then stop
    if (metricsUrls.length) await new Promise((r) => setTimeout(r, 1100));
    monitor.stop();
    const audit = monitor.lastAudit;
    const auditOk = drain.drained && monitor.lastAuditStatus === 200 && !!audit && audit.ok && audit.pending === 0;
    metrics.rate('audit_ok', auditOk);
    metrics.trend('settlement_drain_seconds', drain.seconds);
    log(`  ${drain.drained ? `settled ${drain.seconds.toFixed(1)} s after the load` : `NOT drained after ${drain.seconds.toFixed(1)} s`}; audit ${audit ? (audit.ok ? 'ok' : 'VIOLATION') : `status ${monitor.lastAuditStatus}`}`);

    const verified = await verifyEnvelopes(api, envelopes, load.wins, (m) => engine.violation(m));
    await api.close();

    // --- thresholds, report ---
    const thresholds = [...evaluateThresholds(metrics, sc.thresholds, 'k6'), ...evaluateThresholds(metrics, sc.runnerThresholds ?? {}, 'runner')];
    const failures: string[] = [];
    if (!drain.drained) failures.push(`settlement did not drain within ${sc.settle.timeout} (pending ${audit?.pending ?? '?'}, last audit status ${monitor.lastAuditStatus})`);
    if (audit && !audit.ok) failures.push(`audit: ${audit.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    if (!audit) failures.push(`audit gave no report (status ${monitor.lastAuditStatus}: ${monitor.lastAuditText.slice(0, 200)})`);
    if (load.moneyViolations.length) failures.push(`${load.moneyViolations.length} client-side money violations (first: ${load.moneyViolations[0]})`);
    for (const t of thresholds) if (!t.ok) failures.push(`threshold ${t.metric} ${t.expression} missed (actual ${t.actual === null ? '-' : +t.actual.toFixed(3)})`);
    const moneyBad = !auditOk || load.moneyViolations.length > 0;
    const exitCode = moneyBad ? 2 : thresholds.some((t) => !t.ok) ? 1 : 0;

    const byType: Record<string, TypeSummary> = {};
    const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
    for (const b of load.timeline) for (const o of OUTCOMES) outcomes[o] += b.outcomes[o];
    for (const t of REQUEST_TYPES) {
      const st = metrics.trendStats(`http_req_duration{type:${t}}`);
      if (!st) continue;
      const oc = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
      byType[t] = { count: st.count, avg: st.avg, min: st.min, med: st.med, p90: st.p90, p95: st.p95, p99: st.p99, max: st.max, outcomes: oc, codes: load.codes[t] ?? {} };
    }
    // outcomes by type from the codes tally: reclassify cheaply through the metrics' per-type counters
    for (const t of Object.keys(byType)) {
      if (t === 'grab') for (const o of GRAB_OUTCOMES) byType[t].outcomes[o] = metrics.count(`grab_${o}`);
      else {
        const unexpected = metrics.rateOf(`unexpected_responses{type:${t}}`);
        const codes = byType[t].codes;
        const rl = Object.entries(codes).filter(([c]) => c.startsWith('429')).reduce((a, [, n]) => a + n, 0);
        const ov = Object.entries(codes).filter(([c]) => /^503 (OVERLOADED|DEGRADED)/.test(c)).reduce((a, [, n]) => a + n, 0);
        byType[t].outcomes.other = unexpected?.pass ?? 0;
        byType[t].outcomes.rate_limited = rl;
        byType[t].outcomes.overloaded = ov;
        byType[t].outcomes.ok = byType[t].count - byType[t].outcomes.other - rl - ov;
      }
    }
    const lag = metrics.trendStats('scheduler_lag');
    const report: Report = {
      tool: 'hongbao-loadtest-runner',
      version: 1,
      scenarioFile: file,
      scenario: sc,
      options: { baseUrl, rateScale: cli.rateScale, timeScale: cli.timeScale, system: cli.system, seed: cli.seed, maxInFlight, lateMs: cli.lateMs, connections, metricsUrls },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}`, hostname: hostname(), loadavgAtStart: loadAtStart, loadavg: loadavg().map((v) => +v.toFixed(2)) },
      startedAt: load.startedAt,
      finishedAt: new Date().toISOString(),
      runId,
      phases: { setupSeconds, scheduledSeconds: load.scheduledMs / 1000, loadSeconds, drainSeconds: drain.seconds },
      setup: { senders: sc.setup.senders.count, envelopes: envelopes.slice(0, 50).map((e) => ({ id: e.id, amount: e.amount, count: e.count })), envelopesTotal: envelopes.filter((e) => e.setup).length },
      summary: {
        iterationsPlanned: load.iterationsPlanned,
        iterations: load.iterations,
        dropped: load.dropped,
        late: load.late,
        requests: metrics.count('http_reqs'),
        achievedRps: metrics.count('http_reqs') / Math.max(0.001, loadSeconds),
        peakRps: Math.max(0, ...load.timeline.map((b) => b.completed)),
        outcomes,
        byType,
        schedulerLagMs: lag ? { p50: lag.med, p99: lag.p99, max: lag.max } : null,
        wonCents: metrics.count('grab_won_cents'),
      },
      thresholds,
      timeline: load.timeline.map(({ samples: _s, intended: _i, inflightAtEnd: _e, ...b }) => b),
      settlement: { audits: monitor.audits, metrics: monitor.metricSamples, drained: drain.drained, drainSeconds: drain.seconds, finalAudit: audit ?? null, lastAuditStatus: monitor.lastAuditStatus, ...(audit ? {} : { lastAuditText: monitor.lastAuditText.slice(0, 500) }) },
      clientChecks: { moneyViolations: load.moneyViolations, envelopesVerified: verified.envelopes, winsVerified: verified.wins },
      examples: load.examples,
      metrics: metrics.snapshot(),
      result: { ok: exitCode === 0, exitCode, failures },
    };
    mkdirSync(cli.out, { recursive: true });
    const stamp = report.startedAt.replace(/[:.]/g, '-').replace(/Z$/, '');
    const base = join(cli.out, `${sc.name}-${stamp}`);
    writeFileSync(`${base}.json`, JSON.stringify(report, null, 1));
    writeFileSync(`${base}.html`, renderHtml(report));

    // --- console summary ---
    log('\n── summary ──────────────────────────────────────────────');
    for (const [t, x] of Object.entries(byType))
      log(
        `  ${t.padEnd(12)} ${String(x.count).padStart(7)} req  p50 ${f1(x.med).padStart(6)} ms  p95 ${f1(x.p95).padStart(6)} ms  p99 ${f1(x.p99).padStart(6)} ms  max ${f1(x.max).padStart(6)} ms  | ${OUTCOMES.filter((o) => x.outcomes[o])
          .map((o) => `${o} ${x.outcomes[o]}`)
          .join(' ')}`,
      );
    log(`  achieved ${report.summary.achievedRps.toFixed(0)} req/s (peak ${report.summary.peakRps}/s); dropped ${load.dropped}, late ${load.late}; scheduler lag p99 ${lag ? f1(lag.p99) : '–'} ms`);
    log(`  settlement drained in ${drain.seconds.toFixed(1)} s; audit ${auditOk ? 'ok' : 'NOT ok'}; ${verified.wins} wins checked against ${verified.envelopes} envelopes`);
    log('  thresholds:');
    for (const t of thresholds) log(`    ${t.ok ? (t.noData ? '·' : '✓') : '✗'} ${t.metric} ${t.expression}  (actual ${t.actual === null ? 'no data' : +t.actual.toFixed(3)})${t.source === 'runner' ? '  [runner]' : ''}`);
    for (const f of failures) console.error(`✖ ${f}`);
    log(`\n  report: ${base}.html\n          ${base}.json`);
    log(exitCode === 0 ? '✔ PASS' : `✖ FAIL (exit ${exitCode})`);
    return exitCode;
  } finally {
    await stopSystem();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function scenarioPathSafe(s: string): string | undefined {
  try {
    return scenarioPath(s);
  } catch (e) {
    console.error((e as Error).message);
    return undefined;
  }
}
