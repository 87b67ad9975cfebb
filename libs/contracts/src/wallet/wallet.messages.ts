/** RPC patterns served by the wallet service. Amounts are integer cents; ids are strings. */
export const WalletPattern = {
  Topup: 'wallet.topup',
  Get: 'wallet.get',
  Transactions: 'wallet.transactions',
  DebitForEnvelope: 'wallet.debit-for-envelope',
  AuditFacts: 'wallet.audit-facts',
} as const;

export interface TopupRequest {
  userId: string;
  /** cents, > 0 */
  amount: number;
  /** client's Idempotency-Key, 1-128 printable chars */
  idempotencyKey: string;
}
export interface TopupResponse {
  userId: string;
  balance: number;
  transactionId: string;
}

export interface WalletRequest {
  userId: string;
}
export interface WalletResponse {
  userId: string;
  balance: number;
  currency: string;
}

export type WalletTxKind = 'topup' | 'send' | 'grab' | 'refund';

export interface TransactionsRequest {
  userId: string;
  /** 1..100, default 20 */
  limit: number;
  /** opaque cursor from a previous page */
  cursor?: string;
}
export interface WalletTransaction {
  id: string;
  kind: WalletTxKind;
  /** signed cents: negative for a send */
  amount: number;
  envelopeId?: string;
  createdAt: string;
}
export interface TransactionsResponse {
  items: WalletTransaction[];
  nextCursor: string | null;
}

/** Debit the sender into the envelope's escrow; idempotent on envelopeId, including a refusal. */
export interface DebitForEnvelopeRequest {
  userId: string;
  envelopeId: string;
  amount: number;
}
export interface DebitForEnvelopeResponse {
  transferId: string;
  balance: number;
}

/** One credit produced by the settlement path: a grab win or an expiry refund. */
export interface SettlementItem {
  /** deterministic: `grab:<envelopeId>:<userId>` or `refund:<envelopeId>` */
  transferId: string;
  kind: 'grab' | 'refund';
  userId: string;
  envelopeId: string;
  amount: number;
  /** epoch ms when Redis accepted it */
  at: number;
  /** W3C trace context of the grab (absent when tracing is off), continued by settlement */
  traceparent?: string;
}
export interface SettlementJob {
  items: SettlementItem[];
}

export interface WalletAuditFacts {
  users: { userId: string; balance: number }[];
  /** users whose balance differs from the sum of their transactions */
  balanceDrift: { userId: string; balance: number; txSum: number }[];
  /** grab credits recorded more than once for one (envelope, user) */
  duplicateCredits: { envelopeId: string; userId: string; count: number }[];
  envelopes: { envelopeId: string; sent: number; grabCount: number; grabSum: number; refund: number }[];
  totalTopups: number;
  /** rows not yet relayed to the ledger, and their net effect per account */
  outboxRows: number;
  outboxNet: { account: string; delta: number }[];
  /** settlement jobs not yet completed */
  settlementBacklog: number;
  failedSettlementJobs: number;
}

/** BullMQ queue (envelope relay -> wallet settlement workers) carrying SettlementJob batches. */
export const SETTLEMENT_QUEUE = 'settlement';
