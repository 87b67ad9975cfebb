import { ShardedMysql, ShardMap } from '@hongbao/sharding';
import { TestSystem, waitFor } from '@hongbao/testing';
import type { RowDataPacket } from 'mysql2/promise';

/**
 * Fault tests for DESIGN §4.4-4.5 ("prove it with a test that kills the process at each step"):
 * each scenario arms one crash point (libs/service-kit crash-point.ts), so the service SIGKILLs
 * itself the first time it gets there, in the middle of real traffic; the service is restarted
 * without it, and once the audit has drained, every grab the system accepted must be credited
 * exactly once and no cent created or lost.
 */

type Svc = 'envelope' | 'wallet';
interface Answer {
  status: number;
  body: any;
}
interface Player {
  id: string;
  token: string;
}

const TOPUP = 50_000;
const ENVELOPE = { amount: 12_345, count: 30, mode: 'random' as const };
const GRABBERS = 40;

/** Resolves true if `p` settles within `ms`, false otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function player(sys: TestSystem, id: string): Promise<Player> {
  return { id, token: await sys.token(id) };
}

/**
 * A money-moving POST retried with the same Idempotency-Key while the answer is 503
 * DEPENDENCY.UNAVAILABLE, as a client should. Needed right after TestSystem.start(): the services
 * start in parallel, and an RPC client that dialled a peer before it listened redials only after
 * 2 s, so the first calls may find no address (a pending send is then finished by the retry).
 */
async function idempotentPost(sys: TestSystem, path: string, p: Player, body: object, key: string): Promise<Answer> {
  let r: Answer = { status: 0, body: undefined };
  for (let attempt = 0; attempt < 20; attempt++) {
    r = await sys.api('POST', path, { token: p.token, body, headers: { 'idempotency-key': key } });
    if (!(r.status === 503 && r.body?.code === 'DEPENDENCY.UNAVAILABLE')) break;
    await sleep(500);
  }
  return r;
}

async function topup(sys: TestSystem, p: Player, amount: number, key: string): Promise<void> {
  const r = await idempotentPost(sys, '/v1/wallet/topups', p, { amount }, key);
  expect(r).toMatchObject({ status: 201, body: { userId: p.id } });
}

async function balance(sys: TestSystem, p: Player): Promise<number> {
  const r = await sys.api('GET', '/v1/wallet', { token: p.token });
  expect(r.status).toBe(200);
  return r.body.balance;
}

async function history(sys: TestSystem, p: Player): Promise<{ id: string; kind: string; amount: number; envelopeId?: string }[]> {
  const r = await sys.api('GET', '/v1/wallet/transactions?limit=100', { token: p.token });
  expect(r.status).toBe(200);
  expect(r.body.nextCursor).toBeNull();
  return r.body.items;
}

async function grab(sys: TestSystem, envelopeId: string, p: Player): Promise<Answer> {
  try {
    const r = await sys.api('POST', `/v1/envelopes/${envelopeId}/grab`, { token: p.token });
    return { status: r.status, body: r.body };
  } catch (err) {
    // the gateway itself never dies here, so this is a test bug; keep it visible in the assertion
    return { status: 0, body: String(err) };
  }
}

/**
 * Fires one grab per player, `concurrency` at a time with a short gap. With `stopWhen` (the
 * envelope service died: grabs cannot work) it stops firing; the rest go after the restart.
 * Either way the crash lands mid-burst: grabs answered before it, some in flight when it hits.
 */
async function burst(sys: TestSystem, envelopeId: string, players: Player[], stopWhen: () => boolean, concurrency = 4): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < players.length && !stopWhen()) {
        const p = players[next++];
        answers.set(p.id, await grab(sys, envelopeId, p));
        await sleep(5);
      }
    }),
  );
  return answers;
}

/** An answer that settles the player's fate: a win (200, or 409 naming an earlier win) or a loss (410). */
const decided = (a: Answer | undefined) => a !== undefined && (a.status === 200 || a.status === 409 || a.status === 410);
/** What a dependency outage looks like at the gateway (DESIGN §2: 503 with a coded body). */
const isOutage = (a: Answer) => a.status === 503 && ['DEPENDENCY.UNAVAILABLE', 'DEPENDENCY.TIMEOUT'].includes(a.body?.code);

/** Waits until the gateway reaches the envelope service again (it redials every 2 s). */
async function envelopeReachable(sys: TestSystem, envelopeId: string, p: Player): Promise<void> {
  await waitFor(async () => (await sys.api('GET', `/v1/envelopes/${envelopeId}`, { token: p.token })).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 200,
    what: 'gateway to reach envelope again',
  });
}

