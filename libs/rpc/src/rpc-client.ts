import { AppError, ErrorCode } from '@hongbao/contracts';
import { Breaker, type BreakerOptions, isBreakerRejection, isDependencyFailure, retry } from '@hongbao/resilience';
import { Logger } from '@nestjs/common';
import { ClientTCP } from '@nestjs/microservices';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { lookup } from 'node:dns/promises';
import type { Subscription } from 'rxjs';
import { parseHostPort, type ResolvedAddress, type RpcAddress, toAddressMap } from './address';
import { CoalescingJsonSocket } from './coalescing-socket';
import { RoundRobin } from './round-robin';
import { request } from './request';
import { isConnectPhaseError, isRemoteError, noAddressError, toCallError } from './rpc-errors';

/** Options of an {@link RpcClient}. */
export interface RpcClientOptions {
  /**
   * `"host:port"` of the callee (`"[ipv6]:port"` for an IPv6 literal). The host is resolved
   * to every address (a compose service name, a Kubernetes headless Service) and the port is
   * used for every address that the resolver returns without one.
   */
  target: string;
  /** Re-resolve period in ms, default 2000. Also how soon a dropped address is redialled. */
  resolveIntervalMs?: number;
  /**
   * Per-call timeout in ms, default 5000: a call with no reply by then rejects with
   * DEPENDENCY.TIMEOUT. Also bounds how long {@link RpcClient.connect} waits for dials.
   */
  timeoutMs?: number;
  /** Name used in logs and error messages, default = `target`. */
  name?: string;
  /**
   * Resolves the target's host to its addresses; default: `dns.promises.lookup(host, {all: true})`.
   * Each answer is a bare IP (the target's port is used), an `"ip:port"` / `"[ipv6]:port"`
   * string, or `{host, port?}`, so a test can put several local listeners on different ports
   * behind one name: `resolve: async () => ['127.0.0.1:4001', '127.0.0.1:4002']`.
   * A rejection keeps the current addresses (a DNS hiccup must not drop healthy replicas);
   * an empty answer removes them all.
   */
  resolve?: (host: string) => Promise<readonly ResolvedAddress[]>;
  /**
   * Circuit breaker over every call of this client, registered as `rpc:<name>`: after repeated
   * DEPENDENCY.UNAVAILABLE / DEPENDENCY.TIMEOUT answers it opens and calls fail at once with
   * DEPENDENCY.UNAVAILABLE (`details: {breaker, retryAfterSeconds}`) until a trial call
   * succeeds. Domain errors never count. Defaults: those of `@hongbao/resilience` (50 % of at
   * least 10 calls in 10 s, reset after 5000 ms), with the breaker's own timeout off since
   * `timeoutMs` already bounds each call. `false` disables the breaker.
   */
  breaker?: BreakerOptions | false;
  /**
   * Which patterns are safe to send again after DEPENDENCY.UNAVAILABLE or DEPENDENCY.TIMEOUT
   * (the first attempt may have run on the callee). Default: none. {@link isRetrySafePattern}
   * answers for the contracts' patterns.
   */
  idempotent?: (pattern: string) => boolean;
  /**
   * Retry policy of idempotent patterns: `attempts` in total (default 3), full-jitter backoff
   * from `baseMs` (default 25) capped at `maxMs` (default 250). All attempts together stay
   * within `timeoutMs` of the first send; an open breaker (this client's or the callee's) is
   * never retried.
   */
  retry?: { attempts?: number; baseMs?: number; maxMs?: number };
}

type EndpointState = 'connecting' | 'up' | 'down' | 'draining' | 'closed';

/** One resolved address and its single connection. */
interface Endpoint {
  readonly key: string;
  readonly address: RpcAddress;
  /** replaced after a failed dial: Nest's ClientTCP cannot be redialled right after a refusal */
  client: ClientTCP;
  statusSub: Subscription;
  state: EndpointState;
  /** calls written or being written on this connection and not yet settled */
  inflight: number;
  drainTimer?: NodeJS.Timeout;
}

const DEFAULT_RESOLVE_INTERVAL_MS = 2000;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_RETRY = { attempts: 3, baseMs: 25, maxMs: 250 } as const;
/** Least ms between redials made by calls that an open breaker refused. */
const PROBE_INTERVAL_MS = 500;

/**
 * Worth another attempt: the callee was unreachable or silent. Not when a breaker (ours, or
 * the callee's for its own dependency) answered: it would answer the same a moment later.
 */
