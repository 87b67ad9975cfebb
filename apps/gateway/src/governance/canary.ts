import { createHash } from 'node:crypto';
import type { RpcClient } from '@hongbao/rpc';
import { labelledChildren, type Metrics } from '@hongbao/service-kit';

export type Pool = 'stable' | 'canary';

/** Who a call is for: the user (stickiness) and the value of the canary header, if any. */
export interface Caller {
  userId: string;
  canaryHeader?: string;
}

export interface CanaryPolicy {
  /** share of users (0-100) sent to the canary */
  percent: number;
  /** users always sent to the canary */
  users: readonly string[];
}

/** The caller of a request: the user from the token and the canary header (`CANARY_HEADER`), if any. */
export function callerOf(userId: string, headers: Record<string, string | string[] | undefined>, canaryHeader: string): Caller {
  const h = headers[canaryHeader];
  return typeof h === 'string' ? { userId, canaryHeader: h } : { userId };
}

/**
 * Picks the pool for a caller (灰度): the header first (`canary` or `stable`), then the user
 * list, then a stable hash of the user id against the percentage, so a user stays on the same
 * side across requests and gateway replicas (and a rising percentage only moves users one way).
 */
export class CanaryRouter {
  private readonly users: Set<string>;
  private readonly threshold: number;

  constructor(policy: CanaryPolicy) {
    this.users = new Set(policy.users);
    this.threshold = Math.round(policy.percent * 100);
  }

  pick(caller: Caller): Pool {
    const h = caller.canaryHeader?.trim().toLowerCase();
    if (h === 'canary') return 'canary';
    if (h === 'stable') return 'stable';
    if (this.users.has(caller.userId)) return 'canary';
    if (this.threshold <= 0) return 'stable';
    return bucketOf(caller.userId) < this.threshold ? 'canary' : 'stable';
  }
}

/** A user's bucket in 0..9999, the same on every replica and every start. */
export function bucketOf(userId: string): number {
  return createHash('sha256').update(userId).digest().readUInt32BE(0) % 10_000;
}

/**
 * One service as the gateway sees it: the stable pool and, if configured, a canary pool (a
 * second DNS name). Every call is counted by service, pool and outcome, so the canary's error
 * rate and latency can be compared with the stable pool's before promoting it.
 */
export class Upstream {
  constructor(
    readonly service: string,
    private readonly stable: RpcClient,
    private readonly canary: RpcClient | undefined,
    private readonly router: CanaryRouter,
    private readonly metrics: UpstreamMetrics,
  ) {}

  /** The pool a caller's calls go to (always stable without a canary pool). */
  poolFor(caller: Caller | undefined): Pool {
    return this.canary && caller ? this.router.pick(caller) : 'stable';
  }

  async send<TRes>(pattern: string, data: object, caller?: Caller): Promise<TRes> {
    const pool = this.poolFor(caller);
    const client = pool === 'canary' ? this.canary! : this.stable;
    const start = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await client.send<TRes>(pattern, data);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      outcome = typeof code === 'string' ? code : 'INTERNAL';
      throw err;
    } finally {
      const m = this.metrics.children(this.service, pool, outcome);
      m.calls.inc();
      m.duration.observe(Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  clients(): RpcClient[] {
    return this.canary ? [this.stable, this.canary] : [this.stable];
  }
}

export class UpstreamMetrics {
  readonly calls;
  readonly duration;
  /** both metrics' children for (service, pool, outcome); outcomes are error codes, a bounded set */
  readonly children;
  constructor(metrics: Metrics) {
    this.calls = metrics.counter('upstream_requests_total', 'RPC calls from the gateway, by service, pool (stable/canary) and outcome', ['service', 'pool', 'outcome']);
    this.duration = metrics.histogram('upstream_duration_seconds', 'RPC call latency from the gateway, by service, pool and outcome', ['service', 'pool', 'outcome']);
    this.children = labelledChildren((service, pool, outcome) => ({ calls: this.calls.labels(service, pool, outcome), duration: this.duration.labels(service, pool, outcome) }));
  }
}
