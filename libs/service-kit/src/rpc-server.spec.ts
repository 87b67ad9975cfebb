import 'reflect-metadata';
import { type AddressInfo, connect, type Server } from 'node:net';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { AppErrorRpcFilter, RpcClient } from '@hongbao/rpc';
import { Admission } from './admission';
import { Metrics } from './metrics';
import { DirectRpcHandlers, RpcServer } from './rpc-server';

let release: () => void = () => undefined;

@Controller()
class TestController {
  @MessagePattern('t.echo')
  echo(@Payload() data: unknown): unknown {
    return { saw: data };
  }

  @MessagePattern('t.fail')
  fail(): never {
    throw new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken');
  }

  @MessagePattern('t.bug')
  bug(): never {
    throw new Error('a bug');
  }

  @MessagePattern('t.hold')
  hold(): Promise<string> {
    return new Promise((r) => (release = () => r('released')));
  }
}

@Module({ controllers: [TestController] })
class TestModule {}

/** rpc_server_requests_total by "pattern outcome" */
async function counts(metrics: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.rpcRequests.get()).values) out[`${v.labels.pattern} ${v.labels.outcome}`] = v.value;
  return out;
}

describe('RpcServer (Nest TCP transport with metrics, admission and tracing per message) over real TCP', () => {
  let app: INestMicroservice;
  let client: RpcClient;
  let metrics: Metrics;
  let port: number;
  /** what each direct handler saw */
  const directSaw: unknown[] = [];

  beforeAll(async () => {
    metrics = new Metrics('rpc-server-spec');
    const admission = new Admission({ maxInflight: 1, maxEventLoopDelayMs: 0, retryAfterSeconds: 2 }, metrics);
    // The same answers as TestController's, on the direct path.
    const direct = new DirectRpcHandlers();
    direct.add('d.echo', async (data) => (directSaw.push(data), { saw: data }));
    direct.add('d.fail', async () => {
      throw new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken');
    });
    direct.add('d.bug', async () => {
      throw new Error('a bug');
    });
    direct.add('d.hold', () => new Promise((r) => (release = () => r('released'))));
    app = await NestFactory.createMicroservice(TestModule, {
      // Port 0: the OS picks a free one, read back from the listening server below.
      strategy: new RpcServer({ host: '127.0.0.1', port: 0, metrics, admission, tracing: true, direct }),
      logger: false,
    });
    app.useGlobalFilters(new AppErrorRpcFilter());
    await app.listen();
    port = (app.unwrap<Server>().address() as AddressInfo).port;
    client = new RpcClient({ target: `127.0.0.1:${port}`, name: 'spec', timeoutMs: 2_000 });
    await client.connect();
  });

  afterAll(async () => {
    release();
    await client?.close();
    await app?.close();
  });

  it('answers and counts an ok message, and the handler never sees the trace carrier', async () => {
    const res = await client.send('t.echo', { userId: '42', _trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    expect(res).toEqual({ saw: { userId: '42' } });
    expect((await counts(metrics))['t.echo ok']).toBe(1);
  });

  it('passes an AppError to the caller unchanged and counts it by its code', async () => {
    await expect(client.send('t.fail', {})).rejects.toMatchObject({ code: ErrorCode.EnvelopeSoldOut, message: 'all shares are taken' });
    await expect(client.send('t.bug', {})).rejects.toMatchObject({ code: ErrorCode.Internal });
    const c = await counts(metrics);
    expect([c['t.fail ENVELOPE.SOLD_OUT'], c['t.bug INTERNAL'], c['t.fail ok']]).toEqual([1, 1, undefined]);
  });

  it('sheds a message over the in-flight bound before its handler runs, and admits again once the slot is free', async () => {
    const held = client.send<string>('t.hold', {});
    await new Promise((r) => setTimeout(r, 100));
    await expect(client.send('t.echo', { n: 1 })).rejects.toMatchObject({ code: ErrorCode.Overloaded });
    release();
    expect(await held).toBe('released');
    expect(await client.send('t.echo', { n: 2 })).toEqual({ saw: { n: 2 } });
    const c = await counts(metrics);
    expect([c['t.echo OVERLOADED'], c['t.hold ok'], c['t.echo ok']]).toEqual([1, 1, 2]);
  });

  it('answers many concurrent messages, each exactly once, with the in-flight count back at zero', async () => {
    const before = (await counts(metrics))['t.echo ok'];
    let ok = 0;
    let shed = 0;
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.send<{ saw: { i: number } }>('t.echo', { i }).then(
          (r) => (expect(r.saw.i).toBe(i), ok++),
          (e: AppError) => (expect(e.code).toBe(ErrorCode.Overloaded), shed++),
        ),
      ),
    );
    expect(ok + shed).toBe(200);
    expect((await counts(metrics))['t.echo ok'] - before).toBe(ok);
    // Nothing left in flight: the next message is admitted.
    expect(await client.send('t.echo', { last: true })).toEqual({ saw: { last: true } });
  });

  describe('the direct path (DirectRpcHandlers)', () => {
    /** Sends raw packets in Nest's TCP framing (`<length>#<json>`) and resolves to the parsed answers by id. */
    async function raw(packets: Array<{ pattern: string; data: unknown; id: string }>): Promise<Record<string, Record<string, unknown>>> {
      const socket = connect(port, '127.0.0.1');
      const answers: Record<string, Record<string, unknown>> = {};
      let buf = '';
      await new Promise<void>((resolve, reject) => {
        socket.on('error', reject);
        socket.on('data', (chunk) => {
          buf += chunk.toString('utf8');
          for (;;) {
            const hash = buf.indexOf('#');
            if (hash < 0) break;
            const len = Number(buf.slice(0, hash));
            if (buf.length < hash + 1 + len) break;
            const msg = JSON.parse(buf.slice(hash + 1, hash + 1 + len)) as Record<string, unknown>;
            buf = buf.slice(hash + 1 + len);
            answers[String(msg['id'])] = msg;
          }
          if (Object.keys(answers).length === packets.length) resolve();
        });
        for (const p of packets) {
          const json = JSON.stringify(p);
          socket.write(`${Buffer.byteLength(json)}#${json}`);
        }
      });
      socket.destroy();
      return answers;
    }

    it('writes the same answers Nest writes for the same handler, ok or failed', async () => {
      const a: Record<string, Record<string, unknown>> = {};
      // One at a time: the server admits one message in flight.
      for (const [path, pattern] of [['ok', 'echo'], ['fail', 'fail'], ['bug', 'bug']]) {
        Object.assign(a, await raw([{ pattern: `t.${pattern}`, data: { n: 7 }, id: `nest-${path}` }]));
        Object.assign(a, await raw([{ pattern: `d.${pattern}`, data: { n: 7 }, id: `direct-${path}` }]));
      }
      const without = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'id'));
      expect(without(a['direct-ok'])).toEqual({ response: { saw: { n: 7 } }, isDisposed: true });
      for (const k of ['ok', 'fail', 'bug']) expect(without(a[`direct-${k}`])).toEqual(without(a[`nest-${k}`]));
      expect(a['direct-fail']['err']).toEqual({ code: ErrorCode.EnvelopeSoldOut, message: 'all shares are taken' });
      expect(a['direct-bug']['err']).toEqual({ code: ErrorCode.Internal, message: 'internal error' });
    });

    it('counts, traces and sheds like any message; the handler never sees the trace carrier', async () => {
      directSaw.length = 0;
      const before = await counts(metrics);
      expect(await client.send('d.echo', { userId: '42', _trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } })).toEqual({ saw: { userId: '42' } });
      expect(directSaw).toEqual([{ userId: '42' }]);
      await expect(client.send('d.fail', {})).rejects.toMatchObject({ code: ErrorCode.EnvelopeSoldOut, message: 'all shares are taken' });
      const held = client.send<string>('d.hold', {});
      await new Promise((r) => setTimeout(r, 100));
      // The one in-flight slot is taken by d.hold: both paths shed.
      await expect(client.send('d.echo', { n: 1 })).rejects.toMatchObject({ code: ErrorCode.Overloaded });
      await expect(client.send('t.echo', { n: 1 })).rejects.toMatchObject({ code: ErrorCode.Overloaded });
      release();
      expect(await held).toBe('released');
      expect(await client.send('d.echo', { n: 2 })).toEqual({ saw: { n: 2 } });
      const c = await counts(metrics);
      const delta = (k: string) => (c[k] ?? 0) - (before[k] ?? 0);
      expect(['d.echo ok', 'd.echo OVERLOADED', 'd.fail ENVELOPE.SOLD_OUT', 'd.hold ok'].map(delta)).toEqual([2, 1, 1, 1]);
    });

    it('refuses a second handler for the same pattern', () => {
      const d = new DirectRpcHandlers();
      d.add('x', async () => 1);
      expect(() => d.add('x', async () => 2)).toThrow(/registered already/);
    });
  });
});
