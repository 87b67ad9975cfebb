import type { ErrorCode } from './error-codes';

/** The wire shape of an expected failure, over RPC and in HTTP error bodies. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Extra fields merged into the HTTP error body (e.g. the earlier `amount` of an already-grabbed envelope). */
  details?: Record<string, unknown>;
}

/** An expected outcome with a stable code. Anything else thrown is a bug (500). */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
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
