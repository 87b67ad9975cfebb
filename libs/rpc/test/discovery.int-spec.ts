import { AppError, ErrorCode } from '@hongbao/contracts';
import { RpcClient, type RpcClientOptions } from '../src';
import { type EchoReply, type EchoService, freePort, startEchoService, waitFor } from './support/echo-service';
import { rejection } from './support/rejection';

/**
 * Real Nest TCP microservices on 127.0.0.1, several behind one name through an injected
 * resolver whose answer each test edits (the DNS of a scaled compose service, without
 * touching /etc/hosts).
 */
describe('RpcClient discovery over real TCP', () => {
  const services: EchoService[] = [];
  const clients: RpcClient[] = [];

  async function service(instance: string, port?: number): Promise<EchoService> {
    const s = await startEchoService(instance, port ?? (await freePort()));
    services.push(s);
    return s;
  }

  function client(answer: { current: string[] }, opts: Partial<RpcClientOptions> = {}): RpcClient {
    const c = new RpcClient({
      target: 'echo.test:7000',
      resolve: async () => answer.current,
      resolveIntervalMs: 100,
      timeoutMs: 2000,
      ...opts,
    });
    clients.push(c);
    return c;
  }

  /** Sends `n` sequential echo calls and counts replies per instance. */
  async function tally(c: RpcClient, n: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const reply = await c.send<EchoReply>('echo', { i });
      expect(reply.data).toEqual({ i });
      counts[reply.instance] = (counts[reply.instance] ?? 0) + 1;
    }
    return counts;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  it('spreads calls over two instances behind one name', async () => {
    const a = await service('A');
    const b = await service('B');
    const c = client({ current: [a.address, b.address] });
    await c.connect();

    expect(c.addresses().sort()).toEqual([a.address, b.address].sort());
    // strict round-robin over a stable set of two: exactly half each
    expect(await tally(c, 100)).toEqual({ A: 50, B: 50 });
    expect(a.openConnections()).toBe(1);
    expect(b.openConnections()).toBe(1);
  });

  it('drops a crashed instance at once and every call after the drop succeeds', async () => {
    const a = await service('A');
    const b = await service('B');
    const answer = { current: [a.address, b.address] };
    // No re-resolution during the test: the drop must come from the broken connection alone.
    const c = client(answer, { resolveIntervalMs: 60_000 });
    await c.connect();

    type Outcome = { afterDrop: boolean; instance?: string; code?: string };
    const outcomes: Outcome[] = [];
    let completed = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 80; i++) {
        const afterDrop = !c.addresses().includes(b.address);
        try {
          const reply = await c.send<EchoReply>('echo', { i });
          outcomes.push({ afterDrop, instance: reply.instance });
        } catch (e) {
          outcomes.push({ afterDrop, code: (e as AppError).code });
        }
        if (++completed === 60) await b.kill();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);

    expect(c.addresses()).toEqual([a.address]);
    expect(answer.current).toContain(b.address); // still resolved, dropped all the same
    const before = outcomes.filter((o) => !o.afterDrop);
    const after = outcomes.filter((o) => o.afterDrop);
    expect(outcomes).toHaveLength(320);
    expect(after.length).toBeGreaterThanOrEqual(200);
    // calls in flight to B when it died may fail, but only as DEPENDENCY.UNAVAILABLE (never retried: they were written)
    for (const o of before) {
      if (o.code !== undefined) expect(o.code).toBe(ErrorCode.DependencyUnavailable);
    }
    expect(before.filter((o) => o.instance === 'B').length).toBeGreaterThan(0);
    // after the drop: every call succeeds, all on A
    expect(after.filter((o) => o.instance !== 'A')).toEqual([]);
  });

  it('redials a dropped address that is still resolved once it comes back', async () => {
    const a = await service('A');
    const b = await service('B');
    const c = client({ current: [a.address, b.address] });
    await c.connect();

    await b.kill();
    await waitFor(() => c.addresses().length === 1, 2000, 'B to be dropped');
    expect(c.addresses()).toEqual([a.address]);
    expect(await tally(c, 10)).toEqual({ A: 10 });

    await service('B2', b.port);
    await waitFor(() => c.addresses().includes(b.address), 3000, 'B to be redialled');
    expect(await tally(c, 40)).toEqual({ A: 20, B2: 20 });
  });

  it('picks up an instance added to the answer and closes one removed from it', async () => {
    const a = await service('A');
    const b = await service('B');
    const answer = { current: [a.address, b.address] };
    const c = client(answer);
    await c.connect();
    expect(await tally(c, 20)).toEqual({ A: 10, B: 10 });

    const third = await service('C');
    answer.current = [a.address, b.address, third.address];
    await waitFor(() => c.addresses().includes(third.address), 3000, 'C to be picked up');
    expect(await tally(c, 90)).toEqual({ A: 30, B: 30, C: 30 });

    answer.current = [a.address, b.address];
    await waitFor(() => !c.addresses().includes(third.address), 3000, 'C to be removed');
    await waitFor(() => third.openConnections() === 0, 3000, "C's connection to close");
    expect(await tally(c, 60)).toEqual({ A: 30, B: 30 });
  });

  it("re-throws the callee's AppError and hides a plain error behind INTERNAL", async () => {
    const a = await service('A');
    const c = client({ current: [a.address] });
    await c.connect();

    const appErr = await rejection(c.send('fail.app', {}));
    expect(appErr.toPayload()).toEqual({
      code: ErrorCode.EnvelopeAlreadyGrabbed,
      message: 'already grabbed',
      details: { amount: 42, envelopeId: 'e-1' },
    });

    const internal = await rejection(c.send('fail.plain', {}));
    expect(internal.toPayload()).toEqual({ code: ErrorCode.Internal, message: 'internal error' });
    expect(internal.details).toBeUndefined();
    expect(String(internal.stack)).not.toContain('secret-boom');
    expect(String(internal.stack)).not.toContain('echo-service');

    // an unknown pattern is the callee's "no handler" string: INTERNAL too
    const unknown = await rejection(c.send('no.such.pattern', {}));
    expect(unknown.code).toBe(ErrorCode.Internal);

    // errors do not cost the connection
    expect(c.addresses()).toEqual([a.address]);
    expect((await c.send<EchoReply>('echo', 'still here')).data).toBe('still here');
  });

  it('fails fast with DEPENDENCY.UNAVAILABLE when no instance is up', async () => {
    const deadPort = await freePort();
    // A 60 s timeout: getting UNAVAILABLE (not TIMEOUT) proves the call did not wait for it.
    const c = client({ current: [`127.0.0.1:${deadPort}`] }, { timeoutMs: 60_000 });
    await c.connect(); // resolves although nothing listens
    expect(c.addresses()).toEqual([]);
    const err = await rejection(c.send('echo', {}));
    expect(err.code).toBe(ErrorCode.DependencyUnavailable);

    const empty = client({ current: [] });
    await empty.connect();
    expect((await rejection(empty.send('echo', {}))).code).toBe(ErrorCode.DependencyUnavailable);

    const broken = new RpcClient({
      target: 'echo.test:7000',
      resolve: () => Promise.reject(new Error('ENOTFOUND echo.test')),
    });
    clients.push(broken);
    await broken.connect();
    expect((await rejection(broken.send('echo', {}))).code).toBe(ErrorCode.DependencyUnavailable);
  });

  it('comes up when the instance starts after connect()', async () => {
    const port = await freePort();
    const c = client({ current: [`127.0.0.1:${port}`] });
    await c.connect();
    expect(c.addresses()).toEqual([]);
    await service('late', port);
    await waitFor(() => c.addresses().length === 1, 3000, 'the late instance');
    expect(await tally(c, 3)).toEqual({ late: 3 });
  });

  it('redials at once on a call that finds no healthy address, without waiting for the re-resolve period', async () => {
    const port = await freePort();
    const c = client({ current: [`127.0.0.1:${port}`] }, { resolveIntervalMs: 60_000 });
    await c.connect();
    expect(c.addresses()).toEqual([]);
    await service('starts-late', port);
    // The periodic re-resolution is a minute away: only the on-demand redial can reach it.
    expect(await tally(c, 2)).toEqual({ 'starts-late': 2 });
  });

  it('times out a handler that never answers with DEPENDENCY.TIMEOUT, keeping the connection', async () => {
    const a = await service('A');
    const c = client({ current: [a.address] }, { timeoutMs: 300 });
    await c.connect();

    const err = await rejection(c.send('hang', {}));
    expect(err.code).toBe(ErrorCode.DependencyTimeout);
    expect(err.details).toEqual({ target: 'echo.test:7000', address: a.address, timeoutMs: 300 });
    expect(c.addresses()).toEqual([a.address]);
    expect((await c.send<EchoReply>('echo', 1)).instance).toBe('A');
  });

  it('resolves the target with DNS by default', async () => {
    const a = await service('A');
    const c = new RpcClient({ target: `localhost:${a.port}`, name: 'echo' });
    clients.push(c);
    await c.connect();
    // localhost may also resolve to ::1, where nothing listens: that address is simply not healthy
    expect(c.addresses()).toEqual([a.address]);
    expect((await c.send<EchoReply>('echo', 'dns')).instance).toBe('A');
  });

  it('refuses calls after close() and null data always', async () => {
    const a = await service('A');
    const c = client({ current: [a.address] });
    await c.connect();
    await expect(c.send('echo', null)).rejects.toThrow(TypeError);
    await c.close();
    expect(c.addresses()).toEqual([]);
    expect((await rejection(c.send('echo', {}))).code).toBe(ErrorCode.DependencyUnavailable);
    await waitFor(() => a.openConnections() === 0, 2000, 'the connection to close');
  });
});
