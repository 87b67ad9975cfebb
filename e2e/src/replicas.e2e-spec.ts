import { AppError, EnvelopePattern, ErrorCode } from '@hongbao/contracts';
import { RpcClient } from '@hongbao/rpc';
import { freePort, promSum, scrapeMetrics, TestSystem, waitFor } from '@hongbao/testing';

/** A counter's samples with these labels, summed, from a service's /metrics (0 when absent). */
async function counter(port: number, name: string, labels: Record<string, string>): Promise<number> {
  return promSum(await scrapeMetrics(port), name, labels);
}

describe('a second envelope replica and the gateway learn a sold-out envelope and answer without Redis', () => {
  const sys = new TestSystem();
  let replicaPort: number;
  let replica: RpcClient;

  beforeAll(async () => {
    await sys.start();
    const rpcPort = await freePort();
    const proc = await sys.startService('envelope', { name: 'envelope-2', env: { RPC_PORT: String(rpcPort), BACKGROUND_WORKERS: 'false' } });
    replicaPort = proc.httpPort;
    replica = new RpcClient({ target: `127.0.0.1:${rpcPort}`, name: 'envelope-2' });
    await replica.connect();
  }, 120_000);
  afterAll(async () => {
    await replica?.close();
    await sys.stop();
  });

  /** Tops the sender up with `amount` and sends it as an equal envelope of `count` shares; returns its id. */
  async function sendEnvelope(senderId: string, amount: number, count: number, keySuffix: string): Promise<string> {
    const token = await sys.token(senderId);
    await sys.api('POST', '/v1/wallet/topups', { token, body: { amount }, headers: { 'idempotency-key': `top${keySuffix}` } });
    const env = await sys.api('POST', '/v1/envelopes', { token, body: { amount, count, mode: 'equal' }, headers: { 'idempotency-key': `send${keySuffix}` } });
    expect(env.status).toBe(201);
    return env.body.envelopeId;
  }

  it('answers SOLD_OUT and ALREADY_GRABBED (with the amount) from memory on both replicas', async () => {
    const id = await sendEnvelope('7001', 900, 3, '');

    // Sell it out through the gateway, whose RPC target is the first replica.
    for (const u of ['7101', '7102', '7103']) {
      const r = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token(u) });
      expect(r.body).toEqual({ envelopeId: id, amount: 300 });
    }

    // The second replica heard the announcement and loaded the winners.
    const grabOnReplica = (userId: string) =>
      replica.send(EnvelopePattern.Grab, { envelopeId: id, userId }).then(
        () => ({ code: 'OK' as string, details: undefined as Record<string, unknown> | undefined }),
        (e: AppError) => ({ code: e.code as string, details: e.details }),
      );
    await waitFor(async () => (await grabOnReplica('7999')).code === ErrorCode.EnvelopeSoldOut && (await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'memory' })) > 0, {
      timeoutMs: 10_000,
      what: 'replica 2 answering SOLD_OUT from memory',
    });
    // Polling above may have reached Redis before the announcement arrived; from now on nothing may.
    const soldOutFromMemory = await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'memory' });
    const fromRedisBefore = await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'redis' });
    expect(await grabOnReplica('7998')).toEqual({ code: ErrorCode.EnvelopeSoldOut, details: undefined });
    expect(await grabOnReplica('7102')).toEqual({ code: ErrorCode.EnvelopeAlreadyGrabbed, details: { amount: 300 } });
    expect(await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'memory' })).toBe(soldOutFromMemory + 1);
    expect(await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeAlreadyGrabbed, source: 'memory' })).toBe(1);
    expect(await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'redis' })).toBe(fromRedisBefore);
    expect(await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeAlreadyGrabbed, source: 'redis' })).toBe(0);

    // The gateway heard it too: late grabs get the documented codes from its memory, and the
    // envelope service behind it sees none of them.
    const gwPort = sys.procs.get('gateway')!.httpPort;
    const firstPort = sys.procs.get('envelope')!.httpPort;
    await waitFor(async () => (await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('7105') })).status === 410 && (await counter(gwPort, 'hongbao_edge_grab_answers_total', { outcome: ErrorCode.EnvelopeSoldOut })) > 0, {
      timeoutMs: 10_000,
      what: 'the gateway answering SOLD_OUT from memory',
    });
    const rpcGrabs = () => counter(firstPort, 'hongbao_rpc_server_requests_total', { pattern: EnvelopePattern.Grab });
    const grabsBefore = await rpcGrabs();
    const late = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('7104') });
    expect(late.status).toBe(410);
    expect(late.body.code).toBe(ErrorCode.EnvelopeSoldOut);
    const again = await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('7101') });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: ErrorCode.EnvelopeAlreadyGrabbed, amount: 300 });
    expect(await counter(gwPort, 'hongbao_edge_grab_answers_total', { outcome: ErrorCode.EnvelopeAlreadyGrabbed })).toBe(1);
    expect(await rpcGrabs()).toBe(grabsBefore);

    const audit = await sys.settledAudit();
    expect(audit.ok).toBe(true);
  });

  it('answers a sold-out envelope\'s details from memory (the gateway\'s, and each envelope replica\'s after one read), the same body; an active envelope\'s from Redis every time', async () => {
    const sender = await sys.token('7002');
    const id = await sendEnvelope('7002', 500, 2, '-details');
    const gwPort = sys.procs.get('gateway')!.httpPort;
    const firstPort = sys.procs.get('envelope')!.httpPort;
    const served = (port: number, source: string) => counter(port, 'hongbao_envelope_details_total', { source });
    const fromGatewayMemory = () => counter(gwPort, 'hongbao_edge_details_answers_total', {});
    const details = () => sys.api('GET', `/v1/envelopes/${id}`, { token: sender });
    const [redis0, memory0, edge0] = [await served(firstPort, 'redis'), await served(firstPort, 'memory'), await fromGatewayMemory()];

    // Active: every read goes through to Redis, and sees the latest grab.
    expect((await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('7201') })).status).toBe(200);
    expect((await details()).body).toMatchObject({ status: 'active', remainingCount: 1, grabs: [{ userId: '7201', amount: 250 }] });
    expect((await details()).body).toMatchObject({ status: 'active', remainingCount: 1 });
    expect(await served(firstPort, 'redis')).toBe(redis0 + 2);
    expect((await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('7202') })).status).toBe(200);
    const soldOut = await details();
    expect(soldOut.status).toBe(200);
    expect(soldOut.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(soldOut.body).toMatchObject({ status: 'sold_out', remainingCount: 0, remainingAmount: 0, refundedAmount: 0, grabs: [{ userId: '7201' }, { userId: '7202' }] });
    expect(await served(firstPort, 'redis')).toBe(redis0 + 3);
    expect(await fromGatewayMemory()).toBe(edge0);

    // Sold out is final: the gateway answers the next reads from its memory, the same body, as JSON.
    for (let i = 0; i < 3; i++) {
      const again = await details();
      expect(again.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(again.body).toEqual(soldOut.body);
    }
    expect(await fromGatewayMemory()).toBe(edge0 + 3);
    expect(await served(firstPort, 'redis')).toBe(redis0 + 3);
    expect(await served(firstPort, 'memory')).toBe(memory0);

    // An envelope replica the gateway does not ask: one read from Redis, then from its memory.
    const [r2Redis, r2Memory] = [await served(replicaPort, 'redis'), await served(replicaPort, 'memory')];
    for (let i = 0; i < 3; i++) expect(await replica.send(EnvelopePattern.Get, { envelopeId: id })).toEqual(soldOut.body);
    expect(await served(replicaPort, 'redis')).toBe(r2Redis + 1);
    expect(await served(replicaPort, 'memory')).toBe(r2Memory + 2);
  });

  it('shares one read among the first readers of a sold-out envelope\'s details that arrive together: one RPC from the gateway, one Redis read per envelope replica', async () => {
    // Big enough (1,000 shares, a ~70 KB answer) that reading it takes the envelope service a few ms.
    const id = await sendEnvelope('7003', 100_000, 1000, '-crowd');
    const gwPort = sys.procs.get('gateway')!.httpPort;
    const firstPort = sys.procs.get('envelope')!.httpPort;
    const [edgeSoldOut0, replicaSoldOut0] = [
      await counter(gwPort, 'hongbao_edge_grab_answers_total', { outcome: ErrorCode.EnvelopeSoldOut }),
      await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'memory' }),
    ];
    for (let i = 0; i < 1000; i += 100) {
      const wins = await Promise.all(Array.from({ length: 100 }, async (_, j) => (await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token(String(10_000 + i + j)) })).status));
      expect(wins).toEqual(Array(100).fill(200));
    }
    // Both the gateway and the second replica learn it is sold out.
    await waitFor(async () => (await sys.api('POST', `/v1/envelopes/${id}/grab`, { token: await sys.token('11999') })).status === 410 && (await counter(gwPort, 'hongbao_edge_grab_answers_total', { outcome: ErrorCode.EnvelopeSoldOut })) > edgeSoldOut0, {
      timeoutMs: 10_000,
      what: 'the gateway answering SOLD_OUT from memory',
    });
    await waitFor(async () => (await replica.send(EnvelopePattern.Grab, { envelopeId: id, userId: '11998' }).catch((e: AppError) => e.code)) === ErrorCode.EnvelopeSoldOut && (await counter(replicaPort, 'hongbao_grabs_total', { outcome: ErrorCode.EnvelopeSoldOut, source: 'memory' })) > replicaSoldOut0, {
      timeoutMs: 10_000,
      what: 'replica 2 answering SOLD_OUT from memory',
    });

    const rpcGets = () => counter(firstPort, 'hongbao_rpc_server_requests_total', { pattern: EnvelopePattern.Get });
    const served = (port: number, source: string) => counter(port, 'hongbao_envelope_details_total', { source });
    const [gets0, redis0, shared0] = [await rpcGets(), await served(firstPort, 'redis'), await counter(gwPort, 'hongbao_edge_details_shared_total', {})];
    const reader = await sys.token('7004');
    const reads = await Promise.all(Array.from({ length: 25 }, () => sys.api('GET', `/v1/envelopes/${id}`, { token: reader })));
    expect(reads.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(reads[0].body).toMatchObject({ status: 'sold_out', remainingCount: 0 });
    expect(reads[0].body.grabs).toHaveLength(1000);
    for (const r of reads) expect(r.body).toEqual(reads[0].body);
    // One RPC for all 25 (those that arrived during it shared it; any later one found the gateway's memory).
    expect(await rpcGets()).toBe(gets0 + 1);
    expect(await served(firstPort, 'redis')).toBe(redis0 + 1);
    expect(await counter(gwPort, 'hongbao_edge_details_shared_total', {})).toBeGreaterThan(shared0);

    // The second replica, asked 25 times at once: one Redis read, the others shared it.
    const [r2Redis, r2Shared] = [await served(replicaPort, 'redis'), await served(replicaPort, 'shared')];
    const direct = await Promise.all(Array.from({ length: 25 }, () => replica.send(EnvelopePattern.Get, { envelopeId: id })));
    for (const d of direct) expect(d).toEqual(reads[0].body);
    expect(await served(replicaPort, 'redis')).toBe(r2Redis + 1);
    expect(await served(replicaPort, 'shared')).toBe(r2Shared + 24);
  });
});
