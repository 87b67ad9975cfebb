import { OUTCOMES, REQUEST_TYPES } from '../lib/scenario.ts';
import type { Outcome, Scenario } from '../lib/scenario.ts';
import { esc, fmt, lineChart, mixBars, stackedBars } from './charts.ts';
import type { Series } from './charts.ts';
import type { ThresholdResult } from './metrics.ts';
import type { AuditReport, AuditSample, SettleMetricsSample } from './settlement.ts';

export interface TimelinePoint {
  t: number;
  target: number;
  started: number;
  dropped: number;
  late: number;
  inflightMax: number;
  completed: number;
  outcomes: Record<Outcome, number>;
  latency: Record<string, { n: number; p50: number; p90: number; p99: number; max: number }>;
  intendedP99?: number;
}

export interface TypeSummary {
  count: number;
  avg: number;
  min: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  outcomes: Record<Outcome, number>;
  codes: Record<string, number>;
}

/** Everything the runner writes to report JSON (and draws in the HTML page). */
export interface Report {
  tool: 'hongbao-loadtest-runner';
  version: 1;
  scenarioFile: string;
  scenario: Scenario;
  options: { baseUrl: string; rateScale: number; timeScale: number; system: boolean; seed: number; maxInFlight: number; lateMs: number; connections: number; metricsUrls: string[] };
  /** load averages (1, 5, 15 min) when the load started and at the end: other work on the machine skews every number */
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; platform: string; hostname: string; loadavgAtStart: number[]; loadavg: number[] };
  startedAt: string;
  finishedAt: string;
  runId: string;
  phases: { setupSeconds: number; scheduledSeconds: number; loadSeconds: number; drainSeconds: number | null };
  setup: { senders: number; envelopes: { id: string; amount: number; count: number }[]; envelopesTotal: number };
  summary: {
    iterationsPlanned: number;
    iterations: number;
    dropped: number;
    late: number;
    requests: number;
    achievedRps: number;
    peakRps: number;
    outcomes: Record<Outcome, number>;
    byType: Record<string, TypeSummary>;
    schedulerLagMs: { p50: number; p99: number; max: number } | null;
    wonCents: number;
  };
  thresholds: ThresholdResult[];
  timeline: TimelinePoint[];
  settlement: { audits: AuditSample[]; metrics: SettleMetricsSample[]; drained: boolean; drainSeconds: number | null; finalAudit: AuditReport | null; lastAuditStatus: number; lastAuditText?: string };
  clientChecks: { moneyViolations: string[]; envelopesVerified: number; winsVerified: number };
  examples: Record<string, string>;
  metrics: unknown;
  result: { ok: boolean; exitCode: number; failures: string[] };
}

export const OUTCOME_COLORS: Record<Outcome, string> = {
  won: '#2e7d32',
  ok: '#1565c0',
  already: '#8e24aa',
  sold_out: '#f9a825',
  expired: '#6d4c41',
  rate_limited: '#ef6c00',
  overloaded: '#00838f',
  other: '#c62828',
};

const TYPE_COLORS: Record<string, string> = { grab: '#c62828', send: '#6a1b9a', details: '#1565c0', wallet: '#2e7d32', transactions: '#ef6c00', all: '#222' };

const ms = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);

function table(head: string[], rows: (string | number)[][], cls = ''): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? fmtNum(c) : c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2);
}

