import type { Migration } from '@hongbao/sharding';

/** Schema of every envelope shard. */
export const envelopeMigrations: Migration[] = [
  {
    id: '001_envelopes',
    statements: [
      `CREATE TABLE IF NOT EXISTS envelopes (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        sender_id VARCHAR(20) NOT NULL,
        amount BIGINT NOT NULL,
        count INT NOT NULL,
        mode VARCHAR(6) NOT NULL,
        greeting VARCHAR(64) CHARACTER SET utf8mb4 NULL,
        status VARCHAR(8) NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        refunded_amount BIGINT NULL,
        created_at_ms BIGINT NOT NULL,
        closed_at_ms BIGINT NULL,
        KEY ix_status_created (status, created_at_ms)
      ) ENGINE=InnoDB`,
      // Persisted by the settlement path (outbox relay); one row per winner.
      `CREATE TABLE IF NOT EXISTS grabs (
        envelope_id BIGINT UNSIGNED NOT NULL,
        user_id VARCHAR(20) NOT NULL,
        amount BIGINT NOT NULL,
        grabbed_at_ms BIGINT NOT NULL,
        PRIMARY KEY (envelope_id, user_id)
      ) ENGINE=InnoDB`,
      // Idempotency of sends, on the sender's shard.
      `CREATE TABLE IF NOT EXISTS send_requests (
        sender_id VARCHAR(20) NOT NULL,
        idem_key VARCHAR(128) NOT NULL,
        request_hash CHAR(64) NOT NULL,
        envelope_id BIGINT UNSIGNED NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (sender_id, idem_key)
      ) ENGINE=InnoDB`,
    ],
  },
];
