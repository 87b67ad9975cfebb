import { AppError, type ErrorPayload } from '@hongbao/contracts';
import { type ArgumentsHost, Catch, Logger, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';
import { INTERNAL_ERROR_PAYLOAD } from './rpc-errors';

/**
 * The wire body for an exception thrown by an RPC handler: an AppError's own payload, an
 * RpcException that already carries a `{code, message}` payload as is, anything else the
 * generic INTERNAL body (never its message or stack: those go to the log only).
 */
export function toRpcErrorPayload(exception: unknown): ErrorPayload | undefined {
  if (exception instanceof AppError) return exception.toPayload();
  if (exception instanceof RpcException) {
    const inner = exception.getError();
    if (AppError.isPayload(inner)) return inner;
  }
  return undefined;
}

/**
 * Exception filter for the microservice side (`app.useGlobalFilters(new AppErrorRpcFilter())`
 * or `@UseFilters`): an AppError reaches the caller as `{code, message, details?}`, which
 * RpcClient turns back into the same AppError; any other error is logged here with its stack
 * and the caller gets `{code: 'INTERNAL', message: 'internal error'}`.
 */
@Catch()
export class AppErrorRpcFilter implements RpcExceptionFilter<unknown> {
  private static readonly logger = new Logger('AppErrorRpcFilter');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const payload = toRpcErrorPayload(exception);
    if (payload) return throwError(() => payload);
    AppErrorRpcFilter.logger.error(
      `unhandled error in RPC handler ${patternOf(host)}: ${exception instanceof Error ? exception.message : String(exception)}`,
      exception instanceof Error ? exception.stack : undefined,
    );
    return throwError(() => ({ ...INTERNAL_ERROR_PAYLOAD }));
  }
}

function patternOf(host: ArgumentsHost): string {
  if (host.getType() !== 'rpc') return '(not rpc)';
  const ctx: unknown = host.switchToRpc().getContext();
  const getPattern = (ctx as { getPattern?: () => unknown } | null)?.getPattern;
  return typeof getPattern === 'function' ? String(getPattern.call(ctx)) : '(unknown pattern)';
}
