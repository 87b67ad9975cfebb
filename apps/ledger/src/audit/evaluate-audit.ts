import { Account, AuditCheck, AuditReport, EnvelopeAuditFacts, WalletAuditFacts } from '@hongbao/contracts';
import type { LedgerFacts } from '../ledger/ledger.service';

/**
 * Evaluates the money invariants of DESIGN §3 from three services' facts, read in the order
 * ledger, then wallet, then envelope: every stage of settlement is downstream of the next
 * (Redis -> envelope DB -> wallet -> ledger), so with that order a downstream count can only
 * lag its upstream, never exceed it. A lag is `pending`; an excess, a wrong sum, or a negative
 * balance is a violation. Pure: no I/O, so every rule is unit-tested.
 */
export function evaluateAudit(ledger: LedgerFacts, wallet: WalletAuditFacts, envelope: EnvelopeAuditFacts): AuditReport {
  const walletEnv = new Map(wallet.envelopes.map((e) => [e.envelopeId, e]));
  type Bucket = 'oversell' | 'double' | 'conservation' | 'exactlyOnce' | 'walletLedger' | 'global';
  /** `inFlight`: a cross-service difference that credits still on their way would explain */
  const problems: Record<Bucket, { msg: string; inFlight: boolean }[]> = {
    oversell: [],
    double: [],
    conservation: [],
    exactlyOnce: [],
    walletLedger: [],
    global: [],
  };
  let lagging = 0;
  const note = (k: Bucket, msg: string, inFlight = false) => problems[k].push({ msg, inFlight });

  let closedCount = 0;
  for (const e of envelope.envelopes) {
    const id = e.envelopeId;
    const w = walletEnv.get(id) ?? { sent: 0, grabCount: 0, grabSum: 0, refund: 0 };
    const l = ledger.envelopes.get(id) ?? { send: 0, grabCount: 0, grabSum: 0, refund: 0 };
    const r = e.redis;

    // 1. No oversell, in MySQL and in live Redis state.
    if (e.dbGrabSum > e.amount || e.dbGrabCount > e.count) note('oversell', `${id}: ${e.dbGrabCount} grabs / ${e.dbGrabSum} cents persisted for ${e.count} / ${e.amount}`);
    if (r) {
      if (r.grabSum > e.amount || r.grabCount > e.count) note('oversell', `${id}: Redis has ${r.grabCount} grabs / ${r.grabSum} cents for ${e.count} / ${e.amount}`);
      if (!r.closed && (r.grabSum + r.remainingSum !== e.amount || r.grabCount + r.remainingCount !== e.count)) {
        note('oversell', `${id}: Redis grabs + remaining shares = ${r.grabCount + r.remainingCount} / ${r.grabSum + r.remainingSum}, expected ${e.count} / ${e.amount}`);
      }
    }

    // 2. No double grab: at most one credit per (envelope, user) and never more credits than shares.
    if (w.grabCount > e.count || l.grabCount > e.count) note('double', `${id}: ${w.grabCount} wallet / ${l.grabCount} ledger credits for ${e.count} shares`);

    // 4. Exactly-once settlement: Redis >= DB >= wallet >= ledger, and equal counts carry equal sums.
    const accepted = r ? r.grabCount : e.dbGrabCount;
    const chain: Array<[string, number, number]> = [
      ['redis', accepted, r ? r.grabSum : e.dbGrabSum],
      ['db', e.dbGrabCount, e.dbGrabSum],
      ['wallet', w.grabCount, w.grabSum],
      ['ledger', l.grabCount, l.grabSum],
    ];
    for (let i = 1; i < chain.length; i++) {
      const [upName, upCount, upSum] = chain[i - 1];
      const [downName, downCount, downSum] = chain[i];
      if (downCount > upCount) note('exactlyOnce', `${id}: ${downName} has ${downCount} grab credits, ${upName} only ${upCount}`);
      else if (downCount === upCount && downSum !== upSum) note('exactlyOnce', `${id}: ${downName} grab sum ${downSum} != ${upName} ${upSum}`);
    }
    lagging += Math.max(0, accepted - l.grabCount);
    const sendExpected = e.status === 'failed' ? 0 : e.amount;
    if (e.status !== 'pending') {
      if (w.sent !== sendExpected) note('exactlyOnce', `${id}: wallet debited ${w.sent} for a ${e.status} envelope of ${e.amount}`);
      if (l.send > sendExpected) note('exactlyOnce', `${id}: ledger has ${l.send} sent, expected ${sendExpected}`);
      else if (l.send < sendExpected) lagging++;
    }
    if (w.refund > (e.refunded ?? 0) || l.refund > w.refund) note('exactlyOnce', `${id}: refund recorded ${e.refunded ?? 'none'} / wallet ${w.refund} / ledger ${l.refund}`);
    lagging += (e.refunded ?? 0) > w.refund ? 1 : 0;
    lagging += w.refund > l.refund ? 1 : 0;

    // 3. Conservation for closed envelopes: grabs + refund == amount, escrow ends at 0.
    const soldOut = e.dbGrabCount === e.count;
    if (e.refunded !== null || soldOut) {
      closedCount++;
      const persistedAll = !r || r.grabCount === e.dbGrabCount;
      if (persistedAll && e.dbGrabSum + (e.refunded ?? 0) !== e.amount) {
        note('conservation', `${id}: grabs ${e.dbGrabSum} + refund ${e.refunded ?? 0} != amount ${e.amount}`);
      }
      const escrow = ledger.balances.get(Account.escrow(id)) ?? 0;
      const settled = l.grabCount === e.dbGrabCount && l.send === e.amount && l.refund === (e.refunded ?? 0) && persistedAll;
      if (settled && escrow !== 0) note('conservation', `${id}: escrow balance ${escrow} after settlement, expected 0`);
    }
  }

  // 5. Wallet == ledger for every user, counting outbox rows not yet relayed.
  const outbox = new Map(wallet.outboxNet.map((o) => [o.account, o.delta]));
  const walletUsers = new Set<string>();
  for (const u of wallet.users) {
    const acct = Account.user(u.userId);
    walletUsers.add(acct);
    const ledgerBal = ledger.balances.get(acct) ?? 0;
    const expected = u.balance - (outbox.get(acct) ?? 0);
    if (ledgerBal !== expected) note('walletLedger', `${u.userId}: wallet ${u.balance} (outbox ${outbox.get(acct) ?? 0}) vs ledger ${ledgerBal}`, true);
  }
  for (const [acct, bal] of ledger.balances) {
    if (acct.startsWith('user:') && !walletUsers.has(acct) && bal !== 0) note('walletLedger', `${acct}: ledger ${bal} but no wallet`, true);
  }
  for (const d of wallet.balanceDrift) note('walletLedger', `${d.userId}: balance ${d.balance} != sum of its transactions ${d.txSum}`);

  // 6. Global: money only enters by top-up; users + escrows == topped up; nothing below zero.
  const userSum = wallet.users.reduce((s, u) => s + u.balance, 0);
  const escrowSum = wallet.envelopes.reduce((s, e) => s + e.sent - e.grabSum - e.refund, 0);
  if (userSum + escrowSum !== wallet.totalTopups) note('global', `users ${userSum} + escrows ${escrowSum} != topped up ${wallet.totalTopups}`, true);
  for (const u of wallet.users) if (u.balance < 0) note('global', `user ${u.userId} balance ${u.balance} < 0`);
  for (const e of wallet.envelopes) if (e.sent - e.grabSum - e.refund < 0) note('global', `escrow ${e.envelopeId} would be ${e.sent - e.grabSum - e.refund} < 0`);
  let ledgerTotal = 0;
  for (const b of ledger.balances.values()) ledgerTotal += b;
  if (ledgerTotal !== 0) note('global', `ledger accounts sum to ${ledgerTotal}, expected 0 (double entry)`);
  const ledgerTopups = -(ledger.balances.get(Account.externalTopup) ?? 0);
  const outboxTopups = -(outbox.get(Account.externalTopup) ?? 0);
  if (ledgerTopups + outboxTopups !== wallet.totalTopups) note('global', `ledger topped up ${ledgerTopups} + outbox ${outboxTopups} != wallet ${wallet.totalTopups}`, true);

  for (const d of wallet.duplicateCredits) note('double', `${d.envelopeId}/${d.userId}: credited ${d.count} times`);

  // Balance comparisons across services are only exact at rest: while credits are in flight
  // between the reads, a wallet/ledger difference is work in progress, counted as pending.
  let pending = envelope.streamBacklog + wallet.settlementBacklog + wallet.outboxRows + lagging;
  if (pending > 0) {
    for (const k of Object.keys(problems) as Bucket[]) {
      pending += problems[k].filter((p) => p.inFlight).length;
      problems[k] = problems[k].filter((p) => !p.inFlight);
    }
  }
  const n = envelope.envelopes.length;
  const check = (name: string, key: Bucket, okDetail: string): AuditCheck => {
    const list = problems[key].map((p) => p.msg);
    const shown = list.length > 20 ? [...list.slice(0, 20), `… ${list.length - 20} more`] : list;
    return { name, ok: list.length === 0, detail: list.length ? shown.join('; ') : okDetail };
  };
  const checks: AuditCheck[] = [
    check('no_oversell', 'oversell', `${n} envelopes: grabs within amount and count`),
    check('no_double_grab', 'double', `no (envelope, user) credited twice`),
    check('conservation', 'conservation', `${closedCount} closed envelopes: grabs + refund == amount, escrow 0 once settled`),
    check('exactly_once_settlement', 'exactlyOnce', `every accepted grab credited at most once; ${lagging} credits still in flight`),
    check('wallet_equals_ledger', 'walletLedger', `${wallet.users.length} wallets match the ledger`),
    check('global_conservation', 'global', `users + escrows == ${wallet.totalTopups} topped up; no negative balance`),
  ];
  if (wallet.failedSettlementJobs > 0) {
    checks.push({ name: 'settlement_jobs', ok: false, detail: `${wallet.failedSettlementJobs} settlement jobs failed for good` });
  }
  return { ok: checks.every((c) => c.ok), pending, checks };
}
