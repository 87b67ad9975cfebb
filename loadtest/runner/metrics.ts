import { compare, parseMetricSelector, parseThresholdExpression, percentileSorted } from '../lib/scenario.ts';

/**
 * k6-like metrics for the runner: Trends (all samples kept, exact percentiles: fine for a few
 * hundred thousand requests), Counters and Rates, each also kept per `type` tag, so the
 * scenario's k6 threshold expressions evaluate here to the same meaning.
 */
export class Metrics {
  private readonly trends = new Map<string, number[]>();
  private readonly counters = new Map<string, number>();
  private readonly rates = new Map<string, { pass: number; total: number }>();
  private readonly sorted = new Map<string, Float64Array>();
  /** seconds the load ran, for Counter rates */
  durationSeconds = 0;

  private static keys(name: string, tags?: Record<string, string>): string[] {
    const out = [name];
    if (tags) for (const [k, v] of Object.entries(tags)) out.push(`${name}{${k}:${v}}`);
    return out;
  }

  trend(name: string, value: number, tags?: Record<string, string>): void {
    for (const k of Metrics.keys(name, tags)) {
      let a = this.trends.get(k);
      if (!a) this.trends.set(k, (a = []));
      a.push(value);
      this.sorted.delete(k);
    }
  }

  counter(name: string, value = 1, tags?: Record<string, string>): void {
    for (const k of Metrics.keys(name, tags)) this.counters.set(k, (this.counters.get(k) ?? 0) + value);
  }

  rate(name: string, pass: boolean, tags?: Record<string, string>): void {
    for (const k of Metrics.keys(name, tags)) {
      let r = this.rates.get(k);
      if (!r) this.rates.set(k, (r = { pass: 0, total: 0 }));
      r.total++;
      if (pass) r.pass++;
    }
  }

  /** Makes a counter exist with 0, so "count==0" thresholds have something to read. */
  declareCounter(name: string): void {
    if (!this.counters.has(name)) this.counters.set(name, 0);
  }

  count(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  private sortedOf(key: string): Float64Array | undefined {
    let s = this.sorted.get(key);
    if (!s) {
      const a = this.trends.get(key);
      if (!a) return undefined;
      s = Float64Array.from(a).sort();
      this.sorted.set(key, s);
    }
    return s;
  }

  /** Trend statistics: count, avg, min, med, p90, p95, p99, max. */
  trendStats(key: string): { count: number; avg: number; min: number; med: number; p90: number; p95: number; p99: number; max: number } | undefined {
    const s = this.sortedOf(key);
    if (!s || s.length === 0) return undefined;
    let sum = 0;
    for (const v of s) sum += v;
    return { count: s.length, avg: sum / s.length, min: s[0], med: percentileSorted(s, 50), p90: percentileSorted(s, 90), p95: percentileSorted(s, 95), p99: percentileSorted(s, 99), max: s[s.length - 1] };
  }

  rateOf(key: string): { pass: number; total: number; rate: number } | undefined {
    const r = this.rates.get(key);
    return r ? { ...r, rate: r.total ? r.pass / r.total : 0 } : undefined;
  }

  /** The value of one aggregation of a metric, or undefined when the metric has no data (k6 then skips the threshold too). */
  value(key: string, agg: string, percentile?: number): number | undefined {
    const sel = parseMetricSelector(key);
    const k = Object.keys(sel.tags).length ? `${sel.name}{${Object.entries(sel.tags).map(([a, b]) => `${a}:${b}`).join(',')}}` : sel.name;
    const s = this.sortedOf(k);
    if (s) {
      if (s.length === 0) return undefined;
      switch (agg) {
        case 'p':
          return percentileSorted(s, percentile ?? 50);
        case 'med':
          return percentileSorted(s, 50);
        case 'min':
          return s[0];
        case 'max':
          return s[s.length - 1];
        case 'avg':
          return s.reduce((a, b) => a + b, 0) / s.length;
        case 'count':
          return s.length;
      }
      return undefined;
    }
    const r = this.rates.get(k);
    if (r) {
      if (agg === 'rate') return r.total ? r.pass / r.total : 0;
      if (agg === 'count') return r.pass;
      return undefined;
    }
    const c = this.counters.get(k);
    if (c !== undefined) {
      if (agg === 'count') return c;
      if (agg === 'rate') return this.durationSeconds > 0 ? c / this.durationSeconds : 0;
      if (agg === 'value') return c;
      return undefined;
    }
    return undefined;
  }

  /** Every trend/counter/rate key, for the report. */
  snapshot(): { trends: Record<string, ReturnType<Metrics['trendStats']>>; counters: Record<string, number>; rates: Record<string, { pass: number; total: number; rate: number }> } {
    const trends: Record<string, ReturnType<Metrics['trendStats']>> = {};
    for (const k of [...this.trends.keys()].sort()) trends[k] = this.trendStats(k);
    const counters: Record<string, number> = {};
    for (const [k, v] of [...this.counters].sort((a, b) => a[0].localeCompare(b[0]))) counters[k] = v;
    const rates: Record<string, { pass: number; total: number; rate: number }> = {};
    for (const [k, v] of [...this.rates].sort((a, b) => a[0].localeCompare(b[0]))) rates[k] = { ...v, rate: v.total ? v.pass / v.total : 0 };
    return { trends, counters, rates };
  }
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  /** "k6" = shared with the k6 scripts, "runner" = runner-only */
  source: 'k6' | 'runner';
  actual: number | null;
  /** false = missed; true = met or no data (as in k6) */
  ok: boolean;
  noData: boolean;
}

export function evaluateThresholds(m: Metrics, thresholds: Record<string, string[]>, source: 'k6' | 'runner'): ThresholdResult[] {
  const out: ThresholdResult[] = [];
  for (const [metric, exprs] of Object.entries(thresholds)) {
    for (const expression of exprs) {
      const e = parseThresholdExpression(expression);
      const actual = m.value(metric, e.agg, e.percentile);
      out.push({ metric, expression, source, actual: actual ?? null, ok: actual === undefined ? true : compare(actual, e.op, e.value), noData: actual === undefined });
    }
  }
  return out;
}
