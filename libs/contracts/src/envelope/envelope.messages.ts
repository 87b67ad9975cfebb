/** RPC patterns served by the envelope service. */
export const EnvelopePattern = {
  Create: 'envelope.create',
  Grab: 'envelope.grab',
  Get: 'envelope.get',
  AuditFacts: 'envelope.audit-facts',
} as const;

export type EnvelopeMode = 'random' | 'equal';
export type EnvelopeStatus = 'pending' | 'active' | 'sold_out' | 'expired' | 'failed';

export interface CreateEnvelopeRequest {
  senderId: string;
  /** cents, >= count */
  amount: number;
  /** 1..10000 */
  count: number;
  mode: EnvelopeMode;
  greeting?: string;
  /** 1..86400 */
  ttlSeconds: number;
  idempotencyKey: string;
}
export interface CreateEnvelopeResponse {
  envelopeId: string;
  amount: number;
  count: number;
  mode: EnvelopeMode;
  expiresAt: string;
}

export interface GrabRequest {
  envelopeId: string;
  userId: string;
}
export interface GrabResponse {
  envelopeId: string;
  amount: number;
}

export interface GetEnvelopeRequest {
  envelopeId: string;
}
export interface EnvelopeDetails {
  envelopeId: string;
  senderId: string;
  amount: number;
  count: number;
  mode: EnvelopeMode;
  greeting: string | null;
  status: EnvelopeStatus;
  remainingCount: number;
  remainingAmount: number;
  grabs: { userId: string; amount: number; grabbedAt: string }[];
  luckiest: { userId: string; amount: number } | null;
  expiresAt: string;
  refundedAmount: number;
}

export interface EnvelopeAuditRow {
  envelopeId: string;
  senderId: string;
  amount: number;
  count: number;
  status: EnvelopeStatus;
  /** null until the expiry refund has been recorded */
  refunded: number | null;
  /** grabs persisted in MySQL */
  dbGrabCount: number;
  dbGrabSum: number;
  /** live Redis state, null once the keys are gone */
  redis: { grabCount: number; grabSum: number; remainingCount: number; remainingSum: number; closed: boolean } | null;
}
export interface EnvelopeAuditFacts {
  envelopes: EnvelopeAuditRow[];
  /** outbox stream entries not yet relayed (unread + unacknowledged) */
  streamBacklog: number;
}
