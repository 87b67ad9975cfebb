import { EnvelopePattern, LedgerPattern, WalletPattern } from '@hongbao/contracts';

/**
 * The contracts' patterns a caller may send again after a lost or late reply, because a second
 * delivery changes nothing and answers the same:
 * - reads: `envelope.get`, `wallet.get`, `wallet.transactions`, the audit reads
 *   (`envelope.audit-facts`, `wallet.audit-facts`, `ledger.audit`);
 * - writes deduplicated by the callee: `wallet.topup` and `envelope.create` (the client's
 *   Idempotency-Key; a replay returns the first response), `wallet.debit-for-envelope`
 *   (idempotent on the envelope id, a refusal included), `ledger.append` (transfer ids).
 *
 * Not `envelope.grab`: it is safe in effect (the Lua script records one share per user) but not
 * in its answer: a retry after a lost reply gets ENVELOPE.ALREADY_GRABBED (409, with the amount)
 * where the first attempt won (200), and grabs are the flash-sale load itself, where automatic
 * retries multiply traffic exactly when the envelope service is struggling. A client that gets
 * 503 may grab again and learns its outcome from the ALREADY_GRABBED answer.
 */
export const RETRY_SAFE_PATTERNS: ReadonlySet<string> = new Set<string>([
  EnvelopePattern.Get,
  EnvelopePattern.AuditFacts,
  EnvelopePattern.Create,
  WalletPattern.Get,
  WalletPattern.Transactions,
  WalletPattern.AuditFacts,
  WalletPattern.Topup,
  WalletPattern.DebitForEnvelope,
  LedgerPattern.Append,
  LedgerPattern.Audit,
]);

/** `RpcClientOptions.idempotent` for the contracts' patterns: see {@link RETRY_SAFE_PATTERNS}. */
export function isRetrySafePattern(pattern: string): boolean {
  return RETRY_SAFE_PATTERNS.has(pattern);
}
