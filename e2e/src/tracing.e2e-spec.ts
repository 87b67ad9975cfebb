import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { freePort, TestSystem, waitFor } from '@hongbao/testing';

/** One span as the OTLP/HTTP JSON exporter sends it, with its resource's service.name. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

/** The parts of an OTLP/HTTP JSON trace export this test reads. */
interface OtlpAttribute {
  key: string;
  value?: Record<string, unknown>;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

/** A minimal OTLP/HTTP trace receiver (JSON protocol): keeps every span it is sent. */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.writeHead(404).end();
          return;
        }
        let body: Buffer = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        this.collect(JSON.parse(body.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  private collect(payload: OtlpExport): void {
    for (const rs of payload.resourceSpans ?? []) {
      const service = String(attrs(rs.resource?.attributes)['service.name']);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
            attributes: attrs(s.attributes),
          });
        }
      }
    }
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** OTLP JSON attributes `[{key, value: {stringValue | intValue | ...}}]` as a plain object. */
function attrs(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = Object.values(a.value ?? {})[0];
  return out;
}

/** The spans whose parent is not in the trace (a connected trace has exactly one: its root). */
function roots(spans: ReceivedSpan[]): ReceivedSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
}

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

/** The chain from the HTTP grab to the ledger's append, as (service, span name, kind). */
const GRAB_CHAIN: [string, string, number][] = [
  ['gateway', 'POST /v1/envelopes/:id/grab', SPAN_KIND.SERVER],
  ['gateway', 'envelope.grab', SPAN_KIND.CLIENT],
  ['envelope', 'envelope.grab', SPAN_KIND.SERVER],
  ['envelope', 'outbox.relay', SPAN_KIND.PRODUCER],
  ['wallet', 'settlement.process', SPAN_KIND.CONSUMER],
  ['wallet', 'ledger-outbox.relay', SPAN_KIND.PRODUCER],
  ['wallet', 'ledger.append', SPAN_KIND.CLIENT],
  ['ledger', 'ledger.append', SPAN_KIND.SERVER],
];

