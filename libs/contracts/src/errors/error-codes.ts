/**
 * Stable error codes. Expected outcomes cross RPC as `{code, message, details?}`; only the
 * gateway maps a code to an HTTP status (see `HTTP_STATUS_BY_CODE`).
 */
export const ErrorCode = {
  AuthUnauthenticated: 'AUTH.UNAUTHENTICATED',
  AuthForbidden: 'AUTH.FORBIDDEN',
  ValidationFailed: 'VALIDATION.FAILED',
  BodyTooLarge: 'REQUEST.TOO_LARGE',
  HeadersTooLarge: 'REQUEST.HEADERS_TOO_LARGE',
  UnsupportedMediaType: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  RouteNotFound: 'ROUTE.NOT_FOUND',
  WalletInsufficientFunds: 'WALLET.INSUFFICIENT_FUNDS',
  EnvelopeNotFound: 'ENVELOPE.NOT_FOUND',
  EnvelopeAlreadyGrabbed: 'ENVELOPE.ALREADY_GRABBED',
  EnvelopeSoldOut: 'ENVELOPE.SOLD_OUT',
  EnvelopeExpired: 'ENVELOPE.EXPIRED',
  IdempotencyKeyReused: 'IDEMPOTENCY.KEY_REUSED',
  RateLimited: 'RATE_LIMITED',
  Overloaded: 'OVERLOADED',
  Degraded: 'DEGRADED',
  DependencyUnavailable: 'DEPENDENCY.UNAVAILABLE',
  DependencyTimeout: 'DEPENDENCY.TIMEOUT',
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code; anything not listed is a bug and becomes 500. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  'AUTH.UNAUTHENTICATED': 401,
  'AUTH.FORBIDDEN': 403,
  'VALIDATION.FAILED': 400,
  'REQUEST.TOO_LARGE': 413,
  'REQUEST.HEADERS_TOO_LARGE': 431,
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': 415,
  'ROUTE.NOT_FOUND': 404,
  'WALLET.INSUFFICIENT_FUNDS': 422,
  'ENVELOPE.NOT_FOUND': 404,
  'ENVELOPE.ALREADY_GRABBED': 409,
  'ENVELOPE.SOLD_OUT': 410,
  'ENVELOPE.EXPIRED': 410,
  'IDEMPOTENCY.KEY_REUSED': 409,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  DEGRADED: 503,
  'DEPENDENCY.UNAVAILABLE': 503,
  'DEPENDENCY.TIMEOUT': 503,
  INTERNAL: 500,
};