/** The one-page HTML report: inline CSS and SVG only, nothing fetched. */
export function renderHtml(r: Report): string {
  const tl = r.timeline;
  const loadEnd = r.phases.loadSeconds;
  const loadMarker = [{ x: loadEnd, label: 'load ends' }];
  const xs = tl.map((b) => b.t + 0.5);
  const drainEnd = r.settlement.drainSeconds !== null ? loadEnd + r.settlement.drainSeconds : null;
  /** one x range for every chart, so they line up: the load and the drain */
  const xMax = Math.max(loadEnd, drainEnd ?? 0, tl.length);
  const charts: string[] = [];

  charts.push(
    lineChart({
      title: 'Throughput: arrivals scheduled vs started vs answered, per second',
      yLabel: 'requests / s',
      series: [
        { name: 'target (scheduled arrivals)', color: '#9e9e9e', dash: true, width: 2, points: tl.map((b, i) => [xs[i], b.target]) },
        { name: 'started', color: '#1565c0', points: tl.map((b, i) => [xs[i], b.started]) },
        { name: 'answered', color: '#2e7d32', area: true, points: tl.map((b, i) => [xs[i], b.completed]) },
        { name: 'dropped (no free slot)', color: '#c62828', points: tl.map((b, i) => [xs[i], b.dropped]) },
        { name: `late starts (> ${r.options.lateMs} ms)`, color: '#ef6c00', points: tl.map((b, i) => [xs[i], b.late]) },
      ],
      markers: loadMarker,
      xMax,
    }),
  );

  const lat = (key: keyof TimelinePoint['latency'][string], type = 'all'): [number, number | null][] => tl.map((b, i) => [xs[i], b.latency[type] ? b.latency[type][key] : null]);
  charts.push(
    lineChart({
      title: 'Latency percentiles over time (all request types, by second of the answer)',
      yLabel: 'ms (log scale)',
      log: true,
      series: [
        { name: 'p50', color: '#2e7d32', points: lat('p50') },
        { name: 'p90', color: '#1565c0', points: lat('p90') },
        { name: 'p99', color: '#c62828', points: lat('p99') },
        { name: 'max', color: '#9e9e9e', points: lat('max'), width: 1 },
        { name: 'p99 from scheduled start', color: '#6a1b9a', dash: true, points: tl.map((b, i) => [xs[i], b.intendedP99 ?? null]) },
      ],
      markers: loadMarker,
      xMax,
    }),
  );

  const types = REQUEST_TYPES.filter((t) => r.summary.byType[t]);
  if (types.length > 1)
    charts.push(
      lineChart({
        title: 'p99 latency by request type',
        yLabel: 'ms (log scale)',
        log: true,
        series: types.map((t) => ({ name: t, color: TYPE_COLORS[t], points: lat('p99', t) })),
        markers: loadMarker,
      xMax,
      }),
    );

  charts.push(
    stackedBars({
      title: 'Outcomes per second',
      yLabel: 'answers / s',
      xs: tl.map((b) => b.t),
      layers: OUTCOMES.map((o) => ({ name: o, color: OUTCOME_COLORS[o], values: tl.map((b) => b.outcomes[o]) })),
      markers: loadMarker,
      xMax,
    }),
  );

  charts.push(
    mixBars(
      'Outcome mix by request type (share of answers; total at the right)',
      types.map((t) => ({ label: t, parts: OUTCOMES.map((o) => ({ name: o, color: OUTCOME_COLORS[o], value: r.summary.byType[t].outcomes[o] })) })),
    ),
  );

  charts.push(
    lineChart({
      title: 'Concurrency: most requests in flight in each second',
      yLabel: 'in flight',
      series: [{ name: 'in flight (max in the second)', color: '#37474f', area: true, points: tl.map((b, i) => [xs[i], b.inflightMax]) }],
      markers: loadMarker,
      xMax,
      note: `limit ${r.options.maxInFlight} (maxVUs)`,
    }),
  );

  const audits = r.settlement.audits.filter((a) => a.pending !== null);
  const settleMarkers = [...loadMarker, ...(drainEnd !== null && r.settlement.drained ? [{ x: drainEnd, label: 'settled' }] : [])];
  charts.push(
    lineChart({
      title: 'Settlement: grabs accepted but not yet credited (audit "pending")',
      yLabel: 'pending grabs',
      series: [{ name: 'pending (admin audit)', color: '#6a1b9a', area: true, points: audits.map((a) => [a.t, a.pending]) }],
      markers: settleMarkers,
      xMax,
      note: r.settlement.drained ? `drained ${r.settlement.drainSeconds?.toFixed(1)} s after the load` : 'did not drain',
    }),
  );
  const sm = r.settlement.metrics;
  if (sm.some((s) => s.lagP99 !== null || s.creditsPerSec !== null)) {
    charts.push(
      lineChart({
        title: 'Settlement lag (wallet: Redis accepted the grab → wallet credited), per second',
        yLabel: 'seconds (log scale)',
        log: true,
        series: [
          { name: 'lag p50', color: '#2e7d32', points: sm.map((s) => [s.t, s.lagP50]) },
          { name: 'lag p99', color: '#c62828', points: sm.map((s) => [s.t, s.lagP99]) },
          { name: 'lag mean', color: '#1565c0', dash: true, points: sm.map((s) => [s.t, s.lagMean]) },
        ],
        markers: settleMarkers,
      xMax,
      }),
    );
    const backlog: Series[] = [{ name: 'credits / s', color: '#2e7d32', area: true, points: sm.map((s) => [s.t, s.creditsPerSec]) }];
    if (sm.some((s) => s.queueDepth)) backlog.push({ name: 'settlement jobs queued', color: '#ef6c00', points: sm.map((s) => [s.t, s.queueDepth]) });
    if (sm.some((s) => s.streamBacklog)) backlog.push({ name: 'outbox stream backlog', color: '#6a1b9a', points: sm.map((s) => [s.t, s.streamBacklog]) });
    if (sm.some((s) => s.ledgerOutboxRows)) backlog.push({ name: 'wallet→ledger outbox rows', color: '#00838f', points: sm.map((s) => [s.t, s.ledgerOutboxRows]) });
    charts.push(lineChart({ title: 'Settlement throughput and backlogs (services\u2019 /metrics)', yLabel: 'credits/s, items', series: backlog, markers: settleMarkers, xMax }));
  }

  const s = r.summary;
  const g = s.byType['grab'];
  const cards: [string, string, string?][] = [
    ['requests', fmtNum(s.requests), `${fmtNum(s.iterationsPlanned)} planned`],
    ['achieved rate', `${fmt(s.achievedRps)}/s`, `peak ${fmt(s.peakRps)}/s`],
    ['grab p50 / p99', g ? `${ms(g.med)} / ${ms(g.p99)}` : '–', g ? `max ${ms(g.max)}` : ''],
    ['won / sold out', `${fmtNum(s.outcomes.won)} / ${fmtNum(s.outcomes.sold_out)}`, `${fmtNum(s.wonCents)} cents won`],
    ['dropped / late', `${fmtNum(s.dropped)} / ${fmtNum(s.late)}`, s.schedulerLagMs ? `scheduler lag p99 ${ms(s.schedulerLagMs.p99)}` : ''],
    ['unexpected', fmtNum(s.outcomes.other), `${fmtNum(s.outcomes.rate_limited)} rate-limited, ${fmtNum(s.outcomes.overloaded)} shed`],
    ['settlement drain', r.settlement.drainSeconds !== null ? `${r.settlement.drainSeconds.toFixed(1)} s` : '–', r.settlement.drained ? 'pending reached 0' : 'NOT drained'],
    ['audit', r.settlement.finalAudit ? (r.settlement.finalAudit.ok ? 'ok' : 'VIOLATION') : `no answer (${r.settlement.lastAuditStatus})`, r.settlement.finalAudit ? `${r.settlement.finalAudit.checks.length} checks` : ''],
  ];

  const thresholdRows = r.thresholds.map((t) => [
    `<code>${esc(t.metric)}</code>`,
    `<code>${esc(t.expression)}</code>`,
    t.actual === null ? 'no data' : fmt(t.actual),
    t.source,
    t.ok ? (t.noData ? '<span class="muted">skipped</span>' : '<span class="pass">pass</span>') : '<span class="fail">FAIL</span>',
  ]);
  const typeRows = types.map((t) => {
    const x = s.byType[t];
    return [t, x.count, ms(x.avg), ms(x.min), ms(x.med), ms(x.p90), ms(x.p95), ms(x.p99), ms(x.max)];
  });
  const codeRows = types.flatMap((t) =>
    Object.entries(s.byType[t].codes)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => [t, `<code>${esc(c)}</code>`, n, `${((100 * n) / s.byType[t].count).toFixed(2)}%`]),
  );
  const auditRows = (r.settlement.finalAudit?.checks ?? []).map((c) => [esc(c.name), c.ok ? '<span class="pass">ok</span>' : '<span class="fail">VIOLATION</span>', esc(c.detail)]);
  const verdict = r.result.ok ? '<span class="badge pass-bg">PASS</span>' : '<span class="badge fail-bg">FAIL</span>';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hongbao load test: ${esc(r.scenario.name)} ${r.result.ok ? 'PASS' : 'FAIL'}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1140px;color:#222;background:#fafafa;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;font-size:13px;margin-bottom:14px}.badge{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-size:15px;vertical-align:middle}
