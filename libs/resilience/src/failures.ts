/**
 * Node socket and DNS errno codes that mean "the dependency could not be reached or dropped the
 * connection", as opposed to "it answered no".
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  // mysql2: the server went away mid-conversation, or a handshake/connect timed out
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
]);

/**
 * The default answer to "does this error count against the dependency's breaker?": true for
 * - an error whose `code` starts with `DEPENDENCY.` (an AppError from an RPC client or from a
 *   callee whose own dependency failed),
 * - a breaker timeout (opossum's `ETIMEDOUT`) and any Node network errno (`ECONNREFUSED`, ...),
 *   or an error raised while connecting (`syscall: 'connect'`),
 * - a driver error marked `fatal` (mysql2: the connection is unusable).
 *
 * Everything else is an answer from a healthy dependency and must not open a breaker: domain
 * codes (`ENVELOPE.SOLD_OUT`, `VALIDATION.FAILED`, `WALLET.INSUFFICIENT_FUNDS`,
 * `IDEMPOTENCY.*`, ...), `INTERNAL`, SQL errors such as a duplicate key or a deadlock, bugs.
 */
export function isDependencyFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; syscall?: unknown; fatal?: unknown };
  if (typeof e.code === 'string' && (e.code.startsWith('DEPENDENCY.') || NETWORK_CODES.has(e.code))) return true;
  return e.syscall === 'connect' || e.fatal === true;
}
