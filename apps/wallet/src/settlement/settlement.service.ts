import { Injectable } from '@nestjs/common';
import { Account, SettlementItem } from '@hongbao/contracts';
import { ShardedMysql } from '@hongbao/sharding';
import type { RowDataPacket } from 'mysql2/promise';
import { insertOutbox, insertTx, OutboxRow, retryOnDuplicate, TxRow } from '../wallet/wallet.service';

/**
 * Applies settlement batches (grab wins and expiry refunds) to the wallets: one transaction per
 * shard, credits keyed by deterministic transfer ids, so a batch delivered twice, or two
 * overlapping batches, credit each item exactly once.
 */
@Injectable()
export class SettlementService {
  constructor(private readonly db: ShardedMysql) {}

  /** Returns how many items were newly credited (the rest had been applied before). */
  async apply(items: SettlementItem[]): Promise<number> {
    const byShard = new Map<number, SettlementItem[]>();
    for (const item of items) {
      const s = this.db.map.shardIndexOf(item.userId);
      let list = byShard.get(s);
      if (!list) byShard.set(s, (list = []));
      list.push(item);
    }
    let credited = 0;
    for (const [shard, list] of byShard) credited += await this.applyShard(shard, list);
    return credited;
  }

  private applyShard(shard: number, items: SettlementItem[]): Promise<number> {
    return retryOnDuplicate(
      () =>
        this.db.tx(shard, async (c) => {
          const unique = new Map(items.map((i) => [i.transferId, i]));
          const [seen] = await c.query<RowDataPacket[]>('SELECT id FROM wallet_tx WHERE id IN (?)', [[...unique.keys()]]);
          for (const r of seen) unique.delete(r.id);
          const fresh = [...unique.values()].filter((i) => i.amount > 0);
          if (!fresh.length) return 0;

          const perUser = new Map<string, number>();
          for (const i of fresh) perUser.set(i.userId, (perUser.get(i.userId) ?? 0) + i.amount);
          // Sorted so concurrent batches lock wallet rows in the same order (no deadlock cycles).
          const users = [...perUser.keys()].sort();
          await insertTx(
            c,
            fresh.map((i): TxRow => [i.transferId, i.userId, i.kind, i.amount, i.envelopeId, i.at]),
          );
          await c.query('INSERT INTO wallets (user_id, balance) VALUES ? ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance)', [
            users.map((u) => [u, perUser.get(u)]),
          ]);
          await insertOutbox(
            c,
            fresh.map((i): OutboxRow => [i.transferId, Account.escrow(i.envelopeId), Account.user(i.userId), i.amount, i.kind, i.envelopeId, i.at, i.traceparent ?? null]),
          );
          return fresh.length;
        }),
      5,
    );
  }
}
