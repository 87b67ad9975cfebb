import { type MessageHandler, ServerTCP, type TcpSocket } from '@nestjs/microservices';
import { context } from '@opentelemetry/api';
import { CoalescingJsonSocket, RPC_TRACE_FIELD, rpcErrorAnswer } from '@hongbao/rpc';
import { isObservable, type Observable, tap, throwError } from 'rxjs';
import type { Admission } from './admission';
import { labelledChildren, type Metrics } from './metrics';
import { markError, SpanKind, startRemoteChildSpan } from './tracing';

export interface RpcServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  /** load shedding: a message over the limits is answered OVERLOADED before its handler runs */
  admission?: Admission;
  /** continue callers' traces (the `_trace` payload field) in a server span per message */
  tracing: boolean;
  /** handlers answered outside Nest's RPC pipeline (see {@link DirectRpcHandlers}) */
  direct?: DirectRpcHandlers;
}

/** A message handler on the direct path: the payload in, the answer (or a thrown AppError) out. */
export type DirectRpcHandler = (data: unknown) => Promise<unknown>;

/**
 * Message patterns a service answers outside Nest's RPC pipeline, registered by its providers
 * (at module init; DI: `@Inject(DIRECT_RPC)`). Nest runs every message through its context
 * creator, an rxjs chain and a tick's delay (with rxjs, about 29% of the envelope service's
 * allocations per grab, docs/performance.md); a direct handler is called with the payload and
 * its answer written as Nest would write it. There are no pipes, guards or interceptors on this
 * path (the services use none on RPC): a handler validates its own input. Metrics, load
 * shedding and tracing are the same as for every message, and errors map as AppErrorRpcFilter
 * maps them.
 */
export class DirectRpcHandlers {
  private readonly handlers = new Map<string, DirectRpcHandler>();

  add(pattern: string, handler: DirectRpcHandler): void {
    if (this.handlers.has(pattern)) throw new Error(`a direct RPC handler for ${pattern} is registered already`);
    this.handlers.set(pattern, handler);
  }

  get(pattern: string): DirectRpcHandler | undefined {
    return this.handlers.get(pattern);
  }
}

/** Distinct patterns remembered by {@link RpcServer.getRouteFromPattern}; more are resolved each time. */
const MAX_REMEMBERED_PATTERNS = 1_000;

/**
 * Nest's TCP transport (the wire protocol RpcClient speaks, unchanged; answers written in the
 * same tick go out in one write, see CoalescingJsonSocket) with the per-message
 * work of a service done around each message handler instead of in Nest interceptors:
 * metrics by pattern and outcome, load shedding, and the caller's trace. A global interceptor
 * costs every message two AsyncResource bindings and an rxjs chain in Nest 11 (about 8% of the
 * envelope service's CPU at saturation, docs/performance.md); a wrapped handler costs a call.
 * Handlers still run through Nest's RPC pipeline (pipes, the exception filter) as before.
 */
export class RpcServer extends ServerTCP {
  private readonly routes = new Map<string, string>();
  /** direct handlers with metrics, admission and tracing around them, wrapped on first use */
  private readonly direct = new Map<string, MessageHandler>();

  constructor(private readonly opts: RpcServerOptions) {
    super({ host: opts.host, port: opts.port, socketClass: CoalescingJsonSocket });
  }

  /**
   * Nest resolves every message's pattern with JSON.parse, which throws (building a SyntaxError
   * with its stack) for a plain string pattern such as `envelope.grab`: remembered per pattern.
   */
  protected override getRouteFromPattern(pattern: string): string {
    let route = this.routes.get(pattern);
    if (route === undefined) {
      route = super.getRouteFromPattern(pattern);
      if (this.routes.size < MAX_REMEMBERED_PATTERNS) this.routes.set(pattern, route);
    }
    return route;
  }

  /**
   * A request (it has an id) for a pattern on the direct path is answered here; everything else
   * (events, other patterns, unknown ones) goes through Nest's handling as before.
   */
  override handleMessage(socket: TcpSocket, rawMessage: unknown): Promise<unknown> {
    const packet = rawMessage as { id?: unknown; pattern?: unknown; data?: unknown } | null;
    if (this.opts.direct && packet && packet.id !== undefined && typeof packet.pattern === 'string') {
      const handler = this.directFor(packet.pattern);
      if (handler) return this.answerDirect(socket, packet.pattern, packet.id, handler, packet.data);
    }
    return super.handleMessage(socket, rawMessage);
  }