function isRetryableFailure(err: unknown): boolean {
  if (!(err instanceof AppError)) return false;
  if (err.code !== ErrorCode.DependencyUnavailable && err.code !== ErrorCode.DependencyTimeout) return false;
  return err.details?.['breaker'] === undefined;
}

/**
 * Payload field that carries the caller's trace context (`{traceparent, tracestate?, baggage?}`)
 * across an RPC. Added only when the caller has an active span; a tracing callee's interceptor
 * (service-kit) removes it before the handler runs, an untraced callee's handlers ignore it.
 */
export const RPC_TRACE_FIELD = '_trace';
const tracer = trace.getTracer('hongbao-rpc');

async function dnsResolve(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true });
  return answers.map((a) => a.address);
}

function positiveInt(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`RpcClient option ${option} must be a positive integer (ms), got ${value}`);
  }
  return value;
}

/**
 * RPC client over Nest TCP with client-side discovery: resolves the target's name to every
 * address, keeps one connection per address, round-robins calls over the healthy ones, drops
 * an address as soon as its connection fails and re-resolves every `resolveIntervalMs`
 * (adding new addresses, closing vanished ones, redialling dropped ones).
 *
 * A call is retried on another address at once if it failed while connecting (never written).
 * Once written it is re-sent only when its pattern is declared `idempotent`, after a jittered
 * backoff, within the call's `timeoutMs`. Every attempt goes through the client's circuit breaker.
 */
export class RpcClient {
  private readonly name: string;
  private readonly host: string;
  private readonly port: number;
  private readonly resolveIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly resolver: (host: string) => Promise<readonly ResolvedAddress[]>;
  private readonly logger: Logger;
  private readonly breaker?: Breaker;
  private readonly idempotent: (pattern: string) => boolean;
  private readonly retryPolicy: { attempts: number; baseMs: number; maxMs: number };
  /** when a call refused by the open breaker last redialled (epoch ms) */
  private lastProbe = 0;

