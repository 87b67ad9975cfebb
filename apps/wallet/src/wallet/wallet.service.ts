import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  Account,
  AppError,
  DebitForEnvelopeRequest,
  DebitForEnvelopeResponse,
  ErrorCode,
  TopupRequest,
  TopupResponse,
  TransactionsRequest,
  TransactionsResponse,
  TransferId,
  WalletResponse,
  WalletTxKind,
} from '@hongbao/contracts';
import { Snowflake } from '@hongbao/ids';
import { currentTraceparent } from '@hongbao/service-kit';
import { ShardedMysql } from '@hongbao/sharding';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { WALLET_CONFIG, WalletConfig } from '../config';
import { isDuplicateKey, toSqlTime } from '../db';

/** Balances, top-ups, envelope debits and history; every write is idempotent. */
@Injectable()
export class WalletService {
  constructor(
    private readonly db: ShardedMysql,
    private readonly ids: Snowflake,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
  ) {}

  async topup(req: TopupRequest): Promise<TopupResponse> {
    const shard = this.db.map.shardIndexOf(req.userId);
    const hash = createHash('sha256').update(JSON.stringify({ amount: req.amount })).digest('hex');
    return retryOnDuplicate(() =>
      this.db.tx(shard, async (c) => {
        const [seen] = await c.query<RowDataPacket[]>(
          'SELECT request_hash, tx_id, balance_after FROM topups WHERE user_id = ? AND idem_key = ? FOR UPDATE',
          [req.userId, req.idempotencyKey],
        );
        if (seen.length) {
          if (seen[0].request_hash !== hash) {
            throw new AppError(ErrorCode.IdempotencyKeyReused, 'this Idempotency-Key was used with a different request');
          }
          return { userId: req.userId, balance: Number(seen[0].balance_after), transactionId: seen[0].tx_id };
        }
        const balance = await this.lockBalance(c, req.userId);
        if (balance + req.amount > this.config.MAX_BALANCE) {
          throw new AppError(ErrorCode.ValidationFailed, `balance may not exceed ${this.config.MAX_BALANCE} cents`);
        }
        const now = Date.now();
        const txId = `topup:${this.ids.next()}`;
        const after = balance + req.amount;
        await c.query('INSERT INTO topups (user_id, idem_key, request_hash, tx_id, balance_after, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          req.userId,
          req.idempotencyKey,
          hash,
          txId,
          after,
          toSqlTime(now),
        ]);
        await c.query('INSERT INTO wallets (user_id, balance) VALUES (?, ?) ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance)', [
          req.userId,
          req.amount,
        ]);
        await insertTx(c, [[txId, req.userId, 'topup', req.amount, null, now]]);
        await insertOutbox(c, [[txId, Account.externalTopup, Account.user(req.userId), req.amount, 'topup', null, now, currentTraceparent() ?? null]]);
        return { userId: req.userId, balance: after, transactionId: txId };
      }),
    );
  }

  async get(userId: string): Promise<WalletResponse> {
    const [rows] = await this.db.poolFor(userId).query<RowDataPacket[]>('SELECT balance FROM wallets WHERE user_id = ?', [userId]);
    return { userId, balance: rows.length ? Number(rows[0].balance) : 0, currency: this.config.CURRENCY };
  }

  async transactions(req: TransactionsRequest): Promise<TransactionsResponse> {
    const before = req.cursor ? decodeCursor(req.cursor) : Number.MAX_SAFE_INTEGER;
    const [rows] = await this.db
      .poolFor(req.userId)
      .query<RowDataPacket[]>(
        'SELECT id, seq, kind, amount, envelope_id, created_at FROM wallet_tx WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
        [req.userId, before, req.limit + 1],
      );
    const page = rows.slice(0, req.limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        kind: r.kind as WalletTxKind,
        amount: Number(r.amount),
        ...(r.envelope_id ? { envelopeId: String(r.envelope_id) } : {}),
        createdAt: new Date(r.created_at).toISOString(),
      })),
      nextCursor: rows.length > req.limit ? encodeCursor(Number(page[page.length - 1].seq)) : null,
    };
  }

  /**
   * Moves `amount` from the sender into the envelope's escrow, once per envelope id. A refusal
   * (insufficient funds) is recorded too, so a retried or swept send can never succeed later.
   */
  async debitForEnvelope(req: DebitForEnvelopeRequest): Promise<DebitForEnvelopeResponse> {
    const transferId = TransferId.send(req.envelopeId);
    const shard = this.db.map.shardIndexOf(req.userId);
    const outcome = await retryOnDuplicate(() =>
      this.db.tx(shard, async (c) => {
        const balance = await this.lockBalance(c, req.userId);
        const [done] = await c.query<RowDataPacket[]>('SELECT 1 FROM wallet_tx WHERE id = ?', [transferId]);
        if (done.length) return { ok: true, balance };
        const [refused] = await c.query<RowDataPacket[]>('SELECT 1 FROM debit_rejections WHERE id = ?', [transferId]);
        if (refused.length) return { ok: false, balance };
        const now = Date.now();
        if (balance < req.amount) {
          await c.query('INSERT INTO debit_rejections (id, user_id, amount, created_at) VALUES (?, ?, ?, ?)', [
            transferId,
            req.userId,
            req.amount,
            toSqlTime(now),
          ]);
          return { ok: false, balance };
        }
        await c.query('UPDATE wallets SET balance = balance - ? WHERE user_id = ?', [req.amount, req.userId]);
        await insertTx(c, [[transferId, req.userId, 'send', -req.amount, req.envelopeId, now]]);
        await insertOutbox(c, [
          [transferId, Account.user(req.userId), Account.escrow(req.envelopeId), req.amount, 'send', req.envelopeId, now, currentTraceparent() ?? null],
        ]);
        return { ok: true, balance: balance - req.amount };
      }),
    );
    if (!outcome.ok) {
      throw new AppError(ErrorCode.WalletInsufficientFunds, `balance is too low to send ${req.amount} cents`);
    }
    return { transferId, balance: outcome.balance };
  }

  /** Locks the user's wallet row (creating it at 0 if absent) and returns the balance. */
  private async lockBalance(c: PoolConnection, userId: string): Promise<number> {
    const [rows] = await c.query<RowDataPacket[]>('SELECT balance FROM wallets WHERE user_id = ? FOR UPDATE', [userId]);
    return rows.length ? Number(rows[0].balance) : 0;
  }
}

