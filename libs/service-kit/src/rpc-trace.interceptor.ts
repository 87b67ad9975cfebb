import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { RPC_TRACE_FIELD } from '@hongbao/rpc';
import { finalize, Observable, tap } from 'rxjs';
import { markError, SpanKind, startRemoteChildSpan } from './tracing';

/**
 * Continues the caller's trace in an RPC handler: takes the `_trace` carrier out of the
 * payload, so the handler never sees it, and runs the handler inside a server span named after
 * the pattern, child of the caller's span. runService installs it only when tracing is on.
 */
@Injectable()
export class RpcTraceInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const data: unknown = ctx.switchToRpc().getData();
    let carrier: unknown;
    if (data !== null && typeof data === 'object' && RPC_TRACE_FIELD in data) {
      carrier = (data as Record<string, unknown>)[RPC_TRACE_FIELD];
      delete (data as Record<string, unknown>)[RPC_TRACE_FIELD];
    }
    const pattern = String(ctx.switchToRpc().getContext()?.getPattern?.() ?? 'unknown');
    const started = startRemoteChildSpan(pattern, SpanKind.SERVER, carrier, { 'rpc.system': 'nestjs-tcp', 'rpc.method': pattern });
    if (!started) return next.handle();
    const { span, ctx: spanCtx } = started;
    // handle() binds the handler to the async context current at this call.
    return context.with(spanCtx, () => next.handle()).pipe(
      tap({ error: (err: unknown) => markError(span, err) }),
      finalize(() => span.end()),
    );
  }
}
