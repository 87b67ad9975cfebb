import { randomBytes } from 'node:crypto';
import { Account, AppError, ErrorCode, SettlementItem, TransferId } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { Snowflake } from '@hongbao/ids';
import { assertTestDatabases, dropDatabases, migrate, ShardedMysql, ShardMap } from '@hongbao/sharding';
import type { RowDataPacket } from 'mysql2/promise';
import { walletConfigSchema } from '../src/config';
import { walletMigrations } from '../src/migrations';
import { SettlementService } from '../src/settlement/settlement.service';
import { WalletService } from '../src/wallet/wallet.service';

// Real MariaDB (scripts/local-deps.sh); this file's own two shard databases, dropped afterwards.
const BASE = 'mysql://hongbao:hongbao@127.0.0.1:3306';
const run = randomBytes(4).toString('hex');
const urls = [`${BASE}/hongbao_test_${run}_wallet_0`, `${BASE}/hongbao_test_${run}_wallet_1`];
const map = ShardMap.fromConfig(urls);
const MAX_BALANCE = 10_000_000;
const config = loadConfig(walletConfigSchema, { WALLET_SHARDS: urls.join(','), MAX_BALANCE: String(MAX_BALANCE), CURRENCY: 'CNY' });

let db: ShardedMysql;
let settlement: SettlementService;
let wallet: WalletService;

beforeAll(async () => {
  assertTestDatabases(map);
  await migrate(map, walletMigrations);
  db = new ShardedMysql(map);
  settlement = new SettlementService(db);
  wallet = new WalletService(db, new Snowflake(1), config);
});

afterAll(async () => {
  await db?.close();
  await dropDatabases(map);
});

// Every test uses fresh user and envelope ids, so tests never see each other's money.
let nextUser = 1_000;
let nextEnvelope = 770_000_000_000_000_000n;
/** A user id that routes to `shard`. */
function userOn(shard: number): string {
  for (;;) {
    const id = String(++nextUser);
    if (map.shardIndexOf(id) === shard) return id;
  }
}
const newEnvelope = () => String(++nextEnvelope);
const AT = 1_760_000_000_123;

const grab = (envelopeId: string, userId: string, amount: number, at = AT): SettlementItem => ({
  transferId: TransferId.grab(envelopeId, userId),
  kind: 'grab',
  userId,
  envelopeId,
  amount,
  at,
});
const refund = (envelopeId: string, userId: string, amount: number, at = AT): SettlementItem => ({
  transferId: TransferId.refund(envelopeId),
  kind: 'refund',
  userId,
  envelopeId,
  amount,
  at,
});

const TABLES: Record<string, string> = {
  wallets: 'user_id',
  wallet_tx: 'id',
  topups: 'user_id, idem_key',
  debit_rejections: 'id',
  ledger_outbox: 'id',
};
/** Every row of every wallet table on both shards. */
async function snapshot(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const shard of [0, 1]) {
    for (const [table, key] of Object.entries(TABLES)) {
      const [rows] = await db.pool(shard).query<RowDataPacket[]>(`SELECT * FROM ${table} ORDER BY ${key}`);
      out[`${shard}.${table}`] = rows.map((r) => ({ ...r }));
    }
  }
  return out;
}

async function balanceOf(userId: string): Promise<number> {
  return (await wallet.get(userId)).balance;
}

/** wallet_tx rows with these ids, from the shard of each row's user, as the test expects them. */
async function txRows(ids: string[]): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const shard of [0, 1]) {
    const [r] = await db.pool(shard).query<RowDataPacket[]>('SELECT id, user_id, kind, amount, envelope_id, created_at FROM wallet_tx WHERE id IN (?) ORDER BY id', [ids]);
    rows.push(...r.map((x) => ({ shard, ...x })));
  }
  return rows.sort((a, b) => ((a['id'] as string) < (b['id'] as string) ? -1 : 1));
}

