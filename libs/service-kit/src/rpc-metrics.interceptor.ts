import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { finalize, Observable, tap } from 'rxjs';
import type { Admission } from './admission';
import type { Metrics } from './metrics';

/**
 * Counts and times every RPC message by pattern and outcome (ok, or the error code), and, given
 * an {@link Admission}, sheds messages over its limits before the handler runs (outcome
 * OVERLOADED). One interceptor for both: Nest's per-interceptor cost is paid per message.
 */
@Injectable()
export class RpcMetricsInterceptor implements NestInterceptor {
  constructor(
    private readonly metrics: Metrics,
    private readonly admission?: Admission,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'rpc') return next.handle();
    const pattern = String(ctx.switchToRpc().getContext()?.getPattern?.() ?? 'unknown');
    const start = process.hrtime.bigint();
    const done = (outcome: string) => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      this.metrics.rpcRequests.labels(pattern, outcome).inc();
      this.metrics.rpcDuration.labels(pattern, outcome).observe(s);
    };
    const refused = this.admission?.admitRpc();
    if (refused) {
      done(refused.code);
      throw refused;
    }
    const handled = next.handle().pipe(
      tap({
        next: () => done('ok'),
        error: (err: { code?: string }) => done(typeof err?.code === 'string' ? err.code : 'INTERNAL'),
      }),
    );
    return this.admission ? handled.pipe(finalize(() => this.admission!.leave())) : handled;
  }
}