/** [id, userId, kind, signedAmount, envelopeId|null, epochMs] */
export type TxRow = [string, string, string, number, string | null, number];
/** [transferId, debitAccount, creditAccount, amount, kind, envelopeId|null, epochMs, traceparent|null] */
export type OutboxRow = [string, string, string, number, string, string | null, number, string | null];

export async function insertTx(c: PoolConnection, rows: TxRow[]): Promise<void> {
  await c.query('INSERT INTO wallet_tx (id, user_id, kind, amount, envelope_id, created_at) VALUES ?', [
    rows.map(([id, user, kind, amount, env, ms]) => [id, user, kind, amount, env, toSqlTime(ms)]),
  ]);
}

export async function insertOutbox(c: PoolConnection, rows: OutboxRow[]): Promise<void> {
  await c.query('INSERT INTO ledger_outbox (transfer_id, debit_account, credit_account, amount, kind, envelope_id, at_ms, traceparent) VALUES ?', [rows]);
}

/** Two requests racing on the same idempotent key: the loser's insert hits the unique key; run again to read the winner's row. */
export async function retryOnDuplicate<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isDuplicateKey(err) || i >= attempts) throw err;
    }
  }
}

function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const raw = Buffer.from(cursor, 'base64url').toString();
  const m = /^s(\d{1,16})$/.exec(raw);
  if (!m) throw new AppError(ErrorCode.ValidationFailed, 'cursor is not valid');
  return Number(m[1]);
}