async function outboxRows(transferIds: string[]): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const shard of [0, 1]) {
    const [r] = await db
      .pool(shard)
      .query<RowDataPacket[]>(
        'SELECT transfer_id, debit_account, credit_account, amount, kind, envelope_id, at_ms FROM ledger_outbox WHERE transfer_id IN (?) ORDER BY transfer_id',
        [transferIds],
      );
    rows.push(...r.map((x) => ({ shard, ...x })));
  }
  return rows.sort((a, b) => ((a['transfer_id'] as string) < (b['transfer_id'] as string) ? -1 : 1));
}

/** Users whose balance differs from the sum of their transactions (must be none). */
async function drift(): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const shard of [0, 1]) {
    const [r] = await db
      .pool(shard)
      .query<RowDataPacket[]>(
        `SELECT w.user_id, w.balance, COALESCE(SUM(t.amount), 0) AS tx_sum FROM wallets w LEFT JOIN wallet_tx t ON t.user_id = w.user_id
          GROUP BY w.user_id, w.balance HAVING w.balance <> COALESCE(SUM(t.amount), 0)`,
      );
    out.push(...r);
  }
  return out;
}

const expectedTx = (i: SettlementItem) => ({
  shard: map.shardIndexOf(i.userId),
  id: i.transferId,
  user_id: i.userId,
  kind: i.kind,
  amount: String(i.amount),
  envelope_id: i.envelopeId,
  created_at: new Date(i.at),
});
const expectedOutbox = (i: SettlementItem) => ({
  shard: map.shardIndexOf(i.userId),
  transfer_id: i.transferId,
  debit_account: Account.escrow(i.envelopeId),
  credit_account: Account.user(i.userId),
  amount: String(i.amount),
  kind: i.kind,
  envelope_id: i.envelopeId,
  at_ms: String(i.at),
});
const byTransferId = (a: SettlementItem, b: SettlementItem) => (a.transferId < b.transferId ? -1 : 1);

