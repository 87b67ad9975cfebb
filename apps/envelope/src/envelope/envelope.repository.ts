import { Injectable } from '@nestjs/common';
import type { EnvelopeMode, EnvelopeStatus } from '@hongbao/contracts';
import { ShardedMysql } from '@hongbao/sharding';
import type { RowDataPacket } from 'mysql2/promise';

export interface EnvelopeRow {
  id: string;
  senderId: string;
  amount: number;
  count: number;
  mode: EnvelopeMode;
  greeting: string | null;
  status: EnvelopeStatus;
  expiresAtMs: number;
  refundedAmount: number | null;
  createdAtMs: number;
}

export interface GrabRecord {
  envelopeId: string;
  userId: string;
  amount: number;
  at: number;
}

/** MySQL access for envelopes (shard by envelope id) and send requests (shard by sender id). */
@Injectable()
export class EnvelopeRepository {
  constructor(readonly db: ShardedMysql) {}

  /**
   * Claims (sender, key) for a new envelope id; returns the id and hash already stored if the key
   * was used before. Copies of one send arriving at once deadlock on these upserts now and then;
   * the pool re-runs a statement InnoDB rolled back (libs/sharding, `deadlockRetries`).
   */
  async claimSendRequest(senderId: string, key: string, hash: string, envelopeId: string): Promise<{ envelopeId: string; hash: string }> {
    const pool = this.db.poolFor(senderId);
    await pool.query(
      'INSERT INTO send_requests (sender_id, idem_key, request_hash, envelope_id, created_at_ms) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE sender_id = sender_id',
      [senderId, key, hash, envelopeId, Date.now()],
    );
    const [rows] = await pool.query<RowDataPacket[]>('SELECT request_hash, envelope_id FROM send_requests WHERE sender_id = ? AND idem_key = ?', [senderId, key]);
    return { envelopeId: String(rows[0].envelope_id), hash: rows[0].request_hash };
  }

  /** Inserts the envelope as pending unless it exists; returns the stored row either way. */
  async insertPending(e: Omit<EnvelopeRow, 'status' | 'refundedAmount'>): Promise<EnvelopeRow> {
    await this.db
      .poolFor(e.id)
      .query(
        `INSERT INTO envelopes (id, sender_id, amount, count, mode, greeting, status, expires_at_ms, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON DUPLICATE KEY UPDATE id = id`,
        [e.id, e.senderId, e.amount, e.count, e.mode, e.greeting, e.expiresAtMs, e.createdAtMs],
      );
    return (await this.find(e.id))!;
  }

  async find(id: string): Promise<EnvelopeRow | undefined> {
    const [rows] = await this.db.poolFor(id).query<RowDataPacket[]>('SELECT * FROM envelopes WHERE id = ?', [id]);
    return rows.length ? toRow(rows[0]) : undefined;
  }

  /** Moves pending -> to; returns false if it was not pending any more. */
  async transition(id: string, to: 'active' | 'failed'): Promise<boolean> {
    const [res] = await this.db.poolFor(id).query("UPDATE envelopes SET status = ? WHERE id = ? AND status = 'pending'", [to, id]);
    return (res as { affectedRows: number }).affectedRows === 1;
  }

  async pendingOlderThan(shard: number, createdBeforeMs: number, limit: number): Promise<EnvelopeRow[]> {
    const [rows] = await this.db
      .pool(shard)
      .query<RowDataPacket[]>("SELECT * FROM envelopes WHERE status = 'pending' AND created_at_ms < ? ORDER BY created_at_ms LIMIT ?", [createdBeforeMs, limit]);
    return rows.map(toRow);
  }

  /** Persists grab records; a record already there is left as it is (idempotent replay). */
  async saveGrabs(grabs: GrabRecord[]): Promise<void> {
    const byShard = new Map<number, GrabRecord[]>();
    for (const g of grabs) {
      const s = this.db.map.shardIndexOf(g.envelopeId);
      let list = byShard.get(s);
      if (!list) byShard.set(s, (list = []));
      list.push(g);
    }
    await Promise.all(
      [...byShard].map(([s, list]) =>
        this.db
          .pool(s)
          .query('INSERT INTO grabs (envelope_id, user_id, amount, grabbed_at_ms) VALUES ? ON DUPLICATE KEY UPDATE envelope_id = envelope_id', [
            list.map((g) => [g.envelopeId, g.userId, g.amount, g.at]),
          ]),
      ),
    );
  }

  /** Records the expiry refund; the first recorded value wins. */
  async markExpired(id: string, refund: number, at: number): Promise<void> {
    await this.db
      .poolFor(id)
      .query("UPDATE envelopes SET status = 'expired', refunded_amount = ?, closed_at_ms = ? WHERE id = ? AND refunded_amount IS NULL", [refund, at, id]);
  }

  async grabsOf(id: string): Promise<GrabRecord[]> {
    const [rows] = await this.db
      .poolFor(id)
      .query<RowDataPacket[]>('SELECT user_id, amount, grabbed_at_ms FROM grabs WHERE envelope_id = ? ORDER BY grabbed_at_ms, user_id', [id]);
    return rows.map((r) => ({ envelopeId: id, userId: String(r.user_id), amount: Number(r.amount), at: Number(r.grabbed_at_ms) }));
  }

  async grabOf(id: string, userId: string): Promise<number | undefined> {
    const [rows] = await this.db.poolFor(id).query<RowDataPacket[]>('SELECT amount FROM grabs WHERE envelope_id = ? AND user_id = ?', [id, userId]);
    return rows.length ? Number(rows[0].amount) : undefined;
  }
}

function toRow(r: RowDataPacket): EnvelopeRow {
  return {
    id: String(r.id),
    senderId: String(r.sender_id),
    amount: Number(r.amount),
    count: Number(r.count),
    mode: r.mode,
    greeting: r.greeting ?? null,
    status: r.status,
    expiresAtMs: Number(r.expires_at_ms),
    refundedAmount: r.refunded_amount === null ? null : Number(r.refunded_amount),
    createdAtMs: Number(r.created_at_ms),
  };
}