async function expectCleanAudit(sys: TestSystem, timeoutMs: number): Promise<void> {
  const audit = await sys.settledAudit(timeoutMs);
  expect(audit.pending).toBe(0);
  expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
  expect(audit.ok).toBe(true);
}

interface GrabCrash {
  point: 'relay:after-read' | 'relay:after-enqueue' | 'settlement:after-commit' | 'outbox:after-send';
  svc: Svc;
  /**
   * 'start': the system starts with the crash point armed. 'before-burst': the service is
   * restarted with it just before the grabs, because with it armed from the start the wallet's
   * ledger-outbox relay would die on the sender's top-up, long before any grab.
   */
  arm: 'start' | 'before-burst';
  /** how long the audit may take to drain after the restart (a job lost with the wallet is recovered by BullMQ's stalled check, 30 s interval + 30 s lock: 60-90 s) */
  drainMs: number;
}

const GRAB_CRASHES: GrabCrash[] = [
  { point: 'relay:after-read', svc: 'envelope', arm: 'start', drainMs: 60_000 },
  { point: 'relay:after-enqueue', svc: 'envelope', arm: 'start', drainMs: 60_000 },
  { point: 'settlement:after-commit', svc: 'wallet', arm: 'start', drainMs: 150_000 },
  { point: 'outbox:after-send', svc: 'wallet', arm: 'before-burst', drainMs: 150_000 },
];

describe.each(GRAB_CRASHES)('crash at $point ($svc dies mid-burst)', ({ point, svc, arm, drainMs }) => {
  // An idle relay waits up to RELAY_MAX_IDLE_MS between rounds, so a short burst could be over
  // before the envelope relay's first read (and crash): here it keeps its burst pace throughout.
  const paced = svc === 'envelope' ? { RELAY_MAX_IDLE_MS: '20' } : {};
  const sys = new TestSystem(arm === 'start' ? { serviceEnv: { [svc]: { HONGBAO_CRASH_AT: point, ...paced } } } : {});
  beforeAll(() => sys.start(), 120_000);
  afterAll(() => sys.stop(), 60_000);

  it('restarts, and every accepted grab is credited exactly once with no money created or lost', async () => {
    const sender = await player(sys, '100');
    const players = await Promise.all(Array.from({ length: GRABBERS }, (_, i) => player(sys, String(201 + i))));
    await topup(sys, sender, TOPUP, 'fund');
    const sent = await idempotentPost(sys, '/v1/envelopes', sender, ENVELOPE, 'send');
    expect(sent).toMatchObject({ status: 201, body: ENVELOPE });
    const envelopeId: string = sent.body.envelopeId;

    if (arm === 'before-burst') {
      // the top-up and the send are in the ledger; only then arm the crash
      await expectCleanAudit(sys, 30_000);
      await sys.kill(svc, 'SIGTERM');
      await sys.startService(svc, { env: { HONGBAO_CRASH_AT: point } });
    }
    const armed = sys.procs.get(svc)!;
    let dead = false;
    void armed.exited.then(() => (dead = true));

    // --- the burst; the armed service kills itself somewhere in it ---
    const answers = await burst(sys, envelopeId, players, () => dead && svc === 'envelope');
    expect(await within(armed.exited, 20_000)).toBe(true);
    expect(armed.child.signalCode).toBe('SIGKILL');
    const firstWins = [...answers].filter(([, a]) => a.status === 200);
    expect(firstWins.length).toBeGreaterThan(0);
    for (const [, a] of answers) {
      // during the burst: a win, sold out, or the outage the crash caused; nothing else
      if (a.status === 200) expect(a.body).toEqual({ envelopeId, amount: expect.any(Number) });
      else if (a.status === 410) expect(a.body.code).toBe('ENVELOPE.SOLD_OUT');
      else expect(isOutage(a)).toBe(true);
    }
    if (svc === 'wallet') {
      // grabs never wait for the wallet: every one of them was decided in the burst
      expect([...answers.values()].filter((a) => a.status === 200 || a.status === 410)).toHaveLength(GRABBERS);
      // the outage is visible on wallet reads, while grabs were still being accepted
      const r = await sys.api('GET', '/v1/wallet', { token: sender.token });
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('DEPENDENCY.UNAVAILABLE');
    } else {
      const r = await grab(sys, envelopeId, players[players.length - 1]);
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('DEPENDENCY.UNAVAILABLE');
    }

    // --- restart without the crash point; players with no definite answer try again ---
    const restarted = await sys.restart(svc);
    expect(restarted.env['HONGBAO_CRASH_AT']).toBe('');
    await envelopeReachable(sys, envelopeId, sender);
    for (let round = 0; round < 30; round++) {
      const undecided = players.filter((p) => !decided(answers.get(p.id)));
      if (!undecided.length) break;
      for (const p of undecided) answers.set(p.id, await grab(sys, envelopeId, p));
      await sleep(300);
    }

    const wins = new Map<string, number>();
    for (const p of players) {
      const a = answers.get(p.id)!;
      expect(decided(a)).toBe(true);
      if (a.status === 200) wins.set(p.id, a.body.amount);
      else if (a.status === 409) {
        // a grab that reached Redis before the crash although its answer was lost
        expect(a.body.code).toBe('ENVELOPE.ALREADY_GRABBED');
        wins.set(p.id, a.body.amount);
      } else expect(a.body.code).toBe('ENVELOPE.SOLD_OUT');
    }
    // every answer of 200 in the burst is one of the wins, with the same amount
    for (const [id, a] of firstWins) expect(wins.get(id)).toBe(a.body.amount);
    expect(wins.size).toBe(ENVELOPE.count);
    expect([...wins.values()].reduce((s, a) => s + a, 0)).toBe(ENVELOPE.amount);

    // --- after the drain: the audit is clean and every win is one credit ---
    await expectCleanAudit(sys, drainMs);

    const details = await sys.api('GET', `/v1/envelopes/${envelopeId}`, { token: sender.token });
    expect(details.status).toBe(200);
    expect(details.body).toMatchObject({ status: 'sold_out', remainingCount: 0, remainingAmount: 0, refundedAmount: 0 });
    expect(new Map(details.body.grabs.map((g: { userId: string; amount: number }) => [g.userId, g.amount]))).toEqual(wins);

    let total = 0;
    for (const p of players) {
      const won = wins.get(p.id) ?? 0;
      const b = await balance(sys, p);
      expect({ user: p.id, balance: b }).toEqual({ user: p.id, balance: won });
      total += b;
      const grabs = (await history(sys, p)).filter((t) => t.kind === 'grab');
      expect({ user: p.id, grabs }).toEqual({
        user: p.id,
        grabs: wins.has(p.id) ? [{ id: `grab:${envelopeId}:${p.id}`, kind: 'grab', amount: won, envelopeId, createdAt: expect.any(String) }] : [],
      });
    }
    const senderBalance = await balance(sys, sender);
    expect(senderBalance).toBe(TOPUP - ENVELOPE.amount);
    expect((await history(sys, sender)).map((t) => [t.kind, t.amount])).toEqual([
      ['send', -ENVELOPE.amount],
      ['topup', TOPUP],
    ]);
    expect(total + senderBalance).toBe(TOPUP);
  }, 240_000);
});

