export * from './errors/error-codes';
export * from './errors/app-error';
export * from './wallet/wallet.messages';
export * from './envelope/envelope.messages';
export * from './ledger/ledger.messages';

/** Ledger account names. */
export const Account = {
  user: (userId: string) => `user:${userId}`,
  escrow: (envelopeId: string) => `escrow:${envelopeId}`,
  externalTopup: 'external:topup',
} as const;

/** Deterministic transfer ids: the id is the idempotency key of every money write. */
export const TransferId = {
  send: (envelopeId: string) => `send:${envelopeId}`,
  grab: (envelopeId: string, userId: string) => `grab:${envelopeId}:${userId}`,
  refund: (envelopeId: string) => `refund:${envelopeId}`,
} as const;