describe('tracing: one grab is one trace across the four services', () => {
  const receiver = new OtlpReceiver();
  let sys: TestSystem;

  beforeAll(async () => {
    await receiver.start();
    sys = new TestSystem({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`, OTEL_BSP_SCHEDULE_DELAY: '200' },
      serviceEnv: { gateway: { LOG_LEVEL: 'info', LOG_REQUESTS: 'true' } },
    });
    await sys.start();
  }, 120_000);
  afterAll(async () => {
    await sys?.stop();
    await receiver.stop();
  });

  it('follows an HTTP grab through the RPC, the stream, the settlement job and the outbox to the ledger', async () => {
    const alice = await sys.token('701');
    const bob = await sys.token('702');
    expect((await sys.api('POST', '/v1/wallet/topups', { token: alice, body: { amount: 1000 }, headers: { 'idempotency-key': 't1' } })).status).toBe(201);
    const env = await sys.api('POST', '/v1/envelopes', { token: alice, body: { amount: 300, count: 3, mode: 'equal' }, headers: { 'idempotency-key': 't2' } });
    expect(env.status).toBe(201);
    // Let the send's outbox row reach the ledger first, so the grab's row is alone in its relay batch.
    expect((await sys.settledAudit()).ok).toBe(true);

    const grab = await sys.api('POST', `/v1/envelopes/${env.body.envelopeId}/grab`, { token: bob, headers: { 'x-correlation-id': 'trace-e2e-grab-1' } });
    expect(grab.status).toBe(200);
    expect(grab.body).toEqual({ envelopeId: env.body.envelopeId, amount: 100 });
    const traceparent = grab.headers.get('traceparent') ?? '';
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
    if (!m) throw new Error(`the grab response has no sampled traceparent header: "${traceparent}"`);
    const [, traceId, rootSpanId] = m;
    expect((await sys.settledAudit()).ok).toBe(true);

    // Spans arrive in batches from four processes; wait until the whole chain is in and connected.
    const has = (spans: ReceivedSpan[], [service, name, kind]: [string, string, number]) => spans.some((s) => s.service === service && s.name === name && s.kind === kind);
    const found = await waitFor(
      () => {
        const t = receiver.trace(traceId);
        return GRAB_CHAIN.every((want) => has(t, want)) && roots(t).length === 1 ? t : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `trace ${traceId} to hold ${GRAB_CHAIN.map((c) => c.join(':')).join(', ')}` },
    ).catch((e) => {
      const t = receiver.trace(traceId);
      throw new Error(`${(e as Error).message}; got ${JSON.stringify(t.map((s) => [s.service, s.name, s.kind, s.spanId, s.parentSpanId]))}`);
    });
    const spans = found ?? [];

    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['gateway', 'envelope', 'wallet', 'ledger']));
    // Connected: one root, the gateway's HTTP span that the response named; every other parent is in the trace.
    expect(roots(spans).map((s) => [s.service, s.name, s.spanId])).toEqual([['gateway', 'POST /v1/envelopes/:id/grab', rootSpanId]]);
    const [root] = roots(spans);
    expect(root.attributes['hongbao.correlation_id']).toBe('trace-e2e-grab-1');
    expect(root.attributes['http.route']).toBe('/v1/envelopes/:id/grab');

    // Each hop's span is the child of the previous hop's: parent links follow the chain in order.
    const byKey = (service: string, name: string, kind: number) => spans.filter((s) => s.service === service && s.name === name && s.kind === kind);
    for (const [service, name, kind] of GRAB_CHAIN) expect([service, name, byKey(service, name, kind).length]).toEqual([service, name, 1]);
    const ancestors = (s: ReceivedSpan): string[] => {
      const out: string[] = [];
      let p = spans.find((x) => x.spanId === s.parentSpanId);
      while (p) {
        out.push(`${p.service}:${p.name}`);
        const parentId = p.parentSpanId;
        p = spans.find((x) => x.spanId === parentId);
      }
      return out;
    };
    const ledgerAppend = byKey('ledger', 'ledger.append', SPAN_KIND.SERVER)[0];
    expect(ancestors(ledgerAppend)).toEqual([
      'wallet:ledger.append',
      'wallet:ledger-outbox.relay',
      'wallet:settlement.process',
      'envelope:outbox.relay',
      'envelope:envelope.grab',
      'gateway:envelope.grab',
      'gateway:POST /v1/envelopes/:id/grab',
    ]);
    // SQL shows up inside the trace, values masked: each hop's writes under that hop's span.
    const sqlUnder = (service: string, name: string, kind: number) =>
      spans.filter((s) => s.parentSpanId === byKey(service, name, kind)[0].spanId && s.attributes['db.system.name'] === 'mysql').map((s) => String(s.attributes['db.query.text']));
    expect(sqlUnder('envelope', 'outbox.relay', SPAN_KIND.PRODUCER)).toContainEqual(expect.stringMatching(/^INSERT INTO grabs .* VALUES \?/));
    expect(sqlUnder('wallet', 'settlement.process', SPAN_KIND.CONSUMER)).toContainEqual(expect.stringMatching(/^INSERT INTO ledger_outbox .*traceparent\) VALUES \?$/));
    expect(sqlUnder('wallet', 'ledger-outbox.relay', SPAN_KIND.PRODUCER)).toEqual(['DELETE FROM ledger_outbox WHERE id IN (?)']);
    expect(sqlUnder('ledger', 'ledger.append', SPAN_KIND.SERVER)).toEqual([expect.stringMatching(/^INSERT INTO transfers /)]);

    // The gateway's request log line carries the correlation id and the trace id.
    const logFile = join(sys.logDir, `${sys.runId}-gateway.log`);
    const line = await waitFor(
      () =>
        readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l['msg'] === 'request' && l['reqId'] === 'trace-e2e-grab-1'),
      { timeoutMs: 5000, what: 'the grab request log line' },
    );
    expect(line).toMatchObject({ service: 'gateway', reqId: 'trace-e2e-grab-1', route: '/v1/envelopes/:id/grab', status: 200, trace_id: traceId });
  });
});