describe('crash at create:after-debit (envelope dies between the debit and activation)', () => {
  const sys = new TestSystem({ serviceEnv: { envelope: { HONGBAO_CRASH_AT: 'create:after-debit' } } });
  beforeAll(() => sys.start(), 120_000);
  afterAll(() => sys.stop(), 60_000);

  let db: ShardedMysql;
  beforeAll(() => {
    db = new ShardedMysql(ShardMap.fromConfig(sys.shardUrls.envelope));
  });
  afterAll(() => db?.close());

  /** The sender's envelopes as MySQL has them, oldest first. */
  async function envelopesOf(senderId: string): Promise<{ id: string; status: string; amount: number }[]> {
    const rows = (
      await db.all(async (pool) => (await pool.query<RowDataPacket[]>('SELECT id, status, amount, created_at_ms FROM envelopes WHERE sender_id = ?', [senderId]))[0])
    ).flat();
    return rows
      .sort((a, b) => Number(a['created_at_ms']) - Number(b['created_at_ms']))
      .map((r) => ({ id: String(r['id']), status: String(r['status']), amount: Number(r['amount']) }));
  }

  /**
   * Sends and expects the crash: the gateway answers 503 DEPENDENCY.UNAVAILABLE for the envelope
   * call, flagged as possibly executed. (Until the envelope's wallet client has connected after
   * start-up, the envelope itself answers 503 for `target: wallet` before any debit: retried.)
   */
  async function sendIntoCrash(sender: Player, body: object, key: string): Promise<void> {
    const proc = sys.procs.get('envelope')!;
    let r: Answer = { status: 0, body: undefined };
    for (let attempt = 0; attempt < 20; attempt++) {
      r = await sys.api('POST', '/v1/envelopes', { token: sender.token, body, headers: { 'idempotency-key': key } });
      if (!(r.status === 503 && r.body?.target === 'wallet')) break;
      await sleep(500);
    }
    expect(r.status).toBe(503);
    // The client learns only that a dependency failed; which one, and where, stays in the logs.
    expect(r.body).toEqual({ code: 'DEPENDENCY.UNAVAILABLE', message: expect.any(String), correlationId: expect.any(String) });
    expect(await within(proc.exited, 10_000)).toBe(true);
    expect(proc.child.signalCode).toBe('SIGKILL');
  }

  it('the sweeper, or a replay of the same Idempotency-Key, completes the envelope; the sender is debited once', async () => {
    const sender = await player(sys, '300');
    const [g1, g2, g3] = await Promise.all(['401', '402', '403'].map((id) => player(sys, id)));
    await topup(sys, sender, 10_000, 'fund');
    const first = { amount: 1000, count: 5, mode: 'equal' };
    const second = { amount: 600, count: 3, mode: 'equal' };

    // --- 1: the sweeper finishes it ---
    await sendIntoCrash(sender, first, 'send-1');
    // the debit committed before the crash: the money sits in escrow, the envelope is pending
    expect(await balance(sys, sender)).toBe(9_000);
    const [pending1] = await envelopesOf('300');
    expect(pending1).toMatchObject({ status: 'pending', amount: 1000 });

    await sys.restart('envelope');
    // SWEEP_AFTER_MS 2000, SWEEP_INTERVAL_MS 500: no client call is needed
    await waitFor(async () => (await envelopesOf('300'))[0]?.status === 'active', { timeoutMs: 20_000, what: 'sweeper to activate the envelope' });
    // the client retries with the same key and gets the envelope the sweeper finished
    const replay1 = await sys.api('POST', '/v1/envelopes', { token: sender.token, body: first, headers: { 'idempotency-key': 'send-1' } });
    expect(replay1.status).toBe(201);
    expect(replay1.body).toEqual({ envelopeId: pending1.id, amount: 1000, count: 5, mode: 'equal', expiresAt: expect.any(String) });
    expect(await balance(sys, sender)).toBe(9_000);
    expect((await grab(sys, pending1.id, g1))).toEqual({ status: 200, body: { envelopeId: pending1.id, amount: 200 } });
    expect((await grab(sys, pending1.id, g2))).toEqual({ status: 200, body: { envelopeId: pending1.id, amount: 200 } });

    // --- 2: the replay finishes it (sweeper held off, crash re-armed) ---
    await sys.kill('envelope', 'SIGTERM');
    await sys.startService('envelope', { env: { HONGBAO_CRASH_AT: 'create:after-debit', SWEEP_AFTER_MS: '600000' } });
    await envelopeReachable(sys, pending1.id, sender);
    await sendIntoCrash(sender, second, 'send-2');
    expect(await balance(sys, sender)).toBe(8_400);
    await sys.restart('envelope', { SWEEP_AFTER_MS: '600000' });
    await envelopeReachable(sys, pending1.id, sender);
    const pending2 = (await envelopesOf('300'))[1];
    expect(pending2).toMatchObject({ status: 'pending', amount: 600 });
    // not grabbable while pending
    expect((await grab(sys, pending2.id, g3)).body.code).toBe('ENVELOPE.NOT_FOUND');

    const replay2 = await sys.api('POST', '/v1/envelopes', { token: sender.token, body: second, headers: { 'idempotency-key': 'send-2' } });
    expect(replay2.status).toBe(201);
    expect(replay2.body).toEqual({ envelopeId: pending2.id, amount: 600, count: 3, mode: 'equal', expiresAt: expect.any(String) });
    const again = await sys.api('POST', '/v1/envelopes', { token: sender.token, body: second, headers: { 'idempotency-key': 'send-2' } });
    expect(again).toMatchObject({ status: 201, body: replay2.body });
    expect((await envelopesOf('300')).map((e) => e.status)).toEqual(['active', 'active']);
    expect((await grab(sys, pending2.id, g3))).toEqual({ status: 200, body: { envelopeId: pending2.id, amount: 200 } });

    // --- money: one debit per envelope, nothing else moved ---
    await expectCleanAudit(sys, 60_000);
    expect(await balance(sys, sender)).toBe(8_400);
    const sends = (await history(sys, sender)).filter((t) => t.kind === 'send');
    expect(sends.map((t) => [t.envelopeId, t.amount]).sort()).toEqual(
      [
        [pending1.id, -1000],
        [pending2.id, -600],
      ].sort(),
    );
    expect([await balance(sys, g1), await balance(sys, g2), await balance(sys, g3)]).toEqual([200, 200, 200]);
    const d1 = await sys.api('GET', `/v1/envelopes/${pending1.id}`, { token: g1.token });
    const d2 = await sys.api('GET', `/v1/envelopes/${pending2.id}`, { token: g1.token });
    expect(d1.body).toMatchObject({ status: 'active', remainingCount: 3, remainingAmount: 600 });
    expect(d2.body).toMatchObject({ status: 'active', remainingCount: 2, remainingAmount: 400 });
    // users + what is still in escrow == what was topped up
    expect(8_400 + 600 + d1.body.remainingAmount + d2.body.remainingAmount).toBe(10_000);
  }, 180_000);
});
