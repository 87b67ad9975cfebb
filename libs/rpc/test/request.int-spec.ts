import { ClientTCP } from '@nestjs/microservices';
import { EmptyError, firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { CoalescingJsonSocket } from '../src/coalescing-socket';
import { request } from '../src/request';
import { type EchoService, freePort, startEchoService } from './support/echo-service';

/** What a call settled with, comparable across the two paths. */
type Outcome = { resolved: unknown } | { rejected: unknown; kind: string; syscall?: string };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { resolved: await p };
  } catch (e) {
    // An Error has a stack (Node's own errors fail `instanceof Error` inside jest's sandbox); a remote payload is plain JSON.
    const local = typeof (e as Error)?.stack === 'string';
    const kind = e instanceof TimeoutError ? 'TimeoutError' : e instanceof EmptyError ? 'EmptyError' : local ? 'Error' : 'payload';
    return { rejected: local ? (e as Error).message : e, kind, ...((e as NodeJS.ErrnoException)?.syscall ? { syscall: (e as NodeJS.ErrnoException).syscall } : {}) };
  }
}

/** The observable path request() replaces, as RpcClient used to call it. */
const viaObservable = (c: ClientTCP, pattern: string, data: unknown, ms: number) => firstValueFrom(c.send(pattern, data).pipe(timeout(ms)));

/** Callbacks still waiting in the client's routing map (Nest's pending requests). */
const pending = (c: ClientTCP) => (c as unknown as { routingMap: Map<string, unknown> }).routingMap.size;

/** request() (libs/rpc/src/request.ts) against a real Nest TCP microservice on 127.0.0.1. */
describe('request: one RPC on a Nest TCP client without observables', () => {
  let service: EchoService;
  const clients: ClientTCP[] = [];

  async function connected(port = service.port): Promise<ClientTCP> {
    const c = new ClientTCP({ host: '127.0.0.1', port, socketClass: CoalescingJsonSocket });
    clients.push(c);
    await c.connect();
    return c;
  }

  beforeEach(async () => {
    service = await startEchoService('A', await freePort());
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await service.kill();
  });

  it('settles as the observable path does: a reply, a remote AppError payload, a plain handler error', async () => {
    const c = await connected();
    for (const [pattern, data] of [
      ['echo', { n: 1, s: 'x' }],
      ['echo', 7],
      ['fail.app', {}],
      ['fail.plain', {}],
    ] as const) {
      const fast = await outcome(request(c, pattern, data, 2000));
      expect(fast).toEqual(await outcome(viaObservable(c, pattern, data, 2000)));
    }
    expect(await outcome(request(c, 'echo', { n: 1 }, 2000))).toEqual({ resolved: { instance: 'A', data: { n: 1 } } });
    expect(await outcome(request(c, 'fail.app', {}, 2000))).toEqual({
      rejected: { code: 'ENVELOPE.ALREADY_GRABBED', message: 'already grabbed', details: { amount: 42, envelopeId: 'e-1' } },
      kind: 'payload',
    });
    expect(pending(c)).toBe(0);
  });

  it('many calls in flight on one connection each get their own reply, and leave nothing pending', async () => {
    const c = await connected();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => request(c, 'echo', { i }, 2000)));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => ({ instance: 'A', data: { i } })));
    expect(pending(c)).toBe(0);
  });

  it('rejects with TimeoutError when no reply comes, forgets the request, and the connection goes on serving', async () => {
    const c = await connected();
    const started = Date.now();
    expect(await outcome(request(c, 'hang', { key: 'h1' }, 150))).toEqual({ rejected: 'Timeout has occurred', kind: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(service.receptions('h1')).toBe(1);
    expect(pending(c)).toBe(0);
    expect(await request(c, 'echo', 'after', 2000)).toEqual({ instance: 'A', data: 'after' });
  });

  it("rejects with Nest's local 'Connection closed' (not a connect-phase error) when the callee dies mid-call", async () => {
    const c = await connected();
    const call = outcome(request(c, 'hang', { key: 'h2' }, 5000));
    await new Promise<void>((r) => {
      const poll = () => (service.receptions('h2') ? r() : setTimeout(poll, 5));
      poll();
    });
    await service.kill();
    expect(await call).toEqual({ rejected: 'Connection closed', kind: 'Error' });
    expect(pending(c)).toBe(0);
  });

  it('a client that is not connected (or still dialling) takes the observable path, which fails with the connect-phase error', async () => {
    const port = await freePort(); // nothing listens there
    const c = new ClientTCP({ host: '127.0.0.1', port, socketClass: CoalescingJsonSocket });
    clients.push(c);
    const o = await outcome(request(c, 'echo', 1, 2000));
    expect(o).toMatchObject({ kind: 'Error', syscall: 'connect' });
    expect((o as { rejected: string }).rejected).toContain('ECONNREFUSED');

    // Still dialling (connect() called, not settled): the same, not a "Connection closed" after a write.
    const dialling = new ClientTCP({ host: '127.0.0.1', port, socketClass: CoalescingJsonSocket });
    clients.push(dialling);
    void dialling.connect().catch(() => undefined);
    expect(await outcome(request(dialling, 'echo', 1, 2000))).toMatchObject({ kind: 'Error', syscall: 'connect' });
  });
});