describe('SettlementService.apply (real MariaDB, two shards)', () => {
  it('credits a batch spanning both shards: balances, one wallet_tx row and one outbox row per item', async () => {
    const env1 = newEnvelope();
    const env2 = newEnvelope();
    const [a, b] = [userOn(0), userOn(0)];
    const [c, sender] = [userOn(1), userOn(1)];
    const items = [grab(env1, a, 120), grab(env1, b, 30), grab(env1, c, 250, AT + 5), refund(env1, sender, 100, AT + 60_000), grab(env2, a, 7)];

    expect(await settlement.apply(items)).toBe(5);

    expect(await balanceOf(a)).toBe(127); // two envelopes: 120 + 7
    expect(await balanceOf(b)).toBe(30);
    expect(await balanceOf(c)).toBe(250);
    expect(await balanceOf(sender)).toBe(100);
    const sorted = [...items].sort(byTransferId);
    expect(await txRows(items.map((i) => i.transferId))).toEqual(sorted.map(expectedTx));
    expect(await outboxRows(items.map((i) => i.transferId))).toEqual(sorted.map(expectedOutbox));
    // rows live on the user's shard only
    const [[onZero]] = await db.pool(0).query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wallet_tx WHERE user_id IN (?)', [[c, sender]]);
    expect(Number(onZero.n)).toBe(0);
    const [[onOne]] = await db.pool(1).query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM wallet_tx WHERE user_id IN (?)', [[a, b]]);
    expect(Number(onOne.n)).toBe(0);

    const history = await wallet.transactions({ userId: a, limit: 10 });
    expect(history.nextCursor).toBeNull();
    expect(history.items.map((t) => [t.id, t.kind, t.amount, t.envelopeId, t.createdAt]).sort()).toEqual(
      [
        [TransferId.grab(env1, a), 'grab', 120, env1, new Date(AT).toISOString()],
        [TransferId.grab(env2, a), 'grab', 7, env2, new Date(AT).toISOString()],
      ].sort(),
    );
    expect(await drift()).toEqual([]);
  });

  it('returns 0 and changes no row when the same batch is applied again', async () => {
    const env = newEnvelope();
    const items = [grab(env, userOn(0), 11), grab(env, userOn(1), 22), grab(env, userOn(1), 33), refund(env, userOn(0), 44)];
    expect(await settlement.apply(items)).toBe(4);
    const before = await snapshot();

    expect(await settlement.apply(items)).toBe(0);
    expect(await settlement.apply([...items].reverse())).toBe(0);
    expect(await settlement.apply([items[2]])).toBe(0);

    expect(await snapshot()).toEqual(before);
  });

  it('credits only the new items of a batch that overlaps an applied one', async () => {
    const env = newEnvelope();
    const [u1, u2, u3] = [userOn(0), userOn(1), userOn(0)];
    expect(await settlement.apply([grab(env, u1, 10), grab(env, u2, 20)])).toBe(2);
    expect(await settlement.apply([grab(env, u2, 20), grab(env, u3, 30), grab(env, u1, 10)])).toBe(1);
    expect([await balanceOf(u1), await balanceOf(u2), await balanceOf(u3)]).toEqual([10, 20, 30]);
  });

  it('credits an item listed twice in one batch once', async () => {
    const env = newEnvelope();
    const u = userOn(1);
    const item = grab(env, u, 99);
    expect(await settlement.apply([item, item, { ...item }])).toBe(1);
    expect(await balanceOf(u)).toBe(99);
    expect(await txRows([item.transferId])).toHaveLength(1);
    expect(await outboxRows([item.transferId])).toHaveLength(1);
  });

  it('credits each transfer once when overlapping batches are applied concurrently, round after round', async () => {
    const users = [userOn(0), userOn(0), userOn(0), userOn(0), userOn(0), userOn(0), userOn(1), userOn(1), userOn(1), userOn(1), userOn(1), userOn(1)];
    const expected = new Map(users.map((u) => [u, 0]));
    const allIds: string[] = [];
    for (let round = 0; round < 8; round++) {
      const env = newEnvelope();
      const items = users.map((u, i) => grab(env, u, 1 + i + round * 13));
      for (const i of items) expected.set(i.userId, expected.get(i.userId)! + i.amount);
      allIds.push(...items.map((i) => i.transferId));
      const batches = [items.slice(0, 8), items.slice(4), [...items].reverse(), items.filter((_, i) => i % 2 === 0), items];
      const credited = await Promise.all(batches.map((batch) => settlement.apply(batch)));
      expect(credited.reduce((s, n) => s + n, 0)).toBe(items.length);
    }
    for (const [u, amount] of expected) expect(await balanceOf(u)).toBe(amount);
    const tx = await txRows(allIds);
    expect(tx).toHaveLength(allIds.length);
    expect(new Set(tx.map((r) => r['id'])).size).toBe(allIds.length);
    expect(await outboxRows(allIds)).toHaveLength(allIds.length);
    expect(await drift()).toEqual([]);
  });

  it('skips zero-amount refunds: no credit, no transaction, no outbox row', async () => {
    const env = newEnvelope();
    const sender = userOn(0);
    const zero = refund(env, sender, 0);
    const before = await snapshot();
    expect(await settlement.apply([zero])).toBe(0);
    expect(await snapshot()).toEqual(before);

    const winner = userOn(1);
    expect(await settlement.apply([zero, grab(env, winner, 500)])).toBe(1);
    expect(await txRows([zero.transferId])).toEqual([]);
    expect(await outboxRows([zero.transferId])).toEqual([]);
    expect(await balanceOf(sender)).toBe(0);
    expect(await balanceOf(winner)).toBe(500);
  });
});

