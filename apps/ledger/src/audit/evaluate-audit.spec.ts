import type { AuditReport, EnvelopeAuditFacts, EnvelopeAuditRow, WalletAuditFacts } from '@hongbao/contracts';
import type { LedgerFacts } from '../ledger/ledger.service';
import { evaluateAudit } from './evaluate-audit';

/**
 * A small consistent world, 1000 cents topped up by user 1:
 * - 1001: 300 / 3 shares, sold out: users 2, 3, 4 won 100, 150, 50 (Redis keys still live);
 * - 1002: 200 / 4 shares, expired: user 2 won 80, 120 refunded to the sender (Redis closed);
 * - 1003: 100 / 2 shares, active: user 3 won 40, 60 still in Redis and in escrow;
 * - 1004: 500 / 5 shares, failed (insufficient funds at the time): nothing moved.
 * Balances: user 1 = 1000 - 300 - 200 + 120 - 100 = 520, user 2 = 180, user 3 = 190, user 4 = 50,
 * escrow:1003 = 60, external:topup = -1000.
 */
interface World {
  ledger: LedgerFacts;
  wallet: WalletAuditFacts;
  envelope: EnvelopeAuditFacts;
}

function world(): World {
  const envelopes: EnvelopeAuditRow[] = [
    {
      envelopeId: '1001',
      senderId: '1',
      amount: 300,
      count: 3,
      status: 'sold_out',
      refunded: null,
      dbGrabCount: 3,
      dbGrabSum: 300,
      redis: { grabCount: 3, grabSum: 300, remainingCount: 0, remainingSum: 0, closed: false },
    },
    {
      envelopeId: '1002',
      senderId: '1',
      amount: 200,
      count: 4,
      status: 'expired',
      refunded: 120,
      dbGrabCount: 1,
      dbGrabSum: 80,
      redis: { grabCount: 1, grabSum: 80, remainingCount: 0, remainingSum: 0, closed: true },
    },
    {
      envelopeId: '1003',
      senderId: '1',
      amount: 100,
      count: 2,
      status: 'active',
      refunded: null,
      dbGrabCount: 1,
      dbGrabSum: 40,
      redis: { grabCount: 1, grabSum: 40, remainingCount: 1, remainingSum: 60, closed: false },
    },
    { envelopeId: '1004', senderId: '1', amount: 500, count: 5, status: 'failed', refunded: null, dbGrabCount: 0, dbGrabSum: 0, redis: null },
  ];
  const wallet: WalletAuditFacts = {
    users: [
      { userId: '1', balance: 520 },
      { userId: '2', balance: 180 },
      { userId: '3', balance: 190 },
      { userId: '4', balance: 50 },
    ],
    balanceDrift: [],
    duplicateCredits: [],
    envelopes: [
      { envelopeId: '1001', sent: 300, grabCount: 3, grabSum: 300, refund: 0 },
      { envelopeId: '1002', sent: 200, grabCount: 1, grabSum: 80, refund: 120 },
      { envelopeId: '1003', sent: 100, grabCount: 1, grabSum: 40, refund: 0 },
    ],
    totalTopups: 1000,
    outboxRows: 0,
    outboxNet: [],
    settlementBacklog: 0,
    failedSettlementJobs: 0,
  };
  const ledger: LedgerFacts = {
    balances: new Map([
      ['external:topup', -1000],
      ['user:1', 520],
      ['user:2', 180],
      ['user:3', 190],
      ['user:4', 50],
      ['escrow:1001', 0],
      ['escrow:1002', 0],
      ['escrow:1003', 60],
    ]),
    envelopes: new Map([
      ['1001', { send: 300, grabCount: 3, grabSum: 300, refund: 0 }],
      ['1002', { send: 200, grabCount: 1, grabSum: 80, refund: 120 }],
      ['1003', { send: 100, grabCount: 1, grabSum: 40, refund: 0 }],
    ]),
    // 1 top-up + 3 sends + 5 grabs + 1 refund
    transferCount: 10,
  };
  return { ledger, wallet, envelope: { envelopes, streamBacklog: 0 } };
}

