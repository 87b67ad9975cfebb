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

const logger = new Logger('AppErrorRpcFilter');

/**
 * What the caller gets for an exception thrown by the RPC handler of `pattern`: the payload of
 * {@link toRpcErrorPayload}, or (logged here with its stack) `{code: 'INTERNAL', message:
 * 'internal error'}`. Shared by the exception filter and RpcServer's direct path.
 */
export function rpcErrorAnswer(exception: unknown, pattern: string): ErrorPayload {
  const payload = toRpcErrorPayload(exception);
  if (payload) return payload;
  logger.error(
    `unhandled error in RPC handler ${pattern}: ${exception instanceof Error ? exception.message : String(exception)}`,
    exception instanceof Error ? exception.stack : undefined,
  );
  return { ...INTERNAL_ERROR_PAYLOAD };
}

/**
 * Exception filter for the microservice side (`app.useGlobalFilters(new AppErrorRpcFilter())`
 * or `@UseFilters`): an AppError reaches the caller as `{code, message, details?}`, which
 * RpcClient turns back into the same AppError; any other error is logged here with its stack
 * and the caller gets `{code: 'INTERNAL', message: 'internal error'}`.
 */
@Catch()
export class AppErrorRpcFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const payload = rpcErrorAnswer(exception, patternOf(host));
    return throwError(() => payload);
  }
}

function patternOf(host: ArgumentsHost): string {
  if (host.getType() !== 'rpc') return '(not rpc)';
  const ctx: unknown = host.switchToRpc().getContext();
  const getPattern = (ctx as { getPattern?: () => unknown } | null)?.getPattern;
  return typeof getPattern === 'function' ? String(getPattern.call(ctx)) : '(unknown pattern)';
}
