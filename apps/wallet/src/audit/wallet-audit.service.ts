import { Injectable } from '@nestjs/common';
import { WalletAuditFacts } from '@hongbao/contracts';
import { ShardedMysql } from '@hongbao/sharding';
import type { RowDataPacket } from 'mysql2/promise';
import { SettlementWorker } from '../settlement/settlement.worker';

/** The wallet's side of the audit: balances, per-envelope money, unrelayed outbox, backlog. */
@Injectable()
export class WalletAuditService {
  constructor(
    private readonly db: ShardedMysql,
    private readonly settlement: SettlementWorker,
  ) {}

  async facts(): Promise<WalletAuditFacts> {
    const perShard = await this.db.all(async (pool) => {
      // One connection, one consistent snapshot per shard: balances, history and outbox agree.
      const c = await pool.getConnection();
      try {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
        const q = async (sql: string) => (await c.query<RowDataPacket[]>(sql))[0];
        const users = await q('SELECT user_id, balance FROM wallets');
        const drift = await q(
          `SELECT w.user_id, MAX(w.balance) AS balance, COALESCE(SUM(t.amount), 0) AS tx_sum
             FROM wallets w LEFT JOIN wallet_tx t ON t.user_id = w.user_id
            GROUP BY w.user_id HAVING MAX(w.balance) <> COALESCE(SUM(t.amount), 0)`,
        );
        const dups = await q(
          `SELECT envelope_id, user_id, COUNT(*) AS n FROM wallet_tx WHERE kind = 'grab' GROUP BY envelope_id, user_id HAVING COUNT(*) > 1`,
        );
        const envelopes = await q(
          `SELECT envelope_id,
                  SUM(CASE WHEN kind = 'send' THEN -amount ELSE 0 END) AS sent,
                  SUM(CASE WHEN kind = 'grab' THEN 1 ELSE 0 END) AS grab_count,
                  SUM(CASE WHEN kind = 'grab' THEN amount ELSE 0 END) AS grab_sum,
                  SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS refund
             FROM wallet_tx WHERE envelope_id IS NOT NULL GROUP BY envelope_id`,
        );
        const [topups] = await q(`SELECT COALESCE(SUM(amount), 0) AS total FROM wallet_tx WHERE kind = 'topup'`);
        const [outboxCount] = await q('SELECT COUNT(*) AS n FROM ledger_outbox');
        const outboxNet = await q(
          `SELECT account, SUM(delta) AS delta FROM (
             SELECT credit_account AS account, amount AS delta FROM ledger_outbox
             UNION ALL SELECT debit_account, -amount FROM ledger_outbox) x GROUP BY account`,
        );
        await c.query('COMMIT');
        return { users, drift, dups, envelopes, topups: Number(topups.total), outboxRows: Number(outboxCount.n), outboxNet };
      } finally {
        c.release();
      }
    });

    const envelopes = new Map<string, { envelopeId: string; sent: number; grabCount: number; grabSum: number; refund: number }>();
    const outboxNet = new Map<string, number>();
    const facts: WalletAuditFacts = {
      users: [],
      balanceDrift: [],
      duplicateCredits: [],
      envelopes: [],
      totalTopups: 0,
      outboxRows: 0,
      outboxNet: [],
      settlementBacklog: 0,
      failedSettlementJobs: 0,
    };
    for (const s of perShard) {
      facts.users.push(...s.users.map((r) => ({ userId: String(r.user_id), balance: Number(r.balance) })));
      facts.balanceDrift.push(...s.drift.map((r) => ({ userId: String(r.user_id), balance: Number(r.balance), txSum: Number(r.tx_sum) })));
      facts.duplicateCredits.push(...s.dups.map((r) => ({ envelopeId: String(r.envelope_id), userId: String(r.user_id), count: Number(r.n) })));
      for (const r of s.envelopes) {
        const id = String(r.envelope_id);
        const e = envelopes.get(id) ?? { envelopeId: id, sent: 0, grabCount: 0, grabSum: 0, refund: 0 };
        e.sent += Number(r.sent);
        e.grabCount += Number(r.grab_count);
        e.grabSum += Number(r.grab_sum);
        e.refund += Number(r.refund);
        envelopes.set(id, e);
      }
      facts.totalTopups += s.topups;
      facts.outboxRows += s.outboxRows;
      for (const r of s.outboxNet) outboxNet.set(r.account, (outboxNet.get(r.account) ?? 0) + Number(r.delta));
    }
    facts.envelopes = [...envelopes.values()];
    facts.outboxNet = [...outboxNet].map(([account, delta]) => ({ account, delta }));
    const backlog = await this.settlement.backlog();
    facts.settlementBacklog = backlog.pending;
    facts.failedSettlementJobs = backlog.failed;
    return facts;
  }
}
