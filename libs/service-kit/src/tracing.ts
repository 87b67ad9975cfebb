import { hostname } from 'node:os';
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanContext,
  SpanStatusCode,
  trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import { loadTracingConfig } from '@hongbao/config';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry tracing for every service: spans go to an OTLP/HTTP (JSON) endpoint when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not
 * true; otherwise nothing is loaded and every helper here is a no-op.
 *
 * Two phases. Importing this module (first thing in each main.ts, as
 * `@hongbao/service-kit/tracing`) installs the require hooks for http and mysql2, which must
 * precede the first `require` of those. {@link startTracing} (called by runService)
 * then registers the tracer provider, named after the service; instrumentations hold proxy
 * tracers that start recording from that moment.
 */
const config = loadTracingConfig();
let provider: { shutdown(): Promise<void> } | undefined;
const tracer = trace.getTracer('hongbao');

if (config.enabled) installHooks();

function installHooks(): void {
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { MySQL2Instrumentation } = require('@opentelemetry/instrumentation-mysql2') as typeof import('@opentelemetry/instrumentation-mysql2');
  // No ioredis instrumentation: the hot client auto-pipelines, so a command's span would be
  // created when its batch is flushed, under whichever caller opened the batch (another grab,
  // or a relay poll), and grab traces would show other grabs' Lua calls.
  registerInstrumentations({
    instrumentations: [
      // Probes and scrapes are not traces.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)(\/|\?|$)/.test(req.url ?? ''), requireParentforOutgoingSpans: true }),
      // SQL text without values: cheaper, and no user data in the spans.
      new MySQL2Instrumentation({ maskStatement: true }),
    ],
  });
}

/**
 * Registers the tracer provider (batching OTLP/HTTP exporter, W3C trace context and baggage
 * propagation, AsyncLocalStorage context) if tracing is on. Returns whether it is on.
 */
export function startTracing(serviceName: string): boolean {
  if (!config.enabled || provider) return provider !== undefined;
  const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        'service.name': config.OTEL_SERVICE_NAME ?? serviceName,
        'service.instance.id': `${hostname()}-${process.pid}`,
        'host.name': hostname(),
      }),
    );
  const p = new NodeTracerProvider({
    resource,
    sampler: new NoRootClientSpans(envSampler()),
    // The exporter reads OTEL_EXPORTER_OTLP_* and the processor OTEL_BSP_* themselves.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  p.register();
  provider = p;
  return true;
}

/** Flushes and stops the exporter, waiting at most `timeoutMs` (a dead collector must not hold up shutdown). */
export async function stopTracing(timeoutMs = 2000): Promise<void> {
  const p = provider;
  if (!p) return;
  provider = undefined;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.shutdown().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}

/** Whether spans are being recorded in this process (the fast-path check of every helper). */
export function tracingOn(): boolean {
  return provider !== undefined;
}

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG as the spec defines them. */
function envSampler(): Sampler {
  const s = require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const ratio = () => new s.TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG);
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new s.AlwaysOnSampler();
    case 'always_off':
      return new s.AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new s.ParentBasedSampler({ root: new s.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new s.ParentBasedSampler({ root: ratio() });
    default:
      return new s.ParentBasedSampler({ root: new s.AlwaysOnSampler() });
  }
}

/**
 * A client span with no parent never starts a trace: background polls (the outbox relay's reads,
 * the sweepers' queries, metric gauges) would otherwise make a one-span trace per SQL call.
 */
class NoRootClientSpans implements Sampler {
  constructor(private readonly inner: Sampler) {}
  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (kind === SpanKind.CLIENT && trace.getSpanContext(ctx) === undefined) return { decision: 0 /* SamplingDecision.NOT_RECORD */ };
    return this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
  }
  toString(): string {
    return `NoRootClientSpans{${this.inner.toString()}}`;
  }
}

/** `trace_id` and `span_id` of the active span for pino's mixin; `{}` outside any span. */
export function traceLogFields(): Record<string, string> {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** W3C `traceparent` of a span context. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The active span's W3C `traceparent`, to store beside work that continues later elsewhere
 * (a stream entry, a job item, an outbox row); undefined when tracing is off or no span is active.
 */
export function currentTraceparent(): string | undefined {
  if (!provider) return undefined;
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a stored W3C traceparent; undefined for anything malformed. */
export function parseTraceparent(tp: string | null | undefined): SpanContext | undefined {
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** Carries stored traceparents across a batch: the batch span's own when it joined that trace, else the original. */
export type CarryTraceparent = (tp: string | null | undefined) => string | undefined;
const passThrough: CarryTraceparent = (tp) => tp ?? undefined;

/**
 * Runs `fn` as one span for a batch of work items that each may carry a stored traceparent.
 * One distinct trace among the items: the span is its child, so a single grab stays one
 * connected trace. Several: the span starts its own trace and links to each item's context.
 * `fn` gets `carry(tp)`, the traceparent to store downstream for an item. Tracing off: `fn`
 * runs as is, `traceparents` is never called, and `carry` returns what it is given.
 */
export async function inBatchSpan<T>(
  name: string,
  kind: SpanKind,
  traceparents: () => readonly (string | null | undefined)[],
  fn: (carry: CarryTraceparent) => Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  if (!provider) return fn(passThrough);
  const stored = traceparents();
  const parents = new Map<string, SpanContext>();
  for (const tp of stored) {
    const sc = parseTraceparent(tp);
    if (sc && !parents.has(sc.traceId)) parents.set(sc.traceId, sc);
  }
  const only = parents.size === 1 ? [...parents.values()][0] : undefined;
  const parentCtx = only ? trace.setSpanContext(ROOT_CONTEXT, only) : ROOT_CONTEXT;
  const links: Link[] = only ? [] : [...parents.values()].map((sc) => ({ context: sc }));
  const span = tracer.startSpan(name, { kind, links, attributes: { ...attributes, 'hongbao.batch.size': stored.length } }, parentCtx);
  const own = span.spanContext();
  const ownTp = formatTraceparent(own);
  const carry: CarryTraceparent = (tp) => {
    const sc = parseTraceparent(tp);
    return sc && sc.traceId === own.traceId ? ownTp : (tp ?? undefined);
  };
  return context.with(trace.setSpan(parentCtx, span), () => endWith(span, fn(carry)));
}

/** Ends `span` when `work` settles, marking a failure as an error. */
export async function endWith<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    markError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Records a failure on a span. Expected outcomes (errors with a string code, e.g.
 * ENVELOPE.SOLD_OUT) are an attribute only; bugs and unavailable dependencies set ERROR status.
 */
export function markError(span: Span, err: unknown): void {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') span.setAttribute('hongbao.error_code', code);
  if (typeof code !== 'string' || code === 'INTERNAL' || code.startsWith('DEPENDENCY.')) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    if (err instanceof Error) span.recordException(err);
  }
}

const carrierGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => (typeof c[k] === 'string' ? (c[k] as string) : undefined),
};

/** Starts a span under the context propagated in `carrier` (e.g. an RPC payload's `_trace`). */
export function startRemoteChildSpan(name: string, kind: SpanKind, carrier: unknown, attributes?: Attributes): { span: Span; ctx: Context } | undefined {
  if (!provider) return undefined;
  const parentCtx = carrier && typeof carrier === 'object' ? propagation.extract(ROOT_CONTEXT, carrier as Record<string, unknown>, carrierGetter) : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind, attributes }, parentCtx);
  return { span, ctx: trace.setSpan(parentCtx, span) };
}

export { SpanKind };