  private directFor(pattern: string): MessageHandler | undefined {
    let wrapped = this.direct.get(pattern);
    if (!wrapped) {
      const handler = this.opts.direct?.get(pattern);
      if (!handler) return undefined;
      wrapped = this.instrument(pattern, handler as MessageHandler, true);
      this.direct.set(pattern, wrapped);
    }
    return wrapped;
  }

  /** Writes what Nest writes for a handler's promise: `{response, isDisposed, id}`, or `{err, isDisposed, id}`. */
  private async answerDirect(socket: TcpSocket, pattern: string, id: unknown, handler: MessageHandler, data: unknown): Promise<void> {
    let answer: Record<string, unknown>;
    try {
      answer = { response: await handler(data, undefined), isDisposed: true, id };
    } catch (err) {
      answer = { err: rpcErrorAnswer(err, pattern), isDisposed: true, id };
    }
    socket.sendMessage(answer);
  }

  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler = false, extras: Record<string, unknown> = {}): void {
    super.addHandler(pattern, isEventHandler ? callback : this.instrument(this.normalizePattern(pattern as string), callback), isEventHandler, extras);
  }

  /** The handler with metrics, admission and tracing around it (`direct`: a refusal is thrown, not an erroring observable). */
  private instrument(pattern: string, handler: MessageHandler, direct = false): MessageHandler {
    const { metrics, admission, tracing } = this.opts;
    // Children by outcome, each resolved once (prom-client hashes the labels on every labels() call).
    const byOutcome = labelledChildren((outcome) => ({ count: metrics.rpcRequests.labels(pattern, outcome), time: metrics.rpcDuration.labels(pattern, outcome) }));
    const ok = byOutcome('ok', '', '');
    const record = (outcome: string, start: bigint) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const m = outcome === 'ok' ? ok : byOutcome(outcome, '', '');
      m.count.inc();
      m.time.observe(seconds);
    };
    const wrapped = async (data: unknown, ctx: unknown): Promise<unknown> => {
      const start = process.hrtime.bigint();
      const refused = admission?.admitRpc();
      if (refused) {
        record(refused.code, start);
        if (direct) throw refused;
        return throwError(() => refused.toPayload());
      }
      let open = true;
      const end = (outcome: string) => {
        if (!open) return;
        open = false;
        record(outcome, start);
        admission?.leave();
      };
      const span = tracing ? startServerSpan(pattern, data) : undefined;
      let out: unknown;
      try {
        out = await (span ? context.with(span.ctx, () => handler(data, ctx)) : handler(data, ctx));
      } catch (err) {
        // Nest's exception filter normally turns a failure into an erroring observable; this is the rest.
        if (span) {
          markError(span.span, err);
          span.span.end();
        }
        end(codeOf(err));
        throw err;
      }
      if (!isObservable(out)) {
        span?.span.end();
        end('ok');
        return out;
      }
      // A failure (the exception filter's answer) or a handler that returned an observable.
      return (out as Observable<unknown>).pipe(
        tap({
          next: () => end('ok'),
          error: (err: unknown) => {
            if (span) markError(span.span, err);
            end(codeOf(err));
          },
          finalize: () => {
            span?.span.end();
            end('ok');
          },
        }),
      );
    };
    return wrapped as MessageHandler;
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** Takes the caller's `_trace` carrier out of the payload (the handler never sees it) and starts the server span. */
function startServerSpan(pattern: string, data: unknown): ReturnType<typeof startRemoteChildSpan> {
  let carrier: unknown;
  if (data !== null && typeof data === 'object' && RPC_TRACE_FIELD in data) {
    carrier = (data as Record<string, unknown>)[RPC_TRACE_FIELD];
    delete (data as Record<string, unknown>)[RPC_TRACE_FIELD];
  }
  return startRemoteChildSpan(pattern, SpanKind.SERVER, carrier, { 'rpc.system': 'nestjs-tcp', 'rpc.method': pattern });
}
