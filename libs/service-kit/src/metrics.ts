import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds: fine-grained under 25 ms, where the grab path lives. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One prom-client registry per process, with the metrics every service shares. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly rpcRequests: Counter<'pattern' | 'outcome'>;
  readonly rpcDuration: Histogram<'pattern' | 'outcome'>;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = this.counter('http_requests_total', 'HTTP requests by route and status', ['method', 'route', 'status']);
    this.httpDuration = this.histogram('http_request_duration_seconds', 'HTTP latency by route and status', ['method', 'route', 'status']);
    this.rpcRequests = this.counter('rpc_server_requests_total', 'RPC messages handled, by pattern and outcome code', ['pattern', 'outcome']);
    this.rpcDuration = this.histogram('rpc_server_duration_seconds', 'RPC handler latency', ['pattern', 'outcome']);
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
