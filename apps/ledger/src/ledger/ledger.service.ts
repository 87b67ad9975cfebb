import { Injectable } from '@nestjs/common';
import { AppendRequest, AppendResponse, Transfer } from '@hongbao/contracts';
import { ShardedMysql } from '@hongbao/sharding';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/** Ledger-side facts the audit compares with the wallet and envelope services. */
export interface LedgerFacts {
  /** account -> credits minus debits */
  balances: Map<string, number>;
  /** envelopeId -> transfers recorded for it */
  envelopes: Map<string, { send: number; grabCount: number; grabSum: number; refund: number }>;
  transferCount: number;
}

/** The append-only journal. Transfers are immutable; a transfer id seen before is ignored. */
@Injectable()
export class LedgerService {
  constructor(private readonly db: ShardedMysql) {}

  async append(req: AppendRequest): Promise<AppendResponse> {
    const byShard = new Map<number, Transfer[]>();
    for (const t of req.transfers) {
      const s = this.db.map.shardIndexOf(t.id);
      let list = byShard.get(s);
      if (!list) byShard.set(s, (list = []));
      list.push(t);
    }
    const results = await Promise.all(
      [...byShard].map(async ([shard, list]) => {
        // ON DUPLICATE KEY ... id = id: a replay changes nothing and counts 0 affected rows
        // (pools connect without CLIENT_FOUND_ROWS, see libs/sharding).
        const [res] = await this.db.pool(shard).query<ResultSetHeader>(
          `INSERT INTO transfers (id, debit_account, credit_account, amount, kind, envelope_id, at_ms) VALUES ?
           ON DUPLICATE KEY UPDATE id = id`,
          [list.map((t) => [t.id, t.debitAccount, t.creditAccount, t.amount, t.kind, t.envelopeId ?? null, t.at])],
        );
        return res.affectedRows;
      }),
    );
    return { inserted: results.reduce((a, b) => a + b, 0) };
  }

  async facts(): Promise<LedgerFacts> {
    const shards = await this.db.all(async (pool) => {
      const [balances] = await pool.query<RowDataPacket[]>(
        `SELECT account, SUM(delta) AS balance FROM (
           SELECT credit_account AS account, amount AS delta FROM transfers
           UNION ALL SELECT debit_account, -amount FROM transfers) x GROUP BY account`,
      );
      const [envelopes] = await pool.query<RowDataPacket[]>(
        `SELECT envelope_id,
                SUM(CASE WHEN kind = 'send' THEN amount ELSE 0 END) AS send_sum,
                SUM(CASE WHEN kind = 'grab' THEN 1 ELSE 0 END) AS grab_count,
                SUM(CASE WHEN kind = 'grab' THEN amount ELSE 0 END) AS grab_sum,
                SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS refund_sum
           FROM transfers WHERE envelope_id IS NOT NULL GROUP BY envelope_id`,
      );
      const [[count]] = await pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM transfers');
      return { balances, envelopes, count: Number(count.n) };
    });
    const facts: LedgerFacts = { balances: new Map(), envelopes: new Map(), transferCount: 0 };
    for (const s of shards) {
      facts.transferCount += s.count;
      for (const r of s.balances) facts.balances.set(r.account, (facts.balances.get(r.account) ?? 0) + Number(r.balance));
      for (const r of s.envelopes) {
        const id = String(r.envelope_id);
        const e = facts.envelopes.get(id) ?? { send: 0, grabCount: 0, grabSum: 0, refund: 0 };
        e.send += Number(r.send_sum);
        e.grabCount += Number(r.grab_count);
        e.grabSum += Number(r.grab_sum);
        e.refund += Number(r.refund_sum);
        facts.envelopes.set(id, e);
      }
    }
    return facts;
  }
}

