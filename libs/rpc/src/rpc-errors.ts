import { AppError, ErrorCode } from '@hongbao/contracts';
import { TimeoutError } from 'rxjs';

/** The body sent for any error that is not an AppError: no message, no stack of the original. */
export const INTERNAL_ERROR_PAYLOAD = Object.freeze({ code: ErrorCode.Internal, message: 'internal error' });

/**
 * True when a call failed while the socket was still connecting, so the request was never
 * written and may safely go to another address. Node's connect failures (ECONNREFUSED,
 * EHOSTUNREACH, ETIMEDOUT, ...) carry `syscall: 'connect'`; failures after the write
 * (`Connection closed`, ECONNRESET on read) do not.
 */
export function isConnectPhaseError(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).syscall === 'connect';
}

/** Where a failed call went, for the error's message and details. */
export interface CallSite {
  /** client name (logs/metrics) */
  name: string;
  /** "ip:port" the request went to */
  address: string;
  /** per-call timeout in ms */
  timeoutMs: number;
}

/**
 * Maps whatever a Nest ClientTCP call rejected with to an AppError:
 * - rxjs TimeoutError -> DEPENDENCY.TIMEOUT;
 * - a local Error (socket closed after the write, ...) -> DEPENDENCY.UNAVAILABLE, with
 *   `details.maybeExecuted: true` because the callee may have run the request;
 * - a remote `{code, message, details?}` payload -> that AppError;
 * - any other remote error (e.g. Nest's default `{status:'error', ...}`) -> INTERNAL.
 * Remote errors arrive as plain objects parsed from JSON, never as Error instances, which is
 * how the two are told apart.
 */
export function toCallError(err: unknown, site: CallSite): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof TimeoutError) {
    return new AppError(ErrorCode.DependencyTimeout, `${site.name}: no reply from ${site.address} within ${site.timeoutMs} ms`, {
      target: site.name,
      address: site.address,
      timeoutMs: site.timeoutMs,
    });
  }
  if (err instanceof Error) {
    return new AppError(ErrorCode.DependencyUnavailable, `${site.name}: connection to ${site.address} failed: ${err.message}`, {
      target: site.name,
      address: site.address,
      maybeExecuted: !isConnectPhaseError(err),
    });
  }
  if (AppError.isPayload(err)) {
    const e = AppError.fromPayload(err);
    REMOTE.add(e);
    return e;
  }
  return new AppError(INTERNAL_ERROR_PAYLOAD.code, INTERNAL_ERROR_PAYLOAD.message);
}

const REMOTE = new WeakSet<AppError>();

/**
 * True for an error the callee sent back (it was reachable and answered), as opposed to one
 * raised here (unreachable, connection lost, no reply in time). A callee's own DEPENDENCY.* answer
 * (its MySQL shard or Redis is down) is remote: it belongs to the callee's breaker, not to the
 * caller's breaker for the callee, so one bad shard does not cut every user off the service.
 */
export function isRemoteError(err: unknown): boolean {
  return err instanceof AppError && REMOTE.has(err);
}

/** The error for a call that found no healthy address. */
export function noAddressError(name: string): AppError {
  return new AppError(ErrorCode.DependencyUnavailable, `${name}: no reachable address`, { target: name });
}
