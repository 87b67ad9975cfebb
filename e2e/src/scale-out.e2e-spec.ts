import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { EnvelopeKeys } from '@hongbao/redis';
import { dropDatabases, ShardMap } from '@hongbao/sharding';
import { forEachMaster, freePort, signToken, startMariaDbServer, startRedisCluster, TestSystem, waitFor, type MariaDbServer, type RedisCluster, pool, shuffle } from '@hongbao/testing';
import { expectCleanAudit, expectStatus } from './support/expect-status';

/**
 * Scale-out on real engines (issue 5, part 4): the whole system on a 3-master Redis Cluster
 * (REDIS_URL and QUEUE_REDIS_URL both the cluster) with the wallet, envelope and ledger shards
 * split over two MariaDB servers (slots 0-511 on the local 3306, 512-1023 on a throwaway second
 * server). Then the burst in miniature: 20 funded users, 4 envelopes of 50 shares from 2
 * senders, 600 grabs from 150 users with repeats, a 2-second envelope that refunds, and every
 * money invariant plus the audit. It also proves the data really is spread: envelope rows on
 * both servers, envelope hot keys on at least two cluster masters.
 */

jest.setTimeout(180_000);

interface ApiRes {
  status: number;
  body: any;
}
interface Grab {
  userId: string;
  amount: number;
}

const USERS = 150;
const FUNDED = 20;
const SHARES = 50;
const ENVELOPES = 4;
/** each user grabs two envelopes: three tries at the first, one at the second (600 attempts) */
const TARGETS = [0, 2];
const TRIES = [3, 1];
const IN_FLIGHT = 100;
const uid = (i: number) => String(200_001 + i);
const SVCS = ['wallet', 'envelope', 'ledger'] as const;

