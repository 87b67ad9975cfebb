import type { Migration } from '@hongbao/sharding';

/** Schema of every ledger shard: the append-only double-entry journal. */
export const ledgerMigrations: Migration[] = [
  {
    id: '001_transfers',
    statements: [
      `CREATE TABLE IF NOT EXISTS transfers (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        debit_account VARCHAR(64) NOT NULL,
        credit_account VARCHAR(64) NOT NULL,
        amount BIGINT NOT NULL,
        kind VARCHAR(8) NOT NULL,
        envelope_id BIGINT UNSIGNED NULL,
        at_ms BIGINT NOT NULL,
        created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        KEY ix_debit (debit_account),
        KEY ix_credit (credit_account),
        KEY ix_envelope (envelope_id)
      ) ENGINE=InnoDB`,
    ],
  },
];
