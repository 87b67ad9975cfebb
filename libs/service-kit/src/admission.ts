import underPressure from '@fastify/under-pressure';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics';

/** Load-shedding limits of one process (see ServiceBaseConfig's SHED_* variables). */
export interface AdmissionOptions {
  /** requests in flight (HTTP and RPC together) above which new ones are refused; 0 = unbounded */
  maxInflight: number;
  /** mean event-loop delay in ms above which new requests are refused; 0 = off */
  maxEventLoopDelayMs: number;
  /** Retry-After in seconds on a shed request */
  retryAfterSeconds: number;
}

/** Routes that are never shed: probes and scrapes must answer under load, or the process looks dead. */
const EXEMPT = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * Admission control (load shedding) for one process. Two gates, checked before any work:
 * the event-loop delay, measured by @fastify/under-pressure, and a bound on requests in
 * flight (a counter: too small a thing for a library). A shed request costs microseconds and
 * is answered 503 `OVERLOADED` with `Retry-After` instead of queueing behind the backlog.
 * HTTP requests are gated by a Fastify hook, RPC messages by the RpcServer;
 * both count in the same in-flight total. Nothing has been written when a request is shed.
 */
export class Admission {
  private inflight = 0;
  private fastify?: FastifyInstance;

  private readonly shed: ReturnType<Metrics['counter']>;

  constructor(
    private readonly opts: AdmissionOptions,
    metrics: Metrics,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect() to the gauge
    const self = this;
    metrics.gauge('inflight_requests', 'HTTP requests and RPC messages being handled', [], function collect() {
      this.set(self.inflight);
    });
    metrics.gauge('event_loop_delay_ms', 'mean event-loop delay over the last sample (under-pressure)', [], function collect() {
      this.set(self.eventLoopDelayMs());
    });
    this.shed = metrics.counter('shed_requests_total', 'requests refused by load shedding, by transport and reason', ['transport', 'reason']);
  }

  /** Registers under-pressure and the in-flight gate on the service's Fastify instance. */
  install(fastify: FastifyInstance): void {
    this.fastify = fastify;
    void fastify.register(underPressure, {
      maxEventLoopDelay: this.opts.maxEventLoopDelayMs,
      retryAfter: this.opts.retryAfterSeconds,
      // Called only when a limit is exceeded: undefined lets the request through, a value is sent.
      pressureHandler: (req: FastifyRequest, reply: FastifyReply, type: string) => {
        if (EXEMPT.has(req.routeOptions.url ?? '')) return undefined;
        this.shed.labels('http', type).inc();
        // Sending here ends the request; under-pressure then skips the route (its README's pattern).
        void reply.send(this.refuse(reply, req, `event-loop delay over ${this.opts.maxEventLoopDelayMs} ms`));
        return undefined;
      },
    });
    fastify.addHook('onRequest', (req, reply, done) => {
      if (EXEMPT.has(req.routeOptions.url ?? '')) return done();
      if (!this.enter()) {
        this.shed.labels('http', 'inflight').inc();
        void reply.send(this.refuse(reply, req, `more than ${this.opts.maxInflight} requests in flight`));
        return;
      }
      // 'close' ends every response: after it is sent, or when the connection drops first.
      reply.raw.once('close', () => this.leave());
      done();
    });
  }

  /** Mean event-loop delay in ms, as under-pressure last sampled it (0 before install). */
  eventLoopDelayMs(): number {
    const f = this.fastify as (FastifyInstance & { memoryUsage?: () => { eventLoopDelay: number } }) | undefined;
    return f?.memoryUsage?.().eventLoopDelay ?? 0;
  }

  /** Whether an RPC message may start now; if so the caller must call {@link leave} when it ends. */
  admitRpc(): AppError | undefined {
    if (this.opts.maxEventLoopDelayMs > 0 && this.eventLoopDelayMs() > this.opts.maxEventLoopDelayMs) {
      this.shed.labels('rpc', 'eventLoopDelay').inc();
      return this.overloaded(`event-loop delay over ${this.opts.maxEventLoopDelayMs} ms`);
    }
    if (!this.enter()) {
      this.shed.labels('rpc', 'inflight').inc();
      return this.overloaded(`more than ${this.opts.maxInflight} requests in flight`);
    }
    return undefined;
  }

  leave(): void {
    this.inflight--;
  }

  private enter(): boolean {
    if (this.opts.maxInflight > 0 && this.inflight >= this.opts.maxInflight) return false;
    this.inflight++;
    return true;
  }

  private overloaded(why: string): AppError {
    return new AppError(ErrorCode.Overloaded, `overloaded (${why}); retry later`, { retryAfterSeconds: this.opts.retryAfterSeconds });
  }

  private refuse(reply: FastifyReply, req: FastifyRequest, why: string): { code: string; message: string; correlationId: string } {
    void reply.status(503).header('retry-after', String(this.opts.retryAfterSeconds)).header('content-type', 'application/json; charset=utf-8');
    return { code: ErrorCode.Overloaded, message: `overloaded (${why}); retry later`, correlationId: req.id };
  }
}