const run = (w: World): AuditReport => evaluateAudit(w.ledger, w.wallet, w.envelope);
const env = (w: World, id: string): EnvelopeAuditRow => w.envelope.envelopes.find((e) => e.envelopeId === id)!;
const walletEnv = (w: World, id: string) => w.wallet.envelopes.find((e) => e.envelopeId === id)!;
const walletUser = (w: World, id: string) => w.wallet.users.find((u) => u.userId === id)!;
const ledgerEnv = (w: World, id: string) => w.ledger.envelopes.get(id)!;
const failing = (r: AuditReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);
const detail = (r: AuditReport, name: string) => r.checks.find((c) => c.name === name)!.detail;

const CHECKS = ['no_oversell', 'no_double_grab', 'conservation', 'exactly_once_settlement', 'wallet_equals_ledger', 'global_conservation'];

describe('evaluateAudit', () => {
  it('reports a consistent world as ok with nothing pending, each check with its summary', () => {
    const r = run(world());
    expect(r).toEqual({
      ok: true,
      pending: 0,
      checks: [
        { name: 'no_oversell', ok: true, detail: '4 envelopes: grabs within amount and count' },
        { name: 'no_double_grab', ok: true, detail: 'no (envelope, user) credited twice' },
        { name: 'conservation', ok: true, detail: '2 closed envelopes: grabs + refund == amount, escrow 0 once settled' },
        { name: 'exactly_once_settlement', ok: true, detail: 'every accepted grab credited at most once; 0 credits still in flight' },
        { name: 'wallet_equals_ledger', ok: true, detail: '4 wallets match the ledger' },
        { name: 'global_conservation', ok: true, detail: 'users + escrows == 1000 topped up; no negative balance' },
      ],
    });
  });

  it('is ok for an empty system', () => {
    const r = evaluateAudit(
      { balances: new Map(), envelopes: new Map(), transferCount: 0 },
      { users: [], balanceDrift: [], duplicateCredits: [], envelopes: [], totalTopups: 0, outboxRows: 0, outboxNet: [], settlementBacklog: 0, failedSettlementJobs: 0 },
      { envelopes: [], streamBacklog: 0 },
    );
    expect(r.ok).toBe(true);
    expect(r.pending).toBe(0);
    expect(r.checks.map((c) => c.name)).toEqual(CHECKS);
  });

  describe('1. no oversell', () => {
    it('flags more grabs persisted in MySQL than the envelope has shares', () => {
      const w = world();
      // Redis keys already gone: MySQL is the only record of the grabs.
      Object.assign(env(w, '1001'), { dbGrabCount: 4, dbGrabSum: 350, redis: null });
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['no_oversell']);
      expect(detail(r, 'no_oversell')).toBe('1001: 4 grabs / 350 cents persisted for 3 / 300');
      // the fourth grab has no credit yet: counted as in flight, not as another violation
      expect(r.pending).toBe(1);
    });

    it('flags more money persisted in MySQL than the envelope holds, with the right count', () => {
      const w = world();
      Object.assign(env(w, '1003'), { dbGrabSum: 101, redis: null });
      const r = run(w);
      expect(failing(r)).toContain('no_oversell');
      expect(detail(r, 'no_oversell')).toBe('1003: 1 grabs / 101 cents persisted for 2 / 100');
    });

    it('flags Redis handing out more shares than the envelope has', () => {
      const w = world();
      env(w, '1003').redis = { grabCount: 3, grabSum: 120, remainingCount: 0, remainingSum: 0, closed: false };
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['no_oversell']);
      expect(detail(r, 'no_oversell')).toBe(
        '1003: Redis has 3 grabs / 120 cents for 2 / 100; 1003: Redis grabs + remaining shares = 3 / 120, expected 2 / 100',
      );
      // two Redis wins not yet persisted or credited
      expect(r.pending).toBe(2);
    });

    it('flags live Redis state whose grabs + remaining shares do not add up to the envelope', () => {
      const w = world();
      env(w, '1003').redis = { grabCount: 1, grabSum: 40, remainingCount: 1, remainingSum: 50, closed: false };
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['no_oversell']);
      expect(detail(r, 'no_oversell')).toBe('1003: Redis grabs + remaining shares = 2 / 90, expected 2 / 100');
      expect(r.pending).toBe(0);
    });

    it('does not compare remaining shares of a closed envelope (they became the refund)', () => {
      const w = world();
      // 1002 is closed in Redis with 0 remaining, although 3 shares / 120 cents were never grabbed
      expect(env(w, '1002').redis).toMatchObject({ closed: true, remainingCount: 0 });
      expect(run(w).ok).toBe(true);
    });
  });

  describe('2. no double grab', () => {
    it('flags a (envelope, user) pair the wallet credited twice', () => {
      const w = world();
      w.wallet.duplicateCredits = [{ envelopeId: '1001', userId: '2', count: 2 }];
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['no_double_grab']);
      expect(detail(r, 'no_double_grab')).toBe('1001/2: credited 2 times');
      expect(r.pending).toBe(0);
    });

    it('flags more wallet credits than shares (and, since MySQL holds only 3, more credits than grabs)', () => {
      const w = world();
      walletEnv(w, '1001').grabCount = 4;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['no_double_grab', 'exactly_once_settlement']);
      expect(detail(r, 'no_double_grab')).toBe('1001: 4 wallet / 3 ledger credits for 3 shares');
      expect(detail(r, 'exactly_once_settlement')).toBe('1001: wallet has 4 grab credits, db only 3');
    });

    it('flags more ledger credits than shares', () => {
      const w = world();
      ledgerEnv(w, '1003').grabCount = 3;
      const r = run(w);
      expect(failing(r)).toEqual(['no_double_grab', 'exactly_once_settlement']);
      expect(detail(r, 'no_double_grab')).toBe('1003: 1 wallet / 3 ledger credits for 2 shares');
      expect(detail(r, 'exactly_once_settlement')).toBe('1003: ledger has 3 grab credits, wallet only 1');
    });
  });

  describe('4. exactly-once settlement', () => {
    it('flags the ledger holding more grab transfers than the wallet credited', () => {
      const w = world();
      Object.assign(ledgerEnv(w, '1003'), { grabCount: 2, grabSum: 100 });
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['exactly_once_settlement']);
      expect(detail(r, 'exactly_once_settlement')).toBe('1003: ledger has 2 grab credits, wallet only 1');
      expect(r.pending).toBe(0);
    });

    it('flags a wallet credit (already relayed to the ledger) for a grab MySQL never persisted', () => {
      const w = world();
      // a phantom 60-cent credit to user 3 that went all the way through wallet and ledger
      Object.assign(walletEnv(w, '1003'), { grabCount: 2, grabSum: 100 });
      Object.assign(ledgerEnv(w, '1003'), { grabCount: 2, grabSum: 100 });
      walletUser(w, '3').balance = 250;
      w.ledger.balances.set('user:3', 250);
      w.ledger.balances.set('escrow:1003', 0);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['exactly_once_settlement']);
      expect(detail(r, 'exactly_once_settlement')).toBe('1003: wallet has 2 grab credits, db only 1');
    });

    it('flags MySQL holding more grabs than Redis accepted', () => {
      const w = world();
      env(w, '1003').redis = { grabCount: 0, grabSum: 0, remainingCount: 2, remainingSum: 100, closed: false };
      const r = run(w);
      expect(failing(r)).toEqual(['exactly_once_settlement']);
      expect(detail(r, 'exactly_once_settlement')).toBe('1003: db has 1 grab credits, redis only 0');
    });

    it('flags equal grab counts that carry different sums', () => {
      const w = world();
      ledgerEnv(w, '1001').grabSum = 310;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['exactly_once_settlement']);
      expect(detail(r, 'exactly_once_settlement')).toBe('1001: ledger grab sum 310 != wallet 300');
      expect(r.pending).toBe(0);
    });

    it('flags a sender debited (in wallet and ledger) for an envelope that failed', () => {
      const w = world();
      w.wallet.envelopes.push({ envelopeId: '1004', sent: 500, grabCount: 0, grabSum: 0, refund: 0 });
      w.ledger.envelopes.set('1004', { send: 500, grabCount: 0, grabSum: 0, refund: 0 });
      walletUser(w, '1').balance = 20;
      w.ledger.balances.set('user:1', 20);
      w.ledger.balances.set('escrow:1004', 500);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['exactly_once_settlement']);
      expect(detail(r, 'exactly_once_settlement')).toBe('1004: wallet debited 500 for a failed envelope of 500; 1004: ledger has 500 sent, expected 0');
    });

    it('flags an active envelope the wallet never debited', () => {
      const w = world();
      walletEnv(w, '1003').sent = 0;
      walletUser(w, '1').balance = 620;
      const r = run(w);
      expect(failing(r)).toContain('exactly_once_settlement');
      expect(detail(r, 'exactly_once_settlement')).toBe('1003: wallet debited 0 for a active envelope of 100');
    });

    it('flags a refund credited by the wallet that the envelope never recorded', () => {
      const w = world();
      walletEnv(w, '1001').refund = 10;
      ledgerEnv(w, '1001').refund = 10;
      walletUser(w, '1').balance = 530;
      w.ledger.balances.set('user:1', 530);
      w.ledger.balances.set('escrow:1001', -10);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toContain('exactly_once_settlement');
      // (how a missing refund is spelled is cosmetic: today "null")
      expect(detail(r, 'exactly_once_settlement')).toMatch(/^1001: refund recorded \S+ \/ wallet 10 \/ ledger 10$/);
    });

    it('does not check the debit of an envelope still pending (the sweeper decides it)', () => {
      const w = world();
      // crashed after the debit and before activation: money sits in escrow, status still pending
      w.envelope.envelopes.push({ envelopeId: '1005', senderId: '1', amount: 20, count: 2, status: 'pending', refunded: null, dbGrabCount: 0, dbGrabSum: 0, redis: null });
      w.wallet.envelopes.push({ envelopeId: '1005', sent: 20, grabCount: 0, grabSum: 0, refund: 0 });
      w.ledger.envelopes.set('1005', { send: 20, grabCount: 0, grabSum: 0, refund: 0 });
      walletUser(w, '1').balance = 500;
      w.ledger.balances.set('user:1', 500);
      w.ledger.balances.set('escrow:1005', 20);
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(r.pending).toBe(0);
    });
  });

  describe('3. conservation of closed envelopes', () => {
    it('flags an expired envelope whose grabs + refund differ from its amount', () => {
      const w = world();
      // 10 cents of 1002 were never refunded: they are stuck in escrow everywhere
      env(w, '1002').refunded = 110;
      walletEnv(w, '1002').refund = 110;
      ledgerEnv(w, '1002').refund = 110;
      walletUser(w, '1').balance = 510;
      w.ledger.balances.set('user:1', 510);
      w.ledger.balances.set('escrow:1002', 10);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['conservation']);
      expect(detail(r, 'conservation')).toBe('1002: grabs 80 + refund 110 != amount 200; 1002: escrow balance 10 after settlement, expected 0');
      expect(r.pending).toBe(0);
    });

    it('flags a sold-out envelope whose persisted grabs do not add up to its amount', () => {
      const w = world();
      // every share persisted, but 10 cents short (and Redis agrees: its keys are gone)
      Object.assign(env(w, '1001'), { dbGrabSum: 290, redis: null });
      Object.assign(walletEnv(w, '1001'), { grabSum: 290 });
      Object.assign(ledgerEnv(w, '1001'), { grabSum: 290 });
      walletUser(w, '4').balance = 40;
      w.ledger.balances.set('user:4', 40);
      w.ledger.balances.set('escrow:1001', 10);
      const r = run(w);
      expect(failing(r)).toEqual(['conservation']);
      expect(detail(r, 'conservation')).toBe('1001: grabs 290 + refund 0 != amount 300; 1001: escrow balance 10 after settlement, expected 0');
    });

    it('flags a non-zero escrow once every transfer of a closed envelope reached the ledger', () => {
      const w = world();
      // 5 cents more in escrow:1001 than its transfers explain (offset in the open 1003, so the journal still sums to 0)
      w.ledger.balances.set('escrow:1001', 5);
      w.ledger.balances.set('escrow:1003', 55);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['conservation']);
      expect(detail(r, 'conservation')).toBe('1001: escrow balance 5 after settlement, expected 0');
    });

    it('does not judge the escrow while a credit is still on its way to the ledger (lag is pending)', () => {
      const w = world();
      // user 2's 100-cent win on 1001 is in the wallet but its outbox row has not reached the ledger
      Object.assign(ledgerEnv(w, '1001'), { grabCount: 2, grabSum: 200 });
      w.ledger.balances.set('user:2', 80);
      w.ledger.balances.set('escrow:1001', 100);
      w.wallet.outboxRows = 1;
      w.wallet.outboxNet = [
        { account: 'escrow:1001', delta: -100 },
        { account: 'user:2', delta: 100 },
      ];
      const r = run(w);
      expect(r.ok).toBe(true);
      // 1 outbox row + 1 grab not yet in the ledger
      expect(r.pending).toBe(2);
      expect(detail(r, 'exactly_once_settlement')).toBe('every accepted grab credited at most once; 1 credits still in flight');
    });
  });

  describe('5. wallet == ledger', () => {
    const mismatch = (w: World) => {
      // 10 cents credited to user 4 in the ledger are missing from the wallet (and vice versa for user 3)
      w.ledger.balances.set('user:3', 180);
      w.ledger.balances.set('user:4', 60);
    };

    it('flags a balance mismatch at rest as a violation', () => {
      const w = world();
      mismatch(w);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['wallet_equals_ledger']);
      expect(detail(r, 'wallet_equals_ledger')).toBe('3: wallet 190 (outbox 0) vs ledger 180; 4: wallet 50 (outbox 0) vs ledger 60');
      expect(r.pending).toBe(0);
    });

    it('counts the same mismatch as pending while settlement work is in flight', () => {
      const w = world();
      mismatch(w);
      w.wallet.settlementBacklog = 1;
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(failing(r)).toEqual([]);
      // 1 queued job + the 2 mismatches it may explain
      expect(r.pending).toBe(3);
    });

    it('accounts for outbox rows not yet relayed', () => {
      const w = world();
      // a 25-cent top-up of user 4 committed in the wallet, its outbox row not relayed yet
      walletUser(w, '4').balance = 75;
      w.wallet.totalTopups = 1025;
      w.wallet.outboxRows = 1;
      w.wallet.outboxNet = [
        { account: 'external:topup', delta: -25 },
        { account: 'user:4', delta: 25 },
      ];
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(r.pending).toBe(1);
    });

    it('flags a ledger user account with money but no wallet, at rest', () => {
      const w = world();
      w.ledger.balances.set('user:9', 10);
      w.ledger.balances.set('escrow:1003', 50);
      const r = run(w);
      expect(failing(r)).toEqual(['wallet_equals_ledger']);
      expect(detail(r, 'wallet_equals_ledger')).toBe('user:9: ledger 10 but no wallet');
    });

    it('flags a wallet balance that differs from the sum of its own transactions, even in flight', () => {
      const w = world();
      w.wallet.balanceDrift = [{ userId: '2', balance: 180, txSum: 170 }];
      w.wallet.settlementBacklog = 3;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['wallet_equals_ledger']);
      expect(detail(r, 'wallet_equals_ledger')).toBe('2: balance 180 != sum of its transactions 170');
      expect(r.pending).toBe(3);
    });

    it('lists at most 20 problems in a detail, then how many more', () => {
      const w = world();
      for (let i = 0; i < 25; i++) w.wallet.balanceDrift.push({ userId: String(100 + i), balance: 1, txSum: 0 });
      const d = detail(run(w), 'wallet_equals_ledger');
      expect(d.split('; ')).toHaveLength(21);
      expect(d.startsWith('100: balance 1 != sum of its transactions 0; ')).toBe(true);
      expect(d.endsWith('119: balance 1 != sum of its transactions 0; … 5 more')).toBe(true);
    });
  });

  describe('6. global conservation', () => {
    it('flags a negative user balance', () => {
      const w = world();
      walletUser(w, '4').balance = -10;
      walletUser(w, '3').balance = 250;
      w.ledger.balances.set('user:4', -10);
      w.ledger.balances.set('user:3', 250);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['global_conservation']);
      expect(detail(r, 'global_conservation')).toBe('user 4 balance -10 < 0');
    });

    it('flags a negative balance even while work is in flight', () => {
      const w = world();
      walletUser(w, '4').balance = -10;
      walletUser(w, '3').balance = 250;
      w.ledger.balances.set('user:4', -10);
      w.ledger.balances.set('user:3', 250);
      w.envelope.streamBacklog = 4;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['global_conservation']);
      expect(r.pending).toBe(4);
    });

    it('flags an escrow paying out more than was sent into it', () => {
      const w = world();
      // the wallet credited 1003's winner 110 although only 100 were sent
      Object.assign(walletEnv(w, '1003'), { grabSum: 110 });
      const r = run(w);
      expect(failing(r)).toContain('global_conservation');
      expect(detail(r, 'global_conservation')).toContain('escrow 1003 would be -10 < 0');
    });

    it('flags a ledger whose accounts do not sum to zero', () => {
      const w = world();
      // 7 cents appeared in the open envelope's escrow from nowhere
      w.ledger.balances.set('escrow:1003', 67);
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['global_conservation']);
      expect(detail(r, 'global_conservation')).toBe('ledger accounts sum to 7, expected 0 (double entry)');
    });

    it('flags user balances + escrows differing from what was topped up, at rest', () => {
      const w = world();
      // the wallet's record of top-ups is 10 cents short of the money it holds
      w.wallet.totalTopups = 990;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual(['global_conservation']);
      expect(detail(r, 'global_conservation')).toBe('users 940 + escrows 60 != topped up 990; ledger topped up 1000 + outbox 0 != wallet 990');
    });
  });

  describe('settlement jobs', () => {
    it('adds a failing settlement_jobs check when jobs failed for good', () => {
      const w = world();
      w.wallet.failedSettlementJobs = 2;
      const r = run(w);
      expect(r.ok).toBe(false);
      expect(r.checks.map((c) => c.name)).toEqual([...CHECKS, 'settlement_jobs']);
      expect(r.checks.at(-1)).toEqual({ name: 'settlement_jobs', ok: false, detail: '2 settlement jobs failed for good' });
      expect(failing(r)).toEqual(['settlement_jobs']);
    });

    it('has no settlement_jobs check when none failed', () => {
      expect(run(world()).checks.map((c) => c.name)).toEqual(CHECKS);
    });
  });

  describe('lags count as pending and keep the audit ok', () => {
    it('counts outbox stream entries not yet relayed', () => {
      const w = world();
      w.envelope.streamBacklog = 3;
      const r = run(w);
      expect(r).toMatchObject({ ok: true, pending: 3 });
    });

    it('counts a grab Redis accepted that MySQL, wallet and ledger do not have yet', () => {
      const w = world();
      env(w, '1003').redis = { grabCount: 2, grabSum: 100, remainingCount: 0, remainingSum: 0, closed: false };
      w.envelope.streamBacklog = 1;
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(failing(r)).toEqual([]);
      // the stream entry + the grab not yet in the ledger
      expect(r.pending).toBe(2);
    });

    it('counts a persisted grab whose settlement job is still queued', () => {
      const w = world();
      Object.assign(env(w, '1003'), { dbGrabCount: 2, dbGrabSum: 100 });
      env(w, '1003').redis = { grabCount: 2, grabSum: 100, remainingCount: 0, remainingSum: 0, closed: false };
      w.wallet.settlementBacklog = 1;
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(r.pending).toBe(2);
    });

    it('counts a recorded refund the wallet has not credited yet', () => {
      const w = world();
      walletEnv(w, '1002').refund = 0;
      ledgerEnv(w, '1002').refund = 0;
      walletUser(w, '1').balance = 400;
      w.ledger.balances.set('user:1', 400);
      w.ledger.balances.set('escrow:1002', 120);
      const r = run(w);
      expect(r.ok).toBe(true);
      expect(r.pending).toBe(1);
    });

    it('counts a send debited in the wallet whose ledger transfer is still in the outbox', () => {
      const w = world();
      ledgerEnv(w, '1003').send = 0;
      w.ledger.balances.set('user:1', 620);
      w.ledger.balances.set('escrow:1003', -40);
      w.wallet.outboxRows = 1;
      w.wallet.outboxNet = [
        { account: 'user:1', delta: -100 },
        { account: 'escrow:1003', delta: 100 },
      ];
      const r = run(w);
      expect(r.ok).toBe(true);
      // the outbox row + the send missing in the ledger
      expect(r.pending).toBe(2);
    });
  });
});
