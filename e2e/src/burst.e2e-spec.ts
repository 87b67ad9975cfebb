import { signToken, TestSystem, waitFor, pool, shuffle } from '@hongbao/testing';
import { expectCleanAudit, expectStatus } from './support/expect-status';

/**
 * The crowd (DESIGN §9): 50 funded users send 10 envelopes of 100 shares; 500 users fire 3000
 * grabs at once, repeats included; then every answer, every envelope, every wallet and every
 * history is checked against the others, and the audit (invariants 1-6 of DESIGN §3) must be
 * clean. A short-lived envelope checks expiry and refund; replayed POSTs check idempotency.
 */

interface ApiRes {
  status: number;
  body: any;
}
interface Tx {
  kind: string;
  amount: number;
  envelopeId?: string;
}
interface Grab {
  userId: string;
  amount: number;
  grabbedAt: string;
}
interface Attempt {
  user: number;
  env: number;
  res?: ApiRes;
}

const USERS = 500;
const FUNDED = 50;
const SHARES = 100;
const ENVELOPES = 10;
/** each user grabs three envelopes: three tries at the first, two at the second, one at the third */
const TARGETS = [0, 3, 7];
const TRIES = [3, 2, 1];
const IN_FLIGHT = 200;

const uid = (i: number) => String(100_001 + i);

const txKey = (t: Tx) => `${t.kind} ${t.amount} ${t.envelopeId ?? '-'}`;
/** JSON with sorted keys, to compare flat bodies regardless of key order */
const canon = (o: unknown) => (o && typeof o === 'object' ? JSON.stringify(o, Object.keys(o).sort()) : JSON.stringify(o));

