/**
 * Where a latency window's tail is spent, from the services' own Prometheus histograms: scraped
 * once before and once after the window (never during it, so the scrapes' own cost cannot stall
 * the window), and read as the difference of the two. Quantiles are estimated as Prometheus'
 * `histogram_quantile` does (linear within the bucket), so they are as coarse as the buckets
 * (libs/service-kit LATENCY_BUCKETS: 0.5 ms ... 5 s).
 */
import { promSamples, promSum, scrapeMetrics } from '@hongbao/testing';

/** One histogram's cumulative counts per upper bound (seconds; `Infinity` for +Inf), summed over the matching series. */
export interface Buckets {
  le: number[];
  cumulative: number[];
  sum: number;
  count: number;
}

/** The series of `metric` whose labels include every pair of `labels`, summed bucket by bucket. */
export function readHistogram(text: string, metric: string, labels: Record<string, string> = {}): Buckets {
  const byLe = new Map<number, number>();
  for (const b of promSamples(text, `${metric}_bucket`, labels)) {
    const le = b.labels['le'] === '+Inf' ? Infinity : Number(b.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + b.value);
  }
  const le = [...byLe.keys()].sort((a, b) => a - b);
  return { le, cumulative: le.map((b) => byLe.get(b) ?? 0), sum: promSum(text, `${metric}_sum`, labels), count: promSum(text, `${metric}_count`, labels) };
}

/** What was observed between two scrapes of the same histogram. */
export function between(before: Buckets, after: Buckets): Buckets {
  const prior = new Map(before.le.map((b, i) => [b, before.cumulative[i]]));
  return { le: after.le, cumulative: after.le.map((b, i) => after.cumulative[i] - (prior.get(b) ?? 0)), sum: after.sum - before.sum, count: after.count - before.count };
}

/** The q-quantile in seconds (NaN if nothing was observed); above the last finite bound it returns that bound. */
export function quantile(h: Buckets, q: number): number {
  const total = h.cumulative.at(-1) ?? 0;
  if (!total) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (let i = 0; i < h.le.length; i++) {
    const le = h.le[i];
    const c = h.cumulative[i];
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return c === prevCount ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / (c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

/** How many observations were above `seconds` (a bucket bound). */
export function countAbove(h: Buckets, seconds: number): number {
  const i = h.le.indexOf(seconds);
  return i < 0 ? NaN : (h.cumulative.at(-1) ?? 0) - h.cumulative[i];
}

/** The histograms the grab's tail is read from: the gateway's, the RPC's as the gateway sees it, the envelope's handler, and both processes' GC pauses. */
export interface TailSources {
  gatewayMetrics: string;
  envelopeMetrics: string;
}

export interface Snapshot {
  gateway: string;
  envelope: string;
}

export async function snapshot(src: TailSources): Promise<Snapshot> {
  const [gateway, envelope] = await Promise.all([scrapeMetrics(src.gatewayMetrics), scrapeMetrics(src.envelopeMetrics)]);
  return { gateway, envelope };
}

/** Milliseconds, rounded to 0.1. */
const ms = (s: number) => Math.round(s * 10_000) / 10;

/**
 * The grab's latency inside the processes between two snapshots: p50/p99 of the gateway's whole
 * route (from Fastify's onRequest to the response), of the gateway's RPC call to the envelope
 * service, and of the envelope's grab handler; and the GC pauses of both processes (how many,
 * their total, how many took 10 ms or more).
 */
export function grabTail(a: Snapshot, b: Snapshot): Record<string, number | string> {
  const h = (text: 'gateway' | 'envelope', metric: string, labels: Record<string, string>) => between(readHistogram(a[text], metric, labels), readHistogram(b[text], metric, labels));
  const route = h('gateway', 'hongbao_http_request_duration_seconds', { route: '/v1/envelopes/:id/grab', status: '200' });
  const rpc = h('gateway', 'hongbao_upstream_duration_seconds', { service: 'envelope', outcome: 'ok' });
  const handler = h('envelope', 'hongbao_rpc_server_duration_seconds', { pattern: 'envelope.grab', outcome: 'ok' });
  /** GC pauses: how many, their total (ms), how many took 10 ms or more, and the same by kind (minor = scavenge). */
  const gc = (text: 'gateway' | 'envelope') => {
    const all = h(text, 'nodejs_gc_duration_seconds', {});
    const kinds = GC_KINDS.map((kind) => ({ kind, k: h(text, 'nodejs_gc_duration_seconds', { kind }) }))
      .filter(({ k }) => k.count > 0)
      .map(({ kind, k }) => `${kind} ${k.count}/${ms(k.sum)}ms`);
    return `${all.count} pauses ${ms(all.sum)}ms, ${countAbove(all, 0.01)} >= 10ms (${kinds.join(', ')})`;
  };
  return {
    gateway_route_p50_ms: ms(quantile(route, 0.5)),
    gateway_route_p99_ms: ms(quantile(route, 0.99)),
    gateway_rpc_p99_ms: ms(quantile(rpc, 0.99)),
    envelope_handler_p99_ms: ms(quantile(handler, 0.99)),
    gateway_gc: gc('gateway'),
    envelope_gc: gc('envelope'),
  };
}

/** prom-client's `kind` label of nodejs_gc_duration_seconds. */
const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'];
