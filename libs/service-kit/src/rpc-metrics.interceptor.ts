import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, tap } from 'rxjs';
import type { Metrics } from './metrics';

/** Counts and times every RPC message by pattern and outcome (ok, or the error code). */
@Injectable()
export class RpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: Metrics) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const pattern = String(ctx.switchToRpc().getContext()?.getPattern?.() ?? 'unknown');
    const start = process.hrtime.bigint();
    const done = (outcome: string) => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      this.metrics.rpcRequests.labels(pattern, outcome).inc();
      this.metrics.rpcDuration.labels(pattern, outcome).observe(s);
    };
    return next.handle().pipe(
      tap({
        next: () => done('ok'),
        error: (err: { code?: string }) => done(typeof err?.code === 'string' ? err.code : 'INTERNAL'),
      }),
    );
  }
}
