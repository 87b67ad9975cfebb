import { randomBytes } from 'node:crypto';
import { Account, Transfer, TransferId } from '@hongbao/contracts';
import { assertTestDatabases, dropDatabases, migrate, ShardedMysql, ShardMap } from '@hongbao/sharding';
import type { RowDataPacket } from 'mysql2/promise';
import { LedgerService } from '../src/ledger/ledger.service';
import { ledgerMigrations } from '../src/migrations';

// Real MariaDB (scripts/local-deps.sh); this file's own two shard databases, dropped afterwards.
const BASE = 'mysql://hongbao:hongbao@127.0.0.1:3306';
const run = randomBytes(4).toString('hex');
const map = ShardMap.fromConfig([`${BASE}/hongbao_test_${run}_ledger_0`, `${BASE}/hongbao_test_${run}_ledger_1`]);

let db: ShardedMysql;
let ledger: LedgerService;

beforeAll(async () => {
  assertTestDatabases(map);
  await migrate(map, ledgerMigrations);
  db = new ShardedMysql(map);
  ledger = new LedgerService(db);
});

afterAll(async () => {
  await db?.close();
  await dropDatabases(map);
});

/** Every row of `transfers` on one shard, in id order, as plain objects. */
async function rowsOf(shard: number): Promise<Record<string, unknown>[]> {
  const [rows] = await db.pool(shard).query<RowDataPacket[]>('SELECT id, debit_account, credit_account, amount, kind, envelope_id, at_ms FROM transfers ORDER BY id');
  return rows.map((r) => ({ ...r }));
}

const allIds = async () => [...(await rowsOf(0)), ...(await rowsOf(1))].map((r) => r['id'] as string).sort();

/** The money story of one envelope: sender 7001 tops up 10 000, sends 1000 in 10 shares, 6 winners, 400 refunded. */
function story(envelopeId: string, sender: string, firstWinner: number): { transfers: Transfer[]; wins: Map<string, number> } {
  const at = 1_760_000_000_000;
  const wins = new Map<string, number>();
  const amounts = [50, 80, 100, 120, 150, 100]; // 600 grabbed
  amounts.forEach((a, i) => wins.set(String(firstWinner + i), a));
  const transfers: Transfer[] = [
    { id: `topup:${envelopeId}`, debitAccount: Account.externalTopup, creditAccount: Account.user(sender), amount: 10_000, kind: 'topup', at },
    { id: TransferId.send(envelopeId), debitAccount: Account.user(sender), creditAccount: Account.escrow(envelopeId), amount: 1000, kind: 'send', envelopeId, at: at + 1 },
    ...[...wins].map(
      ([user, amount], i): Transfer => ({
        id: TransferId.grab(envelopeId, user),
        debitAccount: Account.escrow(envelopeId),
        creditAccount: Account.user(user),
        amount,
        kind: 'grab',
        envelopeId,
        at: at + 2 + i,
      }),
    ),
    { id: TransferId.refund(envelopeId), debitAccount: Account.escrow(envelopeId), creditAccount: Account.user(sender), amount: 400, kind: 'refund', envelopeId, at: at + 100 },
  ];
  return { transfers, wins };
}