describe('burst: 3000 concurrent grabs on 10 envelopes, then every invariant', () => {
  const sys = new TestSystem();
  const tokens: string[] = [];
  /** status -> count, over every call this file makes */
  const statuses = new Map<number, number>();
  /** what the test itself did, per user index: the ledger it expects to find */
  const topups = new Map<number, number[]>();
  const sends = new Map<number, { envelopeId: string; amount: number }[]>();

  const plan = Array.from({ length: ENVELOPES }, (_, j) => ({
    sender: j >> 1, // users 0..4 send two envelopes each
    mode: (j % 2 === 0 ? 'random' : 'equal') as 'random' | 'equal',
    amount: j % 2 === 0 ? 20_000 + j * 777 : SHARES * (150 + j * 10),
    greeting: `burst #${j}`,
  }));
  const created: { envelopeId: string; amount: number; count: number; mode: string; expiresAt: string }[] = [];
  const sendKey = (j: number) => `send-${j}`;
  let attempts: Attempt[] = [];
  let details: any[] = [];

  // The short-lived envelope: user 5 sends 1003 cents in 10 shares for 2 s; users 6, 7, 8 grab.
  const SHORT = { sender: 5, amount: 1003, count: 10, grabbers: [6, 7, 8], late: [9, 10, 499] };
  let short = { envelopeId: '', createdAtMs: 0 };
  const shortWins = new Map<number, number>();
  let shortRefund = 0;

  async function api(method: string, path: string, user: number | 'admin', opts: { body?: unknown; key?: string } = {}): Promise<ApiRes> {
    const token = user === 'admin' ? await sys.token('1', true) : tokens[user];
    const r = await sys.api(method, path, { token, body: opts.body, headers: opts.key ? { 'idempotency-key': opts.key } : {} });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    return { status: r.status, body: r.body };
  }

  async function history(user: number): Promise<(Tx & { id: string; createdAt: string })[]> {
    const items: (Tx & { id: string; createdAt: string })[] = [];
    let cursor: string | null = null;
    // Senders page 3 at a time so the cursor is exercised; everyone else in pages of 100.
    const limit = sends.has(user) ? 3 : 100;
    for (let page = 0; page < 100; page++) {
      const r = await api('GET', `/v1/wallet/transactions?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, user);
      expectStatus(r, 200);
      expect(r.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...r.body.items);
      cursor = r.body.nextCursor;
      if (!cursor) return items;
    }
    throw new Error(`history of ${uid(user)} did not end`);
  }

  beforeAll(async () => {
    await sys.start();
    for (let i = 0; i < USERS; i++) tokens.push(await signToken(uid(i)));
  }, 120_000);
  afterAll(() => sys.stop());

  it('funds 50 users (ten of them twice); each top-up answers 201 with the running balance', async () => {
    const results = await pool(
      Array.from({ length: FUNDED }, (_, i) => i),
      25,
      async (i) => {
        const first = 500_000 + i * 1_000;
        const a = await api('POST', '/v1/wallet/topups', i, { body: { amount: first }, key: `topup-a-${i}` });
        expectStatus(a, 201);
        expect(a.body).toEqual({ userId: uid(i), balance: first, transactionId: expect.any(String) });
        topups.set(i, [first]);
        if (i < 10) {
          const b = await api('POST', '/v1/wallet/topups', i, { body: { amount: 12_345 }, key: `topup-b-${i}` });
          expectStatus(b, 201);
          expect(b.body).toEqual({ userId: uid(i), balance: first + 12_345, transactionId: expect.any(String) });
          expect(b.body.transactionId).not.toBe(a.body.transactionId);
          topups.get(i)!.push(12_345);
        }
        return a.body.transactionId as string;
      },
    );
    expect(new Set(results).size).toBe(FUNDED);
  });

  it('sends 10 envelopes of 100 shares from 5 senders; each sender is debited once per envelope', async () => {
    for (let j = 0; j < ENVELOPES; j++) {
      const p = plan[j];
      const before = (await api('GET', '/v1/wallet', p.sender)).body.balance as number;
      const r = await api('POST', '/v1/envelopes', p.sender, { body: { amount: p.amount, count: SHARES, mode: p.mode, greeting: p.greeting }, key: sendKey(j) });
      expectStatus(r, 201);
      expect(r.body).toEqual({ envelopeId: expect.stringMatching(/^[1-9][0-9]{0,18}$/), amount: p.amount, count: SHARES, mode: p.mode, expiresAt: expect.any(String) });
      // default ttl is 86400 s
      const ttl = Date.parse(r.body.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(86_400_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
      created.push(r.body);
      if (!sends.has(p.sender)) sends.set(p.sender, []);
      sends.get(p.sender)!.push({ envelopeId: r.body.envelopeId, amount: p.amount });
      const after = await api('GET', '/v1/wallet', p.sender);
      expect(after.body).toEqual({ userId: uid(p.sender), balance: before - p.amount, currency: expect.any(String) });

      const d = await api('GET', `/v1/envelopes/${r.body.envelopeId}`, 499);
      expectStatus(d, 200);
      expect(d.body).toEqual({
        envelopeId: r.body.envelopeId,
        senderId: uid(p.sender),
        amount: p.amount,
        count: SHARES,
        mode: p.mode,
        greeting: p.greeting,
        status: 'active',
        remainingCount: SHARES,
        remainingAmount: p.amount,
        grabs: [],
        luckiest: null,
        expiresAt: r.body.expiresAt,
        refundedAmount: 0,
      });
    }
    expect(new Set(created.map((c) => c.envelopeId)).size).toBe(ENVELOPES);
  });

  it('a replayed top-up and a replayed send (one after another, and five at once) return the first response and move no money', async () => {
    // Top-up: user 11 replays its first top-up.
    const topBefore = await api('GET', '/v1/wallet', 11);
    const replays = [await api('POST', '/v1/wallet/topups', 11, { body: { amount: 500_000 + 11 * 1_000 }, key: 'topup-a-11' })];
    replays.push(...(await Promise.all(Array.from({ length: 5 }, () => api('POST', '/v1/wallet/topups', 11, { body: { amount: 500_000 + 11 * 1_000 }, key: 'topup-a-11' })))));
    for (const r of replays) {
      expectStatus(r, 201);
      expect(r.body).toEqual({ userId: uid(11), balance: 500_000 + 11 * 1_000, transactionId: replays[0].body.transactionId });
    }
    expect((await api('GET', '/v1/wallet', 11)).body.balance).toBe(topBefore.body.balance);

    // A brand-new key sent five times at once (a double click): exactly one top-up.
    const fresh = await Promise.all(Array.from({ length: 5 }, () => api('POST', '/v1/wallet/topups', 12, { body: { amount: 777 }, key: 'topup-dbl-12' })));
    const firstBalance = 500_000 + 12 * 1_000 + 777;
    for (const r of fresh) {
      expectStatus(r, 201);
      expect(r.body).toEqual({ userId: uid(12), balance: firstBalance, transactionId: fresh[0].body.transactionId });
    }
    topups.get(12)!.push(777);
    expect((await api('GET', '/v1/wallet', 12)).body.balance).toBe(firstBalance);

    // Send: sender 0 replays envelope 0.
    const p = plan[0];
    const sendBefore = await api('GET', '/v1/wallet', p.sender);
    const body = { amount: p.amount, count: SHARES, mode: p.mode, greeting: p.greeting };
    const sendReplays = [await api('POST', '/v1/envelopes', p.sender, { body, key: sendKey(0) })];
    sendReplays.push(...(await Promise.all(Array.from({ length: 5 }, () => api('POST', '/v1/envelopes', p.sender, { body, key: sendKey(0) })))));
    for (const r of sendReplays) {
      expectStatus(r, 201);
      expect(r.body).toEqual(created[0]);
    }
    expect((await api('GET', '/v1/wallet', p.sender)).body.balance).toBe(sendBefore.body.balance);

    // The same keys with another body are refused.
    const t409 = await api('POST', '/v1/wallet/topups', 11, { body: { amount: 1 }, key: 'topup-a-11' });
    expectStatus(t409, 409);
    expect(t409.body).toEqual({ code: 'IDEMPOTENCY.KEY_REUSED', message: expect.any(String), correlationId: expect.any(String) });
    const s409 = await api('POST', '/v1/envelopes', p.sender, { body: { ...body, greeting: 'changed' }, key: sendKey(0) });
    expectStatus(s409, 409);
    expect(s409.body).toEqual({ code: 'IDEMPOTENCY.KEY_REUSED', message: expect.any(String), correlationId: expect.any(String) });
    expect((await api('GET', '/v1/wallet', 11)).body.balance).toBe(topBefore.body.balance);
    expect((await api('GET', '/v1/wallet', p.sender)).body.balance).toBe(sendBefore.body.balance);
  });

  it('a 2-second envelope of 10 shares: three users grab before it expires', async () => {
    const r = await api('POST', '/v1/envelopes', SHORT.sender, { body: { amount: SHORT.amount, count: SHORT.count, mode: 'random', ttlSeconds: 2 }, key: 'short' });
    short = { envelopeId: r.body.envelopeId, createdAtMs: Date.now() };
    expectStatus(r, 201);
    expect(r.body).toEqual({ envelopeId: expect.any(String), amount: SHORT.amount, count: SHORT.count, mode: 'random', expiresAt: expect.any(String) });
    sends.set(SHORT.sender, [{ envelopeId: r.body.envelopeId, amount: SHORT.amount }]);
    const grabs = await Promise.all(SHORT.grabbers.map((u) => api('POST', `/v1/envelopes/${short.envelopeId}/grab`, u)));
    expect(Date.now() - short.createdAtMs).toBeLessThan(2_000); // otherwise this run cannot test expiry
    for (const [i, g] of grabs.entries()) {
      expectStatus(g, 200);
      expect(g.body).toEqual({ envelopeId: short.envelopeId, amount: expect.any(Number) });
      expect(Number.isInteger(g.body.amount) && g.body.amount >= 1).toBe(true);
      shortWins.set(SHORT.grabbers[i], g.body.amount);
    }
  });

  it('fires 3000 grabs from 500 users at once (200 in flight), repeats included', async () => {
    const list: Attempt[] = [];
    for (let u = 0; u < USERS; u++) {
      TARGETS.forEach((off, k) => {
        for (let t = 0; t < TRIES[k]; t++) list.push({ user: u, env: (u + off) % ENVELOPES });
      });
    }
    expect(list).toHaveLength(3000);
    // 150 distinct users per envelope (more than its 100 shares), 300 tries per envelope.
    for (let j = 0; j < ENVELOPES; j++) {
      expect(new Set(list.filter((a) => a.env === j).map((a) => a.user)).size).toBe(150);
      expect(list.filter((a) => a.env === j)).toHaveLength(300);
    }
    attempts = shuffle(list, 20240211);
    const grabStatuses = new Map<number, number>();
    await pool(attempts, IN_FLIGHT, async (a) => {
      a.res = await api('POST', `/v1/envelopes/${created[a.env].envelopeId}/grab`, a.user);
      grabStatuses.set(a.res.status, (grabStatuses.get(a.res.status) ?? 0) + 1);
    });
    // Only the documented grab answers; exactly 1000 wins (10 x 100 shares).
    expect([...grabStatuses.keys()].sort()).toEqual([200, 409, 410]);
    expect(grabStatuses.get(200)).toBe(ENVELOPES * SHARES);
    const codes = new Map<string, number>();
    for (const a of attempts) {
      const k = a.res!.status === 200 ? '200' : `${a.res!.status} ${a.res!.body?.code}`;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }
    expect([...codes.keys()].sort()).toEqual(['200', '409 ENVELOPE.ALREADY_GRABBED', '410 ENVELOPE.SOLD_OUT']);
  }, 120_000);

  it('settles: the audit drains to pending 0', async () => {
    const audit = await sys.settledAudit(90_000);
    expect(audit.pending).toBe(0);
  }, 120_000);

  it('every envelope sold out with exactly 100 grabs by distinct users summing to its amount', async () => {
    details = [];
    for (let j = 0; j < ENVELOPES; j++) {
      const d = await api('GET', `/v1/envelopes/${created[j].envelopeId}`, 0);
      expectStatus(d, 200);
      details.push(d.body);
      const p = plan[j];
      expect(d.body).toMatchObject({
        envelopeId: created[j].envelopeId,
        senderId: uid(p.sender),
        amount: p.amount,
        count: SHARES,
        mode: p.mode,
        greeting: p.greeting,
        status: 'sold_out',
        remainingCount: 0,
        remainingAmount: 0,
        expiresAt: created[j].expiresAt,
        refundedAmount: 0,
      });
      const grabs: Grab[] = d.body.grabs;
      expect(grabs).toHaveLength(SHARES);
      expect(new Set(grabs.map((g) => g.userId)).size).toBe(SHARES);
      expect(grabs.reduce((s, g) => s + g.amount, 0)).toBe(p.amount);
      for (const g of grabs) {
        expect(Number.isInteger(g.amount)).toBe(true);
        expect(g.amount).toBeGreaterThanOrEqual(1);
        if (p.mode === 'equal') expect(g.amount).toBe(p.amount / SHARES);
        expect(Number.isNaN(Date.parse(g.grabbedAt))).toBe(false);
      }
      // Winners are users who tried this envelope.
      const tried = new Set(attempts.filter((a) => a.env === j).map((a) => uid(a.user)));
      expect(grabs.filter((g) => !tried.has(g.userId))).toEqual([]);
      // Luckiest: the biggest share, the earliest grab on a tie (grabs are listed in grab order).
      const max = Math.max(...grabs.map((g) => g.amount));
      const first = grabs.find((g) => g.amount === max)!;
      expect(d.body.luckiest).toEqual({ userId: first.userId, amount: max });
    }
  });

  it('every grab answer agrees with the envelope: 200 = the recorded share, a winner\'s repeats 409 with that share, everyone else 410 SOLD_OUT', async () => {
    const wins = details.map((d) => new Map<string, number>((d.grabs as Grab[]).map((g) => [g.userId, g.amount])));
    const problems: string[] = [];
    const pairs = new Map<string, { ok: number; again: number; soldOut: number; tries: number }>();
    for (const a of attempts) {
      const r = a.res!;
      const who = `${uid(a.user)}@env${a.env}`;
      const won = wins[a.env].get(uid(a.user));
      const pair = pairs.get(who) ?? { ok: 0, again: 0, soldOut: 0, tries: 0 };
      pairs.set(who, pair);
      pair.tries++;
      if (r.status === 200) {
        pair.ok++;
        if (won === undefined) problems.push(`${who}: 200 ${JSON.stringify(r.body)} but not in the envelope's grabs`);
        else if (canon(r.body) !== canon({ envelopeId: created[a.env].envelopeId, amount: won })) problems.push(`${who}: 200 ${JSON.stringify(r.body)}, recorded ${won}`);
      } else if (r.status === 409) {
        pair.again++;
        const want = { code: 'ENVELOPE.ALREADY_GRABBED', message: r.body?.message, amount: won, correlationId: r.body?.correlationId };
        if (won === undefined) problems.push(`${who}: 409 but never won`);
        else if (canon(r.body) !== canon(want) || typeof r.body.message !== 'string' || typeof r.body.correlationId !== 'string') problems.push(`${who}: 409 ${JSON.stringify(r.body)}, recorded ${won}`);
      } else if (r.status === 410) {
        pair.soldOut++;
        if (won !== undefined) problems.push(`${who}: 410 though it won ${won}`);
        if (r.body?.code !== 'ENVELOPE.SOLD_OUT' || typeof r.body.correlationId !== 'string') problems.push(`${who}: 410 ${JSON.stringify(r.body)}`);
      } else problems.push(`${who}: undocumented ${r.status} ${JSON.stringify(r.body)}`);
    }
    for (const [who, p] of pairs) {
      const won = p.ok > 0 || p.again > 0;
      if (won && (p.ok !== 1 || p.again !== p.tries - 1)) problems.push(`${who}: winner with ${p.ok} x 200 and ${p.again} x 409 in ${p.tries} tries`);
      if (!won && p.soldOut !== p.tries) problems.push(`${who}: loser with ${p.soldOut} x 410 in ${p.tries} tries`);
    }
    expect(problems).toEqual([]);
    // Every recorded grab was answered 200 to exactly one attempt.
    const okCount = details.map((_, j) => attempts.filter((a) => a.env === j && a.res!.status === 200).length);
    expect(okCount).toEqual(Array(ENVELOPES).fill(SHARES));
  });

  it('the short-lived envelope expires, refunds exactly what was left, and refuses later grabs with 410 EXPIRED', async () => {
    let d: any;
    await waitFor(
      async () => {
        d = (await api('GET', `/v1/envelopes/${short.envelopeId}`, 0)).body;
        return d.refundedAmount > 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the short envelope to be refunded' },
    );
    const won = [...shortWins.values()].reduce((s, a) => s + a, 0);
    shortRefund = SHORT.amount - won;
    expect(shortRefund).toBeGreaterThanOrEqual(7); // 7 shares of at least 1 cent were left
    expect(d).toMatchObject({
      envelopeId: short.envelopeId,
      senderId: uid(SHORT.sender),
      amount: SHORT.amount,
      count: SHORT.count,
      mode: 'random',
      status: 'expired',
      remainingCount: 0,
      remainingAmount: 0,
      refundedAmount: shortRefund,
    });
    expect((d.grabs as Grab[]).map((g) => [g.userId, g.amount]).sort()).toEqual([...shortWins].map(([u, a]) => [uid(u), a]).sort());
    for (const u of SHORT.late) {
      const g = await api('POST', `/v1/envelopes/${short.envelopeId}/grab`, u);
      expectStatus(g, 410);
      expect(g.body).toEqual({ code: 'ENVELOPE.EXPIRED', message: expect.any(String), correlationId: expect.any(String) });
    }
    const audit = await sys.settledAudit(60_000);
    expect(audit.pending).toBe(0);
  }, 60_000);

  it('every wallet: balance and history are exactly top-ups - sends + refunds + wins, with one send per envelope', async () => {
    const expected = new Map<number, Tx[]>();
    for (let u = 0; u < USERS; u++) expected.set(u, []);
    for (const [u, list] of topups) for (const a of list) expected.get(u)!.push({ kind: 'topup', amount: a });
    for (const [u, list] of sends) for (const s of list) expected.get(u)!.push({ kind: 'send', amount: -s.amount, envelopeId: s.envelopeId });
    expected.get(SHORT.sender)!.push({ kind: 'refund', amount: shortRefund, envelopeId: short.envelopeId });
    for (const [u, a] of shortWins) expected.get(u)!.push({ kind: 'grab', amount: a, envelopeId: short.envelopeId });
    const byUid = new Map(Array.from({ length: USERS }, (_, i) => [uid(i), i]));
    details.forEach((d) => {
      for (const g of d.grabs as Grab[]) expected.get(byUid.get(g.userId)!)!.push({ kind: 'grab', amount: g.amount, envelopeId: d.envelopeId });
    });

    const problems: string[] = [];
    let winners = 0;
    await pool([...expected.keys()], 20, async (u) => {
      const want = expected.get(u)!;
      const balance = want.reduce((s, t) => s + t.amount, 0);
      if (want.some((t) => t.kind === 'grab')) winners++;
      const w = await api('GET', '/v1/wallet', u);
      if (w.status !== 200 || w.body.userId !== uid(u) || w.body.balance !== balance) problems.push(`${uid(u)}: wallet ${JSON.stringify(w.body)}, expected balance ${balance}`);
      const items = await history(u);
      const got = items.map(txKey).sort();
      const exp = want.map(txKey).sort();
      if (JSON.stringify(got) !== JSON.stringify(exp)) problems.push(`${uid(u)}: history [${got.join(', ')}], expected [${exp.join(', ')}]`);
      if (new Set(items.map((t) => t.id)).size !== items.length) problems.push(`${uid(u)}: duplicate transaction ids`);
      for (const t of items) {
        if (typeof t.id !== 'string' || Number.isNaN(Date.parse(t.createdAt))) problems.push(`${uid(u)}: malformed item ${JSON.stringify(t)}`);
        if ((t.kind === 'topup') !== (t.envelopeId === undefined)) problems.push(`${uid(u)}: envelopeId on ${JSON.stringify(t)}`);
      }
    });
    expect(problems).toEqual([]);
    expect(winners).toBeGreaterThanOrEqual(SHARES); // sanity: at least one envelope's worth of distinct winners

    // Each sender: exactly one send per envelope, for the envelope's amount.
    for (const [u, list] of sends) {
      const items = await history(u);
      const sent = items.filter((t) => t.kind === 'send');
      expect(sent.map((t) => `${t.envelopeId} ${t.amount}`).sort()).toEqual(list.map((s) => `${s.envelopeId} ${-s.amount}`).sort());
    }
  }, 120_000);

  it('replays after the burst still return the first responses and move no money', async () => {
    const p = plan[3];
    const before = (await api('GET', '/v1/wallet', p.sender)).body.balance;
    const again = await api('POST', '/v1/envelopes', p.sender, { body: { amount: p.amount, count: SHARES, mode: p.mode, greeting: p.greeting }, key: sendKey(3) });
    expectStatus(again, 201);
    expect(again.body).toEqual(created[3]);
    const top = await api('POST', '/v1/wallet/topups', 3, { body: { amount: 500_000 + 3 * 1_000 }, key: 'topup-a-3' });
    expectStatus(top, 201);
    expect(top.body).toEqual({ userId: uid(3), balance: 500_000 + 3 * 1_000, transactionId: expect.any(String) });
    const shortAgain = await api('POST', '/v1/envelopes', SHORT.sender, { body: { amount: SHORT.amount, count: SHORT.count, mode: 'random', ttlSeconds: 2 }, key: 'short' });
    expectStatus(shortAgain, 201);
    expect(shortAgain.body.envelopeId).toBe(short.envelopeId);
    expect((await api('GET', '/v1/wallet', p.sender)).body.balance).toBe(before);
    expect((await history(p.sender)).filter((t) => t.kind === 'send')).toHaveLength(sends.get(p.sender)!.length);
  });

  it('the audit is ok with every check ok and nothing pending, and only documented statuses were seen', async () => {
    const audit = await sys.settledAudit(60_000);
    expectCleanAudit(audit);
    expect([...statuses.keys()].sort()).toEqual([200, 201, 409, 410]);
  });
});
