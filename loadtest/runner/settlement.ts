import { Api } from './api.ts';

export interface AuditReport {
  ok: boolean;
  pending: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

export interface AuditSample {
  /** seconds since load start */
  t: number;
  phase: 'load' | 'drain';
  status: number;
  pending: number | null;
  ok: boolean | null;
  /** how long the audit call took */
  ms: number;
}

/** One interval of the services' own settlement metrics (only with --metrics-url or --system). */
export interface SettleMetricsSample {
  t: number;
  creditsPerSec: number | null;
  lagMean: number | null;
  lagP50: number | null;
  lagP99: number | null;
  queueDepth: number | null;
  streamBacklog: number | null;
  ledgerOutboxRows: number | null;
}

interface PromSeries {
  labels: Record<string, string>;
  value: number;
}
type PromText = Map<string, PromSeries[]>;

/** Parses the Prometheus text format (enough of it: name{labels} value). */
export function parseProm(text: string): PromText {
  const out: PromText = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const v = m[3] === '+Inf' ? Infinity : Number(m[3]);
    let a = out.get(m[1]);
    if (!a) out.set(m[1], (a = []));
    a.push({ labels, value: v });
  }
  return out;
}

function sum(p: PromText[], name: string, filter?: (l: Record<string, string>) => boolean): number | null {
  let found = false;
  let s = 0;
  for (const t of p)
    for (const x of t.get(name) ?? []) {
      if (filter && !filter(x.labels)) continue;
      found = true;
      s += x.value;
    }
  return found ? s : null;
}

/** Cumulative histogram buckets summed over every scraped target: le -> count. */
function buckets(p: PromText[], name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of p)
    for (const x of t.get(`${name}_bucket`) ?? []) {
      const le = x.labels['le'] === '+Inf' ? Infinity : Number(x.labels['le']);
      out.set(le, (out.get(le) ?? 0) + x.value);
    }
  return out;
}

/** histogram_quantile over the difference of two cumulative bucket sets (linear within a bucket). */
export function quantileFromBuckets(prev: Map<number, number>, cur: Map<number, number>, q: number): number | null {
  const les = [...cur.keys()].sort((a, b) => a - b);
  const delta = les.map((le) => (cur.get(le) ?? 0) - (prev.get(le) ?? 0));
  const total = delta[delta.length - 1] ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (delta[i] >= rank) {
      const lo = i === 0 ? 0 : les[i - 1];
      const hi = les[i];
      if (hi === Infinity) return lo;
      const below = i === 0 ? 0 : delta[i - 1];
      const inBucket = delta[i] - below;
      return inBucket > 0 ? lo + ((hi - lo) * (rank - below)) / inBucket : hi;
    }
  }
  return les[les.length - 2] ?? null;
}

/**
 * Watches settlement: polls the admin audit (its `pending` count over time) during the load
 * and while draining, and, when the services' /metrics URLs are known, scrapes the wallet's
 * settlement lag histogram and credit counter and the queue / outbox backlogs every second.
 */
export class SettlementMonitor {
  readonly audits: AuditSample[] = [];
  readonly metricSamples: SettleMetricsSample[] = [];
  lastAudit: AuditReport | undefined;
  lastAuditStatus = 0;
  lastAuditText = '';
  private auditTimer: NodeJS.Timeout | undefined;
  private scrapeTimer: NodeJS.Timeout | undefined;
  private auditing = false;
  private prevScrape: { at: number; texts: PromText[] } | undefined;

  constructor(
    private readonly api: Api,
    private readonly t0: number,
    private readonly metricsUrls: string[],
  ) {}

  private now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  async audit(phase: 'load' | 'drain'): Promise<AuditSample> {
    const start = performance.now();
    const r = await this.api.call('GET', '/v1/admin/audit', { user: '1', admin: true, timeoutMs: 120_000 });
    const body = Api.json<AuditReport>(r);
    const sample: AuditSample = { t: this.now(), phase, status: r.status, pending: r.status === 200 && body ? body.pending : null, ok: r.status === 200 && body ? body.ok : null, ms: performance.now() - start };
    this.lastAuditStatus = r.status;
    this.lastAuditText = r.text || String(r.error);
    if (r.status === 200 && body) this.lastAudit = body;
    this.audits.push(sample);
    return sample;
  }