describe('LedgerService (real MariaDB, two shards)', () => {
  const a = story('880000000000000001', '7001', 8100);
  const b = story('880000000000000002', '7002', 8200);
  const c = story('880000000000000003', '7003', 8300);
  const stories = new Map([
    ['880000000000000001', a],
    ['880000000000000002', b],
    ['880000000000000003', c],
  ]);

  it('appends a batch across both shards, each transfer on the shard its id routes to', async () => {
    const shards = new Set(a.transfers.map((t) => map.shardIndexOf(t.id)));
    expect(shards).toEqual(new Set([0, 1])); // the fixture really spans both shards

    expect(await ledger.append({ transfers: a.transfers })).toEqual({ inserted: 9 });

    for (const shard of [0, 1]) {
      const expected = a.transfers
        .filter((t) => map.shardIndexOf(t.id) === shard)
        .map((t) => ({
          id: t.id,
          debit_account: t.debitAccount,
          credit_account: t.creditAccount,
          amount: String(t.amount),
          kind: t.kind,
          envelope_id: t.envelopeId ?? null,
          at_ms: String(t.at),
        }))
        .sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(await rowsOf(shard)).toEqual(expected);
    }
  });

  it('inserts nothing when the same batch is appended again, and leaves every row as it was', async () => {
    const before = [await rowsOf(0), await rowsOf(1)];
    expect(await ledger.append({ transfers: a.transfers })).toEqual({ inserted: 0 });
    expect([await rowsOf(0), await rowsOf(1)]).toEqual(before);
  });

  it('ignores a replayed transfer id even if the replay carries other values (transfers are immutable)', async () => {
    const first = a.transfers[2];
    const tampered: Transfer = { ...first, amount: first.amount + 1_000, creditAccount: Account.user('9999') };
    expect(await ledger.append({ transfers: [tampered] })).toEqual({ inserted: 0 });
    const [row] = (await rowsOf(map.shardIndexOf(first.id))).filter((r) => r['id'] === first.id);
    expect(row).toMatchObject({ amount: String(first.amount), credit_account: first.creditAccount });
  });

  it('counts only the new transfers of a batch that overlaps earlier ones', async () => {
    const overlap = [...a.transfers.slice(0, 4), ...b.transfers];
    expect(await ledger.append({ transfers: overlap })).toEqual({ inserted: b.transfers.length });
    expect(await allIds()).toEqual([...a.transfers, ...b.transfers].map((t) => t.id).sort());
  });

  it('keeps each transfer once when the same batch is appended concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ledger.append({ transfers: c.transfers })));
    expect(results.reduce((s, r) => s + r.inserted, 0)).toBe(c.transfers.length);
    const ids = await allIds();
    for (const t of c.transfers) expect(ids.filter((id) => id === t.id)).toHaveLength(1);
  });

  it('reports facts: balances summing to zero and per-envelope aggregates gathered from both shards', async () => {
    const facts = await ledger.facts();
    expect(facts.transferCount).toBe(27);

    let total = 0;
    for (const v of facts.balances.values()) total += v;
    expect(total).toBe(0);

    expect(facts.balances.get(Account.externalTopup)).toBe(-30_000);
    for (const [id, sender] of [
      ['880000000000000001', '7001'],
      ['880000000000000002', '7002'],
      ['880000000000000003', '7003'],
    ]) {
      // grabs of one envelope are spread over both shards (transfers shard by transfer id)
      const grabs = stories.get(id)!.transfers.filter((t) => t.kind === 'grab');
      expect(new Set(grabs.map((t) => map.shardIndexOf(t.id)))).toEqual(new Set([0, 1]));
      expect(facts.envelopes.get(id)).toEqual({ send: 1000, grabCount: 6, grabSum: 600, refund: 400 });
      expect(facts.balances.get(Account.escrow(id))).toBe(0);
      // 10 000 topped up - 1000 sent + 400 refunded
      expect(facts.balances.get(Account.user(sender))).toBe(9_400);
    }
    for (const [user, amount] of a.wins) expect(facts.balances.get(Account.user(user))).toBe(amount);
    expect(facts.balances.get(Account.user('8205'))).toBe(100);
    expect(facts.balances.has(Account.user('9999'))).toBe(false);
    // 3 envelopes; the top-ups carry no envelope id
    expect([...facts.envelopes.keys()].sort()).toEqual(['880000000000000001', '880000000000000002', '880000000000000003']);
  });

  it('reports an open envelope with its escrow still holding what was not paid out', async () => {
    const env = '880000000000000004';
    await ledger.append({
      transfers: [
        { id: TransferId.send(env), debitAccount: Account.user('7001'), creditAccount: Account.escrow(env), amount: 500, kind: 'send', envelopeId: env, at: 1 },
        { id: TransferId.grab(env, '8400'), debitAccount: Account.escrow(env), creditAccount: Account.user('8400'), amount: 123, kind: 'grab', envelopeId: env, at: 2 },
      ],
    });
    const facts = await ledger.facts();
    expect(facts.envelopes.get(env)).toEqual({ send: 500, grabCount: 1, grabSum: 123, refund: 0 });
    expect(facts.balances.get(Account.escrow(env))).toBe(377);
    expect(facts.balances.get(Account.user('7001'))).toBe(8_900);
    let total = 0;
    for (const v of facts.balances.values()) total += v;
    expect(total).toBe(0);
  });
});
