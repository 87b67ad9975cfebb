import type { Migration } from '@hongbao/sharding';

/** Schema of every wallet shard. Amounts are BIGINT cents; user ids are decimal strings. */
export const walletMigrations: Migration[] = [
  {
    id: '001_wallet_core',
    statements: [
      `CREATE TABLE IF NOT EXISTS wallets (
        user_id VARCHAR(20) NOT NULL PRIMARY KEY,
        balance BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`,
      // One row per money movement of a user; id is the deterministic transfer id (idempotency).
      `CREATE TABLE IF NOT EXISTS wallet_tx (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        seq BIGINT NOT NULL AUTO_INCREMENT,
        user_id VARCHAR(20) NOT NULL,
        kind VARCHAR(8) NOT NULL,
        amount BIGINT NOT NULL,
        envelope_id BIGINT UNSIGNED NULL,
        created_at DATETIME(3) NOT NULL,
        UNIQUE KEY uq_seq (seq),
        KEY ix_user_seq (user_id, seq),
        KEY ix_envelope (envelope_id)
      ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS topups (
        user_id VARCHAR(20) NOT NULL,
        idem_key VARCHAR(128) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        tx_id VARCHAR(64) NOT NULL,
        balance_after BIGINT NOT NULL,
        created_at DATETIME(3) NOT NULL,
        PRIMARY KEY (user_id, idem_key)
      ) ENGINE=InnoDB`,
      // A refused envelope debit is remembered, so a retry of the same send never succeeds later.
      `CREATE TABLE IF NOT EXISTS debit_rejections (
        id VARCHAR(64) NOT NULL PRIMARY KEY,
        user_id VARCHAR(20) NOT NULL,
        amount BIGINT NOT NULL,
        created_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB`,
      // Transactional outbox: committed with the balance change, relayed to the ledger.
      `CREATE TABLE IF NOT EXISTS ledger_outbox (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        transfer_id VARCHAR(64) NOT NULL,
        debit_account VARCHAR(64) NOT NULL,
        credit_account VARCHAR(64) NOT NULL,
        amount BIGINT NOT NULL,
        kind VARCHAR(8) NOT NULL,
        envelope_id BIGINT UNSIGNED NULL,
        at_ms BIGINT NOT NULL
      ) ENGINE=InnoDB`,
    ],
  },
  {
    // W3C trace context of the change, so the relay's ledger.append continues the trace that made it.
    id: '002_ledger_outbox_traceparent',
    statements: ['ALTER TABLE ledger_outbox ADD COLUMN traceparent VARCHAR(64) NULL'],
  },
];