describe('scale-out: 3-master Redis Cluster + two MariaDB servers, the burst in miniature', () => {
  const run = `so${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  let cluster: RedisCluster | undefined;
  let second: MariaDbServer | undefined;
  let sys: TestSystem | undefined;
  let shardUrls: Record<(typeof SVCS)[number], string[]>;
  const tokens: string[] = [];
  const statuses = new Map<number, number>();

  /** money the test moved itself, per user index */
  const topups = new Map<number, number>();
  const sent = new Map<number, number>(); // total debited per sender
  const plan = Array.from({ length: ENVELOPES }, (_, j) => ({
    sender: j >> 1, // users 0 and 1 send two envelopes each
    mode: (j % 2 === 0 ? 'random' : 'equal') as 'random' | 'equal',
    amount: j % 2 === 0 ? 10_000 + j * 777 : SHARES * (120 + j * 10),
  }));
  const created: string[] = [];
  /** every envelope this file sent (burst, short, extras) */
  const allEnvelopes: { id: string; sender: number; amount: number }[] = [];
  const SHORT = { sender: 2, amount: 1003, count: 10, grabbers: [3, 4, 5] };
  let shortId = '';
  let shortWon = 0;
  let attempts: { user: number; env: number; res?: ApiRes }[] = [];

  async function api(method: string, path: string, user: number | 'admin', opts: { body?: unknown; key?: string } = {}): Promise<ApiRes> {
    const token = user === 'admin' ? await signToken('1', { admin: true }) : tokens[user];
    const r = await sys!.api(method, path, { token, body: opts.body, headers: opts.key ? { 'idempotency-key': opts.key } : {} });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    return { status: r.status, body: r.body };
  }

  async function send(sender: number, body: Record<string, unknown>, key: string): Promise<string> {
    const r = await api('POST', '/v1/envelopes', sender, { body, key });
    expectStatus(r, 201);
    allEnvelopes.push({ id: r.body.envelopeId, sender, amount: body['amount'] as number });
    sent.set(sender, (sent.get(sender) ?? 0) + (body['amount'] as number));
    return r.body.envelopeId;
  }

  /** slot ranges of the cluster -> master port */
  async function slotOwners(): Promise<{ start: number; end: number; port: number }[]> {
    const [owners] = await forEachMaster({ ports: [cluster!.ports[0]] }, async (node) => {
      const slots = (await node.cluster('SLOTS')) as unknown as [number, number, [string, number, string]][];
      return slots.map(([start, end, [, port]]) => ({ start, end, port: Number(port) }));
    });
    return owners;
  }

  beforeAll(async () => {
    [cluster, second] = await Promise.all([startRedisCluster({ masters: 3 }), freePort().then((port) => startMariaDbServer({ port }))]);
    const db = (svc: string, i: number) => `hongbao_test_${run}_${svc}_${i}`;
    shardUrls = {
      wallet: [`mysql://hongbao:hongbao@127.0.0.1:3306/${db('wallet', 0)}`, second.url(db('wallet', 1))],
      envelope: [`mysql://hongbao:hongbao@127.0.0.1:3306/${db('envelope', 0)}`, second.url(db('envelope', 1))],
      ledger: [`mysql://hongbao:hongbao@127.0.0.1:3306/${db('ledger', 0)}`, second.url(db('ledger', 1))],
    };
    sys = new TestSystem({ redisUrl: cluster.url, shards: shardUrls });
    expect(sys.env['REDIS_URL']).toBe(cluster.url);
    expect(sys.env['QUEUE_REDIS_URL']).toBe(cluster.url);
    try {
      await sys.start();
    } catch (e) {
      // Say which service died and why (a start timeout of the gateway alone says nothing).
      const tails = ['envelope', 'wallet', 'ledger', 'gateway'].map((svc) => {
        const file = join(sys!.logDir, `${sys!.runId}-${svc}.log`);
        const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
        const errors = text.split('\n').filter((l) => l && !l.includes('"level":30') && !l.includes('"level":40'));
        return errors.length ? `--- ${svc} ---\n${errors.slice(0, 25).join('\n')}` : '';
      });
      throw new Error(`the system did not start on the cluster: ${(e as Error).message}\n${tails.filter(Boolean).join('\n')}`);
    }
    for (let i = 0; i < USERS; i++) tokens.push(await signToken(uid(i)));
  }, 180_000);

  // Own teardown instead of sys.stop(): stop() skips dropping caller-provided shards, and its
  // Redis cleanup opens `new Redis(REDIS_URL)`, which cannot parse a redis-cluster:// URL (it
  // retries a bogus unix socket for ~10 s, then throws). The cluster is thrown away anyway.
  afterAll(async () => {
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    if (sys) for (const name of [...sys.procs.keys()]) await attempt(() => sys!.kill(name, 'SIGTERM'));
    if (shardUrls) for (const svc of SVCS) await attempt(() => dropDatabases(ShardMap.fromConfig(shardUrls[svc])));
    await attempt(async () => cluster?.stop());
    await attempt(async () => second?.stop());
    if (errors.length) console.warn('scale-out teardown:', errors);
  }, 60_000);

  it('runs on a real 3-master cluster and two MariaDB servers', async () => {
    const owners = await slotOwners();
    expect(new Set(owners.map((o) => o.port))).toEqual(new Set(cluster!.ports));
    expect(owners.reduce((s, o) => s + o.end - o.start + 1, 0)).toBe(16384);
    // Every shard DB was migrated on the server its URL names.
    for (const svc of SVCS) {
      for (const [i, port] of [3306, second!.port].entries()) {
        const conn = await createConnection({ host: '127.0.0.1', port, user: 'hongbao', password: 'hongbao', database: `hongbao_test_${run}_${svc}_${i}` });
        try {
          const [rows] = await conn.query<RowDataPacket[]>('SELECT @@port AS port');
          expect(Number(rows[0]['port'])).toBe(port);
        } finally {
          await conn.end();
        }
      }
    }
  });

  it('funds 20 users', async () => {
    await pool(
      Array.from({ length: FUNDED }, (_, i) => i),
      10,
      async (i) => {
        const amount = 300_000 + i * 1_000;
        const r = await api('POST', '/v1/wallet/topups', i, { body: { amount }, key: `topup-${i}` });
        expectStatus(r, 201);
        expect(r.body).toEqual({ userId: uid(i), balance: amount, transactionId: expect.any(String) });
        topups.set(i, amount);
      },
    );
    // the funded users live on both wallet servers
    const map = ShardMap.fromConfig(shardUrls.wallet);
    expect(new Set([...topups.keys()].map((i) => map.shardIndexOf(uid(i))))).toEqual(new Set([0, 1]));
  });

  it('sends 4 envelopes of 50 shares from 2 senders; each sender debited once per envelope', async () => {
    for (let j = 0; j < ENVELOPES; j++) {
      const p = plan[j];
      const before = (await api('GET', '/v1/wallet', p.sender)).body.balance as number;
      created.push(await send(p.sender, { amount: p.amount, count: SHARES, mode: p.mode, greeting: `scale #${j}` }, `send-${j}`));
      expect((await api('GET', '/v1/wallet', p.sender)).body.balance).toBe(before - p.amount);
    }
    // a replayed send moves no money
    const before = (await api('GET', '/v1/wallet', 0)).body.balance;
    const again = await api('POST', '/v1/envelopes', 0, { body: { amount: plan[0].amount, count: SHARES, mode: plan[0].mode, greeting: 'scale #0' }, key: 'send-0' });
    expectStatus(again, 201);
    expect(again.body.envelopeId).toBe(created[0]);
    expect((await api('GET', '/v1/wallet', 0)).body.balance).toBe(before);
  });

  it('a 2-second envelope of 10 shares: three users grab before it expires', async () => {
    const t0 = Date.now();
    shortId = await send(SHORT.sender, { amount: SHORT.amount, count: SHORT.count, mode: 'random', ttlSeconds: 2 }, 'short');
    const grabs = await Promise.all(SHORT.grabbers.map((u) => api('POST', `/v1/envelopes/${shortId}/grab`, u)));
    expect(Date.now() - t0).toBeLessThan(2_000);
    for (const g of grabs) {
      expectStatus(g, 200);
      expect(g.body).toEqual({ envelopeId: shortId, amount: expect.any(Number) });
      shortWon += g.body.amount;
    }
  });

  it('places envelopes on both MariaDB servers and on at least two cluster masters (extra 1-share envelopes only if chance put them all together)', async () => {
    const envMap = ShardMap.fromConfig(shardUrls.envelope);
    const keys = new EnvelopeKeys(64, sys!.env['REDIS_KEY_PREFIX']);
    const owners = await slotOwners();
    const masterOf = async (id: string): Promise<number> => {
      const [slot] = await forEachMaster({ ports: [cluster!.ports[0]] }, async (node) => Number(await node.cluster('KEYSLOT', keys.tag(keys.partitionOf(id)))));
      return owners.find((o) => slot >= o.start && slot <= o.end)!.port;
    };
    const spread = async () => {
      const ids = allEnvelopes.map((e) => e.id);
      const servers = new Set(ids.map((id) => envMap.shardIndexOf(id)));
      const masters = new Set(await Promise.all(ids.map(masterOf)));
      return servers.size >= 2 && masters.size >= 2;
    };
    for (let k = 0; !(await spread()); k++) {
      if (k >= 40) throw new Error('40 extra envelopes and still not spread: placement is not by envelope id');
      const id = await send(6, { amount: 100, count: 1, mode: 'equal' }, `extra-${k}`);
      const g = await api('POST', `/v1/envelopes/${id}/grab`, 7);
      expectStatus(g, 200);
      expect(g.body).toEqual({ envelopeId: id, amount: 100 });
    }

    // Rows, read straight from each server: both hold envelopes, each the ones its slots own.
    const rowsOn = async (i: number, port: number) => {
      const conn = await createConnection({ host: '127.0.0.1', port, user: 'hongbao', password: 'hongbao', database: `hongbao_test_${run}_envelope_${i}`, supportBigNumbers: true, bigNumberStrings: true });
      try {
        const [rows] = await conn.query<RowDataPacket[]>('SELECT id FROM envelopes');
        return rows.map((r) => String(r['id']));
      } finally {
        await conn.end();
      }
    };
    const on0 = await rowsOn(0, 3306);
    const on1 = await rowsOn(1, second!.port);
    expect(on0.length).toBeGreaterThan(0);
    expect(on1.length).toBeGreaterThan(0);
    expect([...on0, ...on1].sort()).toEqual(allEnvelopes.map((e) => e.id).sort());
    for (const id of on0) expect(envMap.shardIndexOf(id)).toBe(0);
    for (const id of on1) expect(envMap.shardIndexOf(id)).toBe(1);

    // Hot keys, counted per master with SCAN: on at least two masters, each on the master owning its {pNN} slot.
    const perMaster = await forEachMaster(cluster!, async (node, port) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `${keys.prefix}:*:e:*:meta`, 'COUNT', 1000);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
      return { port, ids: found.map((k) => k.split(':e:')[1].split(':')[0]) };
    });
    expect(perMaster.filter((m) => m.ids.length > 0).length).toBeGreaterThanOrEqual(2);
    expect(perMaster.flatMap((m) => m.ids).sort()).toEqual(allEnvelopes.map((e) => e.id).sort());
    for (const m of perMaster) for (const id of m.ids) expect(await masterOf(id)).toBe(m.port);
  });

  it('fires 600 grabs from 150 users (100 in flight), repeats included; exactly 200 win', async () => {
    const list: { user: number; env: number }[] = [];
    for (let u = 0; u < USERS; u++) TARGETS.forEach((off, k) => {
      for (let t = 0; t < TRIES[k]; t++) list.push({ user: u, env: (u + off) % ENVELOPES });
    });
    expect(list).toHaveLength(600);
    attempts = shuffle(list, 20260127);
    await pool(attempts, IN_FLIGHT, async (a) => {
      (a as any).res = await api('POST', `/v1/envelopes/${created[a.env]}/grab`, a.user);
    });
    const codes = new Map<string, number>();
    for (const a of attempts) {
      const k = a.res!.status === 200 ? '200' : `${a.res!.status} ${a.res!.body?.code}`;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }
    expect([...codes.keys()].sort()).toEqual(['200', '409 ENVELOPE.ALREADY_GRABBED', '410 ENVELOPE.SOLD_OUT']);
    expect(codes.get('200')).toBe(ENVELOPES * SHARES);
  }, 120_000);

  it('settles: the audit drains to pending 0', async () => {
    const audit = await sys!.settledAudit(90_000);
    expect(audit.pending).toBe(0);
  }, 120_000);

  let details: any[] = [];
  it('each envelope sold out: 50 grabs by distinct users summing to its amount; no share won twice; answers agree', async () => {
    details = [];
    for (let j = 0; j < ENVELOPES; j++) {
      const d = await api('GET', `/v1/envelopes/${created[j]}`, 0);
      expectStatus(d, 200);
      details.push(d.body);
      expect(d.body).toMatchObject({ envelopeId: created[j], amount: plan[j].amount, count: SHARES, status: 'sold_out', remainingCount: 0, remainingAmount: 0, refundedAmount: 0 });
      const grabs: Grab[] = d.body.grabs;
      expect(grabs).toHaveLength(SHARES);
      expect(new Set(grabs.map((g) => g.userId)).size).toBe(SHARES);
      expect(grabs.reduce((s, g) => s + g.amount, 0)).toBe(plan[j].amount);
      for (const g of grabs) {
        expect(Number.isInteger(g.amount) && g.amount >= 1).toBe(true);
        if (plan[j].mode === 'equal') expect(g.amount).toBe(plan[j].amount / SHARES);
      }
      // one 200 per winner, carrying the recorded share; repeats 409 with that share; losers 410
      const won = new Map(grabs.map((g) => [g.userId, g.amount]));
      const mine = attempts.filter((a) => a.env === j);
      const ok = mine.filter((a) => a.res!.status === 200);
      expect(ok).toHaveLength(SHARES);
      expect(new Set(ok.map((a) => a.user)).size).toBe(SHARES);
      for (const a of mine) {
        const w = won.get(uid(a.user));
        if (a.res!.status === 200) expect(a.res!.body).toEqual({ envelopeId: created[j], amount: w });
        else if (a.res!.status === 409) expect(a.res!.body).toMatchObject({ code: 'ENVELOPE.ALREADY_GRABBED', amount: w });
        else {
          expect(a.res!.status).toBe(410);
          expect(w).toBeUndefined();
        }
      }
    }
  });

  it('the short-lived envelope expires and refunds exactly what was left', async () => {
    let d: any;
    await waitFor(
      async () => {
        d = (await api('GET', `/v1/envelopes/${shortId}`, 0)).body;
        return d.refundedAmount > 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the short envelope to be refunded' },
    );
    expect(d).toMatchObject({ envelopeId: shortId, status: 'expired', remainingCount: 0, remainingAmount: 0, refundedAmount: SHORT.amount - shortWon });
    expect(d.grabs).toHaveLength(SHORT.grabbers.length);
    const late = await api('POST', `/v1/envelopes/${shortId}/grab`, 9);
    expectStatus(late, 410);
    expect(late.body.code).toBe('ENVELOPE.EXPIRED');
    await sys!.settledAudit(60_000);
  }, 60_000);

  it('every wallet equals top-ups - sends + refunds + wins; senders debited once per envelope; audit ok', async () => {
    const expected = new Map<string, number>();
    const add = (u: string, a: number) => expected.set(u, (expected.get(u) ?? 0) + a);
    for (let u = 0; u < USERS; u++) add(uid(u), 0);
    for (const [u, a] of topups) add(uid(u), a);
    for (const [u, a] of sent) add(uid(u), -a);
    const refunds = new Map<string, number>();
    for (const e of allEnvelopes) {
      const d = (await api('GET', `/v1/envelopes/${e.id}`, 0)).body;
      for (const g of d.grabs as Grab[]) add(g.userId, g.amount);
      add(uid(e.sender), d.refundedAmount);
      if (d.refundedAmount) refunds.set(e.id, d.refundedAmount);
    }
    expect([...refunds]).toEqual([[shortId, SHORT.amount - shortWon]]);

    const problems: string[] = [];
    await pool([...expected.keys()], 20, async (u) => {
      const w = await api('GET', '/v1/wallet', Number(u) - 200_001);
      if (w.status !== 200 || w.body.balance !== expected.get(u)) problems.push(`${u}: ${JSON.stringify(w.body)}, expected ${expected.get(u)}`);
    });
    expect(problems).toEqual([]);

    // each sender: exactly one send per envelope it sent
    for (const sender of new Set(allEnvelopes.map((e) => e.sender))) {
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const r = await api('GET', `/v1/wallet/transactions?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, sender);
        expectStatus(r, 200);
        items.push(...r.body.items);
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(items.filter((t) => t.kind === 'send').map((t) => `${t.envelopeId} ${t.amount}`).sort()).toEqual(
        allEnvelopes.filter((e) => e.sender === sender).map((e) => `${e.id} ${-e.amount}`).sort(),
      );
    }

    const audit = await sys!.settledAudit(60_000);
    expectCleanAudit(audit);
    expect([...statuses.keys()].sort()).toEqual([200, 201, 409, 410]);
  }, 120_000);

  it('settlement state really went through the cluster: the BullMQ queues live under the {hbt...} hash tag on one master', async () => {
    const prefix = sys!.env['QUEUE_PREFIX'];
    const perMaster = await forEachMaster(cluster!, async (node, port) => {
      const [, batch] = await node.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 100_000);
      return { port, n: batch.length };
    });
    const holding = perMaster.filter((m) => m.n > 0);
    expect(holding).toHaveLength(1);
    const [owner] = await forEachMaster({ ports: [cluster!.ports[0]] }, async (node: Redis) => Number(await node.cluster('KEYSLOT', `${prefix}:x`)));
    const owners = await slotOwners();
    expect(owners.find((o) => owner >= o.start && owner <= o.end)!.port).toBe(holding[0].port);
  });
});