  private readonly endpoints = new Map<string, Endpoint>();
  private readonly healthy = new RoundRobin<Endpoint>();
  /** retired endpoints still finishing their calls */
  private readonly draining = new Set<Endpoint>();
  private connecting?: Promise<void>;
  private refreshing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(opts: RpcClientOptions) {
    const target = parseHostPort(opts.target);
    this.host = target.host;
    this.port = target.port;
    this.name = opts.name ?? opts.target;
    this.resolveIntervalMs = positiveInt(opts.resolveIntervalMs, DEFAULT_RESOLVE_INTERVAL_MS, 'resolveIntervalMs');
    this.timeoutMs = positiveInt(opts.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.resolver = opts.resolve ?? dnsResolve;
    this.logger = new Logger(`RpcClient(${this.name})`);
    this.idempotent = opts.idempotent ?? (() => false);
    this.retryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
    // Only failures to reach the callee count: see isRemoteError.
    const isFailure = (err: unknown) => !isRemoteError(err) && isDependencyFailure(err);
    if (opts.breaker !== false) this.breaker = new Breaker(`rpc:${this.name}`, { timeoutMs: false, isFailure, ...opts.breaker });
  }

  /**
   * Resolves, dials every address (waiting at most `timeoutMs`) and starts re-resolution.
   * Resolves even if no address is up yet: calls then fail with DEPENDENCY.UNAVAILABLE until
   * a re-resolution finds one. Idempotent.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`RpcClient(${this.name}) is closed`));
    this.connecting ??= this.refresh().then(() => this.schedule());
    return this.connecting;
  }

  /**
   * Sends `data` to `pattern` on the next healthy address and resolves with the reply.
   * Rejects with an AppError: the callee's own AppError (same code, message, details);
   * DEPENDENCY.UNAVAILABLE when no address is reachable or the connection broke mid-call
   * (`details.maybeExecuted` is then true); DEPENDENCY.TIMEOUT when no reply came within
   * `timeoutMs`; INTERNAL when the callee failed with anything else. While the client's
   * breaker is open: DEPENDENCY.UNAVAILABLE with `details.breaker` at once, nothing sent.
   * An `idempotent` pattern is retried on DEPENDENCY.UNAVAILABLE / TIMEOUT (see `retry`).
   * `data` must not be null or undefined (Nest refuses it).
   */
  async send<TRes = unknown, TReq = unknown>(pattern: string, data: TReq): Promise<TRes> {
    if (data === undefined || data === null) {
      throw new TypeError(`RpcClient(${this.name}).send(${pattern}): data must not be null or undefined`);
    }
    // Outside any span (tracing off, or a background loop) a call costs no tracing work.
    const parent = context.active();
    if (trace.getSpan(parent) === undefined) return this.call<TRes>(pattern, data);
    const span = tracer.startSpan(pattern, { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'nestjs-tcp', 'rpc.method': pattern, 'peer.service': this.name } }, parent);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, span), carrier);
    const traced = typeof data === 'object' && !Array.isArray(data) ? { ...data, [RPC_TRACE_FIELD]: carrier } : data;
    try {
      return await this.call<TRes>(pattern, traced, span);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string') span.setAttribute('hongbao.error_code', code);
      if (code === 'INTERNAL' || typeof code !== 'string' || code.startsWith('DEPENDENCY.')) span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  }

  private call<TRes>(pattern: string, data: unknown, span?: Span): Promise<TRes> {
    if (!this.idempotent(pattern)) return this.guarded<TRes>(pattern, data, this.timeoutMs, span);
    const deadline = Date.now() + this.timeoutMs;
    return retry<TRes>((attempt) => this.guarded<TRes>(pattern, data, attempt === 1 ? this.timeoutMs : Math.max(1, deadline - Date.now()), span), {
      ...this.retryPolicy,
      deadline,
      retryOn: isRetryableFailure,
      onRetry: (attempt, err, delayMs) => {
        span?.addEvent('retry', { 'hongbao.attempt': attempt, 'hongbao.error_code': (err as AppError).code, 'hongbao.delay_ms': delayMs });
        this.logger.debug(`${pattern} attempt ${attempt} failed (${(err as AppError).code}); retrying in ${delayMs} ms`);
      },
    });
  }

  /**
   * One attempt through the breaker. While the breaker is open and no address is connected, one
   * refused call per PROBE_INTERVAL_MS redials first: a new connection closes the breaker (see
   * `dial`) and that call goes through; the other calls fail fast.
   */
  private async guarded<TRes>(pattern: string, data: unknown, timeoutMs: number, span?: Span): Promise<TRes> {
    const breaker = this.breaker;
    if (breaker === undefined) return this.attempt<TRes>(pattern, data, timeoutMs, span);
    try {
      return await breaker.run(() => this.attempt<TRes>(pattern, data, timeoutMs, span));
    } catch (err) {
      if (!isBreakerRejection(err) || this.healthy.size > 0 || this.closed || !this.connecting || Date.now() - this.lastProbe < PROBE_INTERVAL_MS) throw err;
      this.lastProbe = Date.now();
      await this.refresh().catch(() => undefined);
      if (breaker.state !== 'closed') throw err;
      return breaker.run(() => this.attempt<TRes>(pattern, data, timeoutMs, span));
    }
  }

  private async attempt<TRes>(pattern: string, data: unknown, timeoutMs: number, span?: Span): Promise<TRes> {
    // No healthy address yet (a callee that started after us, or one that just came back):
    // re-resolve and redial once before failing, instead of waiting for the next period.
    if (this.healthy.size === 0 && !this.closed && this.connecting) await this.refresh();
    // Each failed attempt drops its endpoint, so this is bounded by the number of addresses.
    for (let ep = this.healthy.next(); ep !== undefined; ep = this.healthy.next()) {
      ep.inflight++;
      span?.setAttribute('server.address', ep.key);
      try {
        return (await request(ep.client, pattern, data, timeoutMs)) as TRes;
      } catch (err) {
        if (isConnectPhaseError(err)) {
          // The request was never written: drop the address and give the call to the next one.
          this.markDown(ep, err);
          continue;
        }
        throw toCallError(err, { name: this.name, address: ep.key, timeoutMs });
      } finally {
        ep.inflight--;
        if (ep.state === 'draining' && ep.inflight === 0) this.dispose(ep);
      }
    }
    throw noAddressError(this.name);
  }

  /** The currently healthy addresses, `"ip:port"` (`"[ipv6]:port"`), in rotation order. */
  addresses(): string[] {
    return this.healthy.toArray().map((ep) => ep.key);
  }

  /** Stops re-resolution and closes every connection; calls still in flight fail with DEPENDENCY.UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.breaker?.dispose();
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const ep of this.endpoints.values()) this.dispose(ep);
    for (const ep of this.draining) this.dispose(ep);
    this.endpoints.clear();
    await this.refreshing?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((err: unknown) => this.logger.error(`re-resolution failed: ${(err as Error)?.message ?? String(err)}`))
        .finally(() => this.schedule());
    }, this.resolveIntervalMs);
    this.timer.unref();
  }

  /** One re-resolution; concurrent callers share it. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    let resolved: Map<string, RpcAddress>;
    try {
      resolved = toAddressMap(await this.resolver(this.host), this.port);
    } catch (err) {
      this.logger.warn(`resolving ${this.host} failed, keeping ${this.endpoints.size} known address(es): ${(err as Error).message}`);
      return;
    }
    if (this.closed) return;

    for (const [key, ep] of this.endpoints) {
      if (!resolved.has(key)) this.retire(ep);
    }
    const dials: Promise<void>[] = [];
    for (const [key, address] of resolved) {
      const known = this.endpoints.get(key);
      if (known === undefined) {
        const ep = this.createEndpoint(key, address);
        this.endpoints.set(key, ep);
        dials.push(this.dial(ep));
      } else if (known.state === 'down') {
        dials.push(this.dial(known));
      }
    }
    if (dials.length > 0) await this.boundedWait(Promise.all(dials));
  }

  /** Waits for `p` at most timeoutMs: a black-holed dial must not stall connect() or re-resolution. */
  private async boundedWait(p: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([p, limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  private createEndpoint(key: string, address: RpcAddress): Endpoint {
    const ep = { key, address, state: 'down', inflight: 0 } as Endpoint;
    this.attachClient(ep);
    return ep;
  }

  private attachClient(ep: Endpoint): void {
    const client = new ClientTCP({ host: ep.address.host, port: ep.address.port, socketClass: CoalescingJsonSocket });
    ep.client = client;
    // Nest reports every socket close (peer gone, reset, refused) here, synchronously from
    // the socket event, so the address leaves the rotation before another call can pick it.
    ep.statusSub = client.status.subscribe((status) => {
      if ((status as string) === 'disconnected' && ep.client === client) this.markDown(ep);
    });
  }

  /** Dials one endpoint; never rejects (a failed dial leaves it down until the next re-resolution). */
  private dial(ep: Endpoint): Promise<void> {
    ep.state = 'connecting';
    return ep.client.connect().then(
      () => {
        if (ep.state !== 'connecting' || this.closed) return;
        ep.state = 'up';
        this.healthy.add(ep);
        this.logger.log(`connected to ${ep.key}`);
        // A fresh connection is the callee answering again: no need to wait out resetTimeoutMs.
        // If it still fails calls, they open the breaker again.
        if (this.breaker !== undefined && this.breaker.state !== 'closed') {
          this.logger.log(`closing breaker ${this.breaker.name}: ${ep.key} is reachable again`);
          this.breaker.close();
        }
      },
      (err: unknown) => {
        if (ep.state === 'connecting') ep.state = 'down';
        // ClientTCP keeps its failed connection until the socket's 'close' event, which can come
        // after this rejection, and then breaks a redial: give the next dial a fresh client.
        if (ep.state === 'down') {
          const old = ep.client;
          ep.statusSub.unsubscribe();
          void Promise.resolve(old.close()).catch(() => undefined);
          this.attachClient(ep);
        }
        this.logger.debug(`dialling ${ep.key} failed: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }

  /** Takes an endpoint out of the rotation until a re-resolution redials it. */
  private markDown(ep: Endpoint, err?: unknown): void {
    if (ep.state === 'draining') {
      if (ep.inflight === 0) this.dispose(ep);
      return;
    }
    if (ep.state !== 'up') return;
    ep.state = 'down';
    this.healthy.remove(ep);
    this.logger.warn(`dropped ${ep.key}${err instanceof Error ? `: ${err.message}` : ': connection closed'}`);
  }

  /** The address vanished from the answer: stop sending to it, close once its calls settle (at most timeoutMs). */
  private retire(ep: Endpoint): void {
    this.endpoints.delete(ep.key);
    this.healthy.remove(ep);
    this.logger.log(`${ep.key} no longer resolved, closing`);
    if (ep.inflight === 0) {
      this.dispose(ep);
      return;
    }
    ep.state = 'draining';
    this.draining.add(ep);
    ep.drainTimer = setTimeout(() => this.dispose(ep), this.timeoutMs);
    ep.drainTimer.unref();
  }

  private dispose(ep: Endpoint): void {
    if (ep.state === 'closed') return;
    ep.state = 'closed';
    clearTimeout(ep.drainTimer);
    this.draining.delete(ep);
    this.healthy.remove(ep);
    ep.statusSub.unsubscribe();
    ep.client.close();
  }
}
