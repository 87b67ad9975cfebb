import { BREAKER_EVENTS, breakers, type BreakerRegistry, type BreakerState } from '@hongbao/resilience';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: fine-grained under 25 ms, where the grab path lives. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Memoizes what `resolve` returns for each distinct triple of label values (a metric's labelled
 * children, typically). prom-client's `labels()` builds a labels object, validates it and hashes
 * it into a string key on every call: on a path taken per request that is measurable garbage
 * (docs/performance.md). The lookup itself allocates nothing (nested maps, no joined key); the
 * child's `inc()` / `observe()` still hash their labels once more (prom-client 15 children keep
 * no hash). Only for label values from a bounded set (route patterns, status codes, outcome
 * codes): every distinct triple is kept.
 */
export function labelledChildren<C>(resolve: (a: string, b: string, c: string) => C): (a: string, b: string, c: string) => C {
  const root = new Map<string, Map<string, Map<string, C>>>();
  return (a, b, c) => {
    let byB = root.get(a);
    if (!byB) root.set(a, (byB = new Map()));
    let byC = byB.get(b);
    if (!byC) byB.set(b, (byC = new Map()));
    let child = byC.get(c);
    if (child === undefined) byC.set(c, (child = resolve(a, b, c)));
    return child;
  };
}

/** `hongbao_breaker_state` values. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, halfOpen: 1, open: 2 };

/** One prom-client registry per process, with the metrics every service shares. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly rpcRequests: Counter<'pattern' | 'outcome'>;
  readonly rpcDuration: Histogram<'pattern' | 'outcome'>;

  /** @param breakerRegistry whose breakers to export, default the process-wide one */
  constructor(
    readonly service: string,
    breakerRegistry: BreakerRegistry = breakers,
  ) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = this.counter('http_requests_total', 'HTTP requests by route and status', ['method', 'route', 'status']);
    this.httpDuration = this.histogram('http_request_duration_seconds', 'HTTP latency by route and status', ['method', 'route', 'status']);
    this.rpcRequests = this.counter('rpc_server_requests_total', 'RPC messages handled, by pattern and outcome code', ['pattern', 'outcome']);
    this.rpcDuration = this.histogram('rpc_server_duration_seconds', 'RPC handler latency', ['pattern', 'outcome']);
    this.exportBreakers(breakerRegistry);
  }

  /**
   * Breaker state and events, read from the registry at scrape time (nothing to subscribe to or
   * leak): a gauge per live breaker, and counters per breaker name that survive a breaker being
   * replaced by a new one of the same name.
   */
  private exportBreakers(registry: BreakerRegistry): void {
    this.gauge('breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open', ['breaker'], function () {
      this.reset();
      for (const b of registry.list()) this.labels(b.name).set(BREAKER_STATE_VALUE[b.state]);
    });
    new Counter({
      name: 'hongbao_breaker_events_total',
      help: 'Circuit breaker events: open, close, halfOpen, reject (failed fast), timeout, failure (counted against the dependency)',
      labelNames: ['breaker', 'event'],
      registers: [this.registry],
      collect(this: Counter<'breaker' | 'event'>) {
        this.reset();
        for (const { name, counts } of registry.eventCounts()) {
          for (const event of BREAKER_EVENTS) this.labels(name, event).inc(counts[event]);
        }
      },
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name: `hongbao_${name}`, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: L[] = [], collect?: (this: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge({ name: `hongbao_${name}`, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  histogram<L extends string>(name: string, help: string, labelNames: L[] = [], buckets = LATENCY_BUCKETS): Histogram<L> {
    return new Histogram({ name: `hongbao_${name}`, help, labelNames, buckets, registers: [this.registry] });
  }
}
