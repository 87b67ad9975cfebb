/** RPC patterns served by the ledger service. */
export const LedgerPattern = {
  Append: 'ledger.append',
  Audit: 'ledger.audit',
} as const;

/** Accounts: `user:<id>`, `escrow:<envelopeId>`, `external:topup`. */
export type AccountId = string;

/** An immutable double-entry transfer; `id` is its idempotency key. */
export interface Transfer {
  id: string;
  debitAccount: AccountId;
  creditAccount: AccountId;
  /** cents, > 0 */
  amount: number;
  kind: 'topup' | 'send' | 'grab' | 'refund';
  envelopeId?: string;
  /** epoch ms */
  at: number;
}
export interface AppendRequest {
  transfers: Transfer[];
}
export interface AppendResponse {
  /** transfers newly written; the rest were already there */
  inserted: number;
}

export interface AuditCheck {
  name: string;
  ok: boolean;
  detail: string;
}
export interface AuditReport {
  ok: boolean;
  /** work still in flight (stream entries, queued settlements, unrelayed outbox rows, lagging credits) */
  pending: number;
  checks: AuditCheck[];
}