  /** Polls the audit every intervalMs during the load (skipping a tick while one is still running). */
  startDuringLoad(intervalMs: number): void {
    if (intervalMs > 0)
      this.auditTimer = setInterval(() => {
        if (this.auditing) return;
        this.auditing = true;
        void this.audit('load').finally(() => (this.auditing = false));
      }, intervalMs);
    if (this.metricsUrls.length) {
      void this.scrape();
      this.scrapeTimer = setInterval(() => void this.scrape(), 1000);
    }
  }

  stopLoadPolling(): void {
    if (this.auditTimer) clearInterval(this.auditTimer);
    this.auditTimer = undefined;
  }

  stop(): void {
    this.stopLoadPolling();
    if (this.scrapeTimer) clearInterval(this.scrapeTimer);
    this.scrapeTimer = undefined;
  }

  private async scrape(): Promise<void> {
    const at = performance.now();
    const texts = await Promise.all(
      this.metricsUrls.map(async (u) => {
        try {
          const r = await fetch(u, { signal: AbortSignal.timeout(2000) });
          return parseProm(await r.text());
        } catch {
          return new Map() as PromText;
        }
      }),
    );
    const prev = this.prevScrape;
    this.prevScrape = { at, texts };
    if (!prev) return;
    const dt = (at - prev.at) / 1000;
    const credits = sum(texts, 'hongbao_settlement_credits_total');
    const creditsPrev = sum(prev.texts, 'hongbao_settlement_credits_total');
    const lagCount = sum(texts, 'hongbao_settlement_lag_seconds_count');
    const lagCountPrev = sum(prev.texts, 'hongbao_settlement_lag_seconds_count') ?? 0;
    const lagSum = sum(texts, 'hongbao_settlement_lag_seconds_sum');
    const lagSumPrev = sum(prev.texts, 'hongbao_settlement_lag_seconds_sum') ?? 0;
    const n = lagCount === null ? 0 : lagCount - lagCountPrev;
    const bPrev = buckets(prev.texts, 'hongbao_settlement_lag_seconds');
    const bCur = buckets(texts, 'hongbao_settlement_lag_seconds');
    this.metricSamples.push({
      t: (at - this.t0) / 1000,
      creditsPerSec: credits === null ? null : Math.max(0, (credits - (creditsPrev ?? 0)) / dt),
      lagMean: n > 0 && lagSum !== null ? (lagSum - lagSumPrev) / n : null,
      lagP50: n > 0 ? quantileFromBuckets(bPrev, bCur, 0.5) : null,
      lagP99: n > 0 ? quantileFromBuckets(bPrev, bCur, 0.99) : null,
      queueDepth: sum(texts, 'hongbao_settlement_queue_depth', (l) => l['state'] !== 'failed'),
      streamBacklog: sum(texts, 'hongbao_outbox_stream_backlog'),
      ledgerOutboxRows: sum(texts, 'hongbao_ledger_outbox_rows'),
    });
  }

  /**
   * After the load: polls the audit until nothing is pending or the timeout passes. Returns the
   * seconds from the load's last response to the audit that first saw pending == 0.
   */
  async drain(timeoutMs: number, pollMs: number, loadEnd: number, onPoll?: (s: AuditSample) => void): Promise<{ drained: boolean; seconds: number }> {
    this.stopLoadPolling();
    while (this.auditing) await new Promise((r) => setTimeout(r, 20));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = await this.audit('drain');
      onPoll?.(s);
      if (s.status === 200 && s.pending === 0) return { drained: true, seconds: (performance.now() - loadEnd) / 1000 };
      if (performance.now() > deadline) return { drained: false, seconds: (performance.now() - loadEnd) / 1000 };
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