.pass-bg{background:#2e7d32}.fail-bg{background:#c62828}.pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:700}.muted{color:#999}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}.card{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:10px 12px}
.card .k{color:#666;font-size:12px}.card .v{font-size:20px;font-weight:600;margin:2px 0}.card .n{color:#888;font-size:12px}
.chart{display:block;background:#fff;border:1px solid #e0e0e0;border-radius:6px;margin:12px 0;max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0;width:100%}th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left}th{background:#f3f3f3}
td:not(:first-child){font-variant-numeric:tabular-nums}code{font-size:12px}ul.fails li{color:#c62828}pre{background:#fff;border:1px solid #e0e0e0;padding:8px;overflow:auto;font-size:12px}
details{margin:8px 0}
</style></head><body>
<h1>Hongbao load test: ${esc(r.scenario.name)} ${verdict}</h1>
<div class="sub">${esc(r.scenario.description)}<br>
${esc(r.startedAt)} · ${esc(r.options.baseUrl)}${r.options.system ? ' (private test system)' : ''} · rate ×${r.options.rateScale}, time ×${r.options.timeScale} · run ${esc(r.runId)}<br>
machine: ${r.machine.cpus} × ${esc(r.machine.cpuModel)}, ${r.machine.memGiB} GiB, node ${esc(r.machine.node)}, load average ${(r.machine.loadavgAtStart ?? []).join(' / ')} at the start · setup ${r.phases.setupSeconds.toFixed(1)} s, load ${r.phases.loadSeconds.toFixed(1)} s (scheduled ${r.phases.scheduledSeconds.toFixed(1)} s), drain ${r.phases.drainSeconds === null ? '–' : `${r.phases.drainSeconds.toFixed(1)} s`}</div>
${r.result.failures.length ? `<ul class="fails">${r.result.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
<div class="cards">${cards.map(([k, v, n]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div><div class="n">${esc(n ?? '')}</div></div>`).join('')}</div>
<h2>Charts</h2>
${charts.join('\n')}
<h2>Thresholds</h2>
${table(['metric', 'threshold', 'actual', 'from', 'result'], thresholdRows)}
<h2>Latency by request type</h2>
${table(['type', 'count', 'avg', 'min', 'p50', 'p90', 'p95', 'p99', 'max'], typeRows)}
<h2>Answers by request type</h2>
${table(['type', 'status and code', 'count', 'share'], codeRows)}
${Object.keys(r.examples).length ? `<details open><summary>Examples of unexpected answers</summary>${table(['what', 'body'], Object.entries(r.examples).map(([k, v]) => [esc(k), `<code>${esc(v)}</code>`]))}</details>` : ''}
<h2>Money</h2>
<p>Audit after settlement: ${r.settlement.finalAudit ? (r.settlement.finalAudit.ok ? '<span class="pass">ok</span>' : '<span class="fail">VIOLATION</span>') : `<span class="fail">no clean answer</span> (last status ${r.settlement.lastAuditStatus})`}, pending ${r.settlement.finalAudit?.pending ?? '–'}.
Client-side: ${r.clientChecks.moneyViolations.length === 0 ? '<span class="pass">no oversell or double win seen</span>' : `<span class="fail">${r.clientChecks.moneyViolations.length} violations</span>`}; ${r.clientChecks.winsVerified} wins checked against ${r.clientChecks.envelopesVerified} envelopes' details.</p>
${auditRows.length ? table(['check', 'result', 'detail'], auditRows) : ''}
${r.clientChecks.moneyViolations.length ? `<ul class="fails">${r.clientChecks.moneyViolations.slice(0, 50).map((v) => `<li>${esc(v)}</li>`).join('')}</ul>` : ''}
<details><summary>Scenario (effective, after scaling)</summary><pre>${esc(JSON.stringify(r.scenario, null, 2))}</pre></details>
<details><summary>Runner options</summary><pre>${esc(JSON.stringify(r.options, null, 2))}</pre></details>
<p class="sub">Written by loadtest/runner (npm run loadtest). The JSON report beside this page has every number above, per second.</p>
</body></html>
`;
}