describe('WalletService.topup', () => {
  it('answers a replay with the first response and credits once; another key credits again', async () => {
    const u = userOn(0);
    const first = await wallet.topup({ userId: u, amount: 1000, idempotencyKey: 'k-1' });
    expect(first).toEqual({ userId: u, balance: 1000, transactionId: expect.stringMatching(/^topup:\d+$/) });
    expect(await wallet.topup({ userId: u, amount: 1000, idempotencyKey: 'k-1' })).toEqual(first);

    const second = await wallet.topup({ userId: u, amount: 250, idempotencyKey: 'k-2' });
    expect(second.balance).toBe(1250);
    expect(second.transactionId).not.toBe(first.transactionId);
    // replaying the first key later still returns its original response and moves nothing
    expect(await wallet.topup({ userId: u, amount: 1000, idempotencyKey: 'k-1' })).toEqual(first);
    expect(await balanceOf(u)).toBe(1250);

    const tx = await txRows([first.transactionId, second.transactionId]);
    expect(tx.map((r) => [r['id'], r['user_id'], r['kind'], r['amount'], r['envelope_id']])).toEqual(
      [
        [first.transactionId, u, 'topup', '1000', null],
        [second.transactionId, u, 'topup', '250', null],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    const out = await outboxRows([first.transactionId, second.transactionId]);
    expect(out.map((r) => [r['transfer_id'], r['debit_account'], r['credit_account'], r['amount'], r['kind']]).sort()).toEqual(
      [
        [first.transactionId, Account.externalTopup, Account.user(u), '1000', 'topup'],
        [second.transactionId, Account.externalTopup, Account.user(u), '250', 'topup'],
      ].sort(),
    );
  });

  it('refuses the same key with a different amount with IDEMPOTENCY.KEY_REUSED and moves nothing', async () => {
    const u = userOn(1);
    await wallet.topup({ userId: u, amount: 500, idempotencyKey: 'same' });
    const before = await snapshot();
    const err = await wallet.topup({ userId: u, amount: 501, idempotencyKey: 'same' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe(ErrorCode.IdempotencyKeyReused);
    expect(await snapshot()).toEqual(before);
    expect(await balanceOf(u)).toBe(500);
  });

  it('scopes keys per user: two users may use the same key', async () => {
    const [u1, u2] = [userOn(0), userOn(1)];
    const r1 = await wallet.topup({ userId: u1, amount: 10, idempotencyKey: 'shared' });
    const r2 = await wallet.topup({ userId: u2, amount: 20, idempotencyKey: 'shared' });
    expect([r1.balance, r2.balance]).toEqual([10, 20]);
    expect(r1.transactionId).not.toBe(r2.transactionId);
  });

  it.each([
    ['a new user', false],
    ['a user with a wallet', true],
  ])('credits once when the same key arrives 10 times concurrently (%s)', async (_what, existing) => {
    const u = userOn(existing ? 1 : 0);
    if (existing) await wallet.topup({ userId: u, amount: 5, idempotencyKey: 'seed' });
    const results = await Promise.all(Array.from({ length: 10 }, () => wallet.topup({ userId: u, amount: 700, idempotencyKey: 'race' })));
    const base = existing ? 5 : 0;
    for (const r of results) expect(r).toEqual(results[0]);
    expect(results[0].balance).toBe(base + 700);
    expect(await balanceOf(u)).toBe(base + 700);
    const [rows] = await db.poolFor(u).query<RowDataPacket[]>("SELECT amount FROM wallet_tx WHERE user_id = ? AND kind = 'topup'", [u]);
    expect(rows.map((r) => r['amount'])).toEqual(existing ? expect.arrayContaining(['5', '700']) : ['700']);
    expect(rows).toHaveLength(existing ? 2 : 1);
    expect(await outboxRows([results[0].transactionId])).toHaveLength(1);
  });

  it('refuses a top-up beyond MAX_BALANCE with VALIDATION.FAILED and records nothing', async () => {
    const u = userOn(0);
    await wallet.topup({ userId: u, amount: MAX_BALANCE - 10, idempotencyKey: 'big' });
    const err = await wallet.topup({ userId: u, amount: 11, idempotencyKey: 'over' }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe(ErrorCode.ValidationFailed);
    expect(await balanceOf(u)).toBe(MAX_BALANCE - 10);
    // the refused key was not consumed: the same key with an amount that fits succeeds
    expect((await wallet.topup({ userId: u, amount: 10, idempotencyKey: 'over-fits' })).balance).toBe(MAX_BALANCE);
  });
});

describe('WalletService.debitForEnvelope', () => {
  async function funded(shard: number, amount: number): Promise<string> {
    const u = userOn(shard);
    await wallet.topup({ userId: u, amount, idempotencyKey: `fund-${u}` });
    return u;
  }

  it('debits once into escrow; a replay answers success without a second debit', async () => {
    const u = await funded(0, 1000);
    const env = newEnvelope();
    expect(await wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 300 })).toEqual({ transferId: `send:${env}`, balance: 700 });
    const before = await snapshot();
    expect(await wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 300 })).toEqual({ transferId: `send:${env}`, balance: 700 });
    expect(await snapshot()).toEqual(before);
    expect(await balanceOf(u)).toBe(700);

    const [tx] = await txRows([TransferId.send(env)]);
    expect(tx).toMatchObject({ id: `send:${env}`, user_id: u, kind: 'send', amount: '-300', envelope_id: env });
    expect(await outboxRows([TransferId.send(env)])).toEqual([
      {
        shard: 0,
        transfer_id: `send:${env}`,
        debit_account: Account.user(u),
        credit_account: Account.escrow(env),
        amount: '300',
        kind: 'send',
        envelope_id: env,
        at_ms: expect.stringMatching(/^\d{13}$/),
      },
    ]);
    expect(await drift()).toEqual([]);
  });

  it('remembers insufficient funds: after a top-up, a retry of the same envelope still fails', async () => {
    const u = await funded(1, 100);
    const env = newEnvelope();
    const first = await wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 500 }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AppError);
    expect((first as AppError).code).toBe(ErrorCode.WalletInsufficientFunds);
    const [rejections] = await db.poolFor(u).query<RowDataPacket[]>('SELECT id, user_id, amount FROM debit_rejections WHERE id = ?', [`send:${env}`]);
    expect(rejections.map((r) => ({ ...r }))).toEqual([{ id: `send:${env}`, user_id: u, amount: '500' }]);

    await wallet.topup({ userId: u, amount: 1000, idempotencyKey: 'later' });
    expect(await balanceOf(u)).toBe(1100);
    const retry = await wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 500 }).catch((e: unknown) => e);
    expect((retry as AppError).code).toBe(ErrorCode.WalletInsufficientFunds);
    expect(await balanceOf(u)).toBe(1100);
    expect(await txRows([TransferId.send(env)])).toEqual([]);
    expect(await outboxRows([TransferId.send(env)])).toEqual([]);

    // a new envelope of the same amount is a new decision, and now it fits
    const other = newEnvelope();
    expect(await wallet.debitForEnvelope({ userId: u, envelopeId: other, amount: 500 })).toEqual({ transferId: `send:${other}`, balance: 600 });
  });

  it('refuses a user who never had a wallet, and remembers it', async () => {
    const u = userOn(0);
    const env = newEnvelope();
    const codes = await Promise.all(
      Array.from({ length: 4 }, () =>
        wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 1 }).then(
          () => 'ok',
          (e: AppError) => e.code,
        ),
      ),
    );
    expect(codes).toEqual(Array(4).fill(ErrorCode.WalletInsufficientFunds));
    await wallet.topup({ userId: u, amount: 50, idempotencyKey: 'k' });
    await expect(wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 1 })).rejects.toMatchObject({ code: ErrorCode.WalletInsufficientFunds });
    expect(await balanceOf(u)).toBe(50);
  });

  it('debits once when the same envelope is debited 10 times concurrently', async () => {
    const u = await funded(1, 2000);
    const env = newEnvelope();
    const results = await Promise.all(Array.from({ length: 10 }, () => wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 1500 })));
    for (const r of results) expect(r.transferId).toBe(`send:${env}`);
    expect(results.map((r) => r.balance)).toEqual(Array(10).fill(500));
    expect(await balanceOf(u)).toBe(500);
    expect(await txRows([TransferId.send(env)])).toHaveLength(1);
    expect(await outboxRows([TransferId.send(env)])).toHaveLength(1);
    expect(await drift()).toEqual([]);
  });

  it('lets only one of two concurrent envelopes through when the balance covers one', async () => {
    const u = await funded(0, 1000);
    const [e1, e2] = [newEnvelope(), newEnvelope()];
    const outcomes = await Promise.all(
      [e1, e2].map((env) =>
        wallet.debitForEnvelope({ userId: u, envelopeId: env, amount: 600 }).then(
          (r) => r.balance,
          (e: AppError) => e.code,
        ),
      ),
    );
    expect([...outcomes].sort()).toEqual([400, ErrorCode.WalletInsufficientFunds].sort());
    expect(await balanceOf(u)).toBe(400);
  });
});
