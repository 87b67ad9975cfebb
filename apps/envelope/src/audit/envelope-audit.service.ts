import { Inject, Injectable } from '@nestjs/common';
import { EnvelopeAuditFacts, EnvelopeAuditRow, EnvelopeStatus } from '@hongbao/contracts';
import { EnvelopeKeys, RedisClient } from '@hongbao/redis';
import type { RowDataPacket } from 'mysql2/promise';
import { EnvelopeRepository } from '../envelope/envelope.repository';
import { HOT_REDIS } from '../redis.provider';
import { OutboxRelay } from '../relay/outbox.relay';

/** The envelope service's side of the audit: every envelope in MySQL and its live Redis state. */
@Injectable()
export class EnvelopeAuditService {
  constructor(
    private readonly repo: EnvelopeRepository,
    private readonly keys: EnvelopeKeys,
    private readonly relay: OutboxRelay,
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
  ) {}

  async facts(): Promise<EnvelopeAuditFacts> {
    // Backlog first: anything relayed after this read is already counted in MySQL below.
    const streamBacklog = await this.relay.backlog();
    const shards = await this.repo.db.all(async (pool) => {
      const [rows] = await pool.query<RowDataPacket[]>(
        `SELECT e.id, e.sender_id, e.amount, e.count, e.status, e.refunded_amount,
                COUNT(g.user_id) AS grab_count, COALESCE(SUM(g.amount), 0) AS grab_sum
           FROM envelopes e LEFT JOIN grabs g ON g.envelope_id = e.id
          GROUP BY e.id, e.sender_id, e.amount, e.count, e.status, e.refunded_amount`,
      );
      return rows;
    });
    const envelopes: EnvelopeAuditRow[] = [];
    for (const rows of shards) {
      for (const r of rows) {
        const id = String(r.id);
        envelopes.push({
          envelopeId: id,
          senderId: String(r.sender_id),
          amount: Number(r.amount),
          count: Number(r.count),
          status: r.status as EnvelopeStatus,
          refunded: r.refunded_amount === null ? null : Number(r.refunded_amount),
          dbGrabCount: Number(r.grab_count),
          dbGrabSum: Number(r.grab_sum),
          redis: null,
        });
      }
    }
    await Promise.all(
      envelopes
        .filter((e) => e.status !== 'failed')
        .map(async (e) => {
          const k = this.keys.of(e.envelopeId);
          const [closed, grabs, shares] = await Promise.all([this.redis.hget(k.meta, 'closed'), this.redis.hvals(k.grabs), this.redis.lrange(k.shares, 0, -1)]);
          if (closed === null) return;
          e.redis = {
            grabCount: grabs.length,
            grabSum: grabs.reduce((s, v) => s + parseInt(v, 10), 0),
            remainingCount: shares.length,
            remainingSum: shares.reduce((s, v) => s + Number(v), 0),
            closed: closed === '1',
          };
        }),
    );
    return { envelopes, streamBacklog };
  }
}
