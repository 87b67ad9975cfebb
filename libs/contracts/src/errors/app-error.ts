import { ErrorCode, HTTP_STATUS_BY_CODE } from './error-codes';

/** The wire shape of an expected failure, over RPC and in HTTP error bodies. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Extra fields merged into the HTTP error body (e.g. the earlier `amount` of an already-grabbed envelope). */
  details?: Record<string, unknown>;
}

/** An expected outcome with a stable code. Anything else thrown is a bug (500). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    // A client-facing answer (4xx: sold out, already grabbed, rate limited, bad input) is an
    // expected outcome, thrown thousands of times a second on the hot path, and its stack trace
    // says nothing (where the answer was decided is in its code): it captures none. Capturing it
    // was 12% of the gateway's CPU on the sold-out path (docs/performance.md). Failures (5xx:
    // dependencies, internal errors) keep theirs for the logs.
    const limit = Error.stackTraceLimit;
    if (!hasStack(code)) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }

  static isPayload(value: unknown): value is ErrorPayload {
    return (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as ErrorPayload).code === 'string' &&
      typeof (value as ErrorPayload).message === 'string'
    );
  }

  static fromPayload(p: ErrorPayload): AppError {
    return new AppError(p.code, p.message, p.details);
  }
}

/** Whether an AppError of this code records a stack trace: only failures (5xx, or a code without a status). */
export function hasStack(code: ErrorCode): boolean {
  return (HTTP_STATUS_BY_CODE[code] ?? 500) >= 500;
}
