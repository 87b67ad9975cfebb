import { ErrorCode } from '@hongbao/contracts';
import { BreakerOpenError, breakers } from '@hongbao/resilience';
import { RpcClient, type RpcClientOptions } from '../src';
import { type EchoReply, type EchoService, type FlakyRequest, freePort, startEchoService, waitFor } from './support/echo-service';
import { rejection } from './support/rejection';

/** The RpcClient's circuit breaker and retries against real Nest TCP echo services on 127.0.0.1. */
describe('RpcClient breaker and retries over real TCP', () => {
  const services: EchoService[] = [];
  const clients: RpcClient[] = [];
  let seq = 0;

  async function service(instance: string, port?: number): Promise<EchoService> {
    const s = await startEchoService(instance, port ?? (await freePort()));
    services.push(s);
    return s;
  }

  /** A client with a unique name (the breaker registry is process-wide), counting resolutions. */
  function client(addresses: string[], opts: Partial<RpcClientOptions> = {}): { c: RpcClient; name: string; resolutions: () => number } {
    const name = `echo-${process.pid}-${++seq}`;
    let resolutions = 0;
    const c = new RpcClient({
      target: 'echo.test:7000',
      name,
      resolve: async () => {
        resolutions++;
        return addresses;
      },
      resolveIntervalMs: 60_000,
      timeoutMs: 2000,
      ...opts,
    });
    clients.push(c);
    return { c, name, resolutions: () => resolutions };
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(services.splice(0).map((s) => s.kill()));
  });

  it('opens after repeated failures of a stopped service, fails fast, then half-opens and closes once it is back', async () => {
    const port = await freePort();
    const first = await service('A', port);
    const { c, name, resolutions } = client([first.address], { breaker: { volumeThreshold: 4, resetTimeoutMs: 400 } });
    await c.connect();
    expect((await c.send<EchoReply>('echo', { n: 1 })).instance).toBe('A');
    const breaker = breakers.get(`rpc:${name}`);
    expect(breaker?.state).toBe('closed');

    await first.kill();
    // Each failure is the service being unreachable, not the breaker. With the success above the
    // window holds 4 calls after the third failure (75 % failed > 50 %): it opens.
    for (let i = 0; i < 3; i++) {
      const err = await rejection(c.send('echo', { i }));
      expect(err.code).toBe(ErrorCode.DependencyUnavailable);
      expect(err).not.toBeInstanceOf(BreakerOpenError);
    }
    expect(breaker?.state).toBe('open');

    // Open: rejected at once; at most one redial (by the first refused call) for the whole burst.
    const before = resolutions();
    for (let i = 0; i < 5; i++) {
      const fast = await rejection(c.send('echo', { i }));
      expect(fast).toBeInstanceOf(BreakerOpenError);
      expect(fast.code).toBe(ErrorCode.DependencyUnavailable);
      expect(fast.details).toEqual({ breaker: `rpc:${name}`, retryAfterSeconds: 1 });
    }
    expect(resolutions() - before).toBeLessThanOrEqual(1);
    expect(breakers.list().find((b) => b.name === `rpc:${name}`)).toEqual({ name: `rpc:${name}`, state: 'open', retryAfterSeconds: 1 });

    await service('B', port);
    await waitFor(() => breaker?.state === 'halfOpen', 3000, 'the breaker to half-open');
    // The trial call redials the restarted service and closes the breaker.
    expect((await c.send<EchoReply>('echo', { n: 2 })).instance).toBe('B');
    expect(breaker?.state).toBe('closed');
    expect((await c.send<EchoReply>('echo', { n: 3 })).data).toEqual({ n: 3 });
  });

  it('reconnecting to the callee closes an open breaker before resetTimeoutMs', async () => {
    const port = await freePort();
    const first = await service('A', port);
    const { c, name } = client([first.address], { breaker: { volumeThreshold: 2, resetTimeoutMs: 60_000 } });
    await c.connect();
    await first.kill();
    const breaker = breakers.get(`rpc:${name}`);
    for (let i = 0; i < 5 && breaker?.state === 'closed'; i++) await rejection(c.send('echo', { i }));
    expect(breaker?.state).toBe('open');

    await service('B', port);
    // the next call redials first; the new connection closes the breaker and the call goes through
    expect((await c.send<EchoReply>('echo', { back: true })).instance).toBe('B');
    expect(breaker?.state).toBe('closed');
  });

  it('domain errors and callee bugs never trip it', async () => {
    const s = await service('A');
    const { c, name } = client([s.address], { breaker: { volumeThreshold: 4 } });
    await c.connect();
    for (let i = 0; i < 20; i++) {
      const err = await rejection(c.send('fail.app', { i }));
      expect(err.code).toBe(ErrorCode.EnvelopeAlreadyGrabbed);
      expect(err.details).toEqual({ amount: 42, envelopeId: 'e-1' });
    }
    for (let i = 0; i < 10; i++) expect((await rejection(c.send('fail.plain', { i }))).code).toBe(ErrorCode.Internal);
    expect(breakers.get(`rpc:${name}`)?.state).toBe('closed');
    expect((await c.send<EchoReply>('echo', { ok: true })).data).toEqual({ ok: true });
  });

  it("a callee's own DEPENDENCY.* answers (its database is down) never trip the caller's breaker for it", async () => {
    const s = await service('A');
    const { c, name } = client([s.address], { breaker: { volumeThreshold: 4 } });
    await c.connect();
    for (let i = 0; i < 20; i++) expect((await rejection(c.send('flaky.write', { key: `own-dep-${seq}-${i}`, failTimes: 1 }))).code).toBe(ErrorCode.DependencyUnavailable);
    expect(breakers.get(`rpc:${name}`)?.state).toBe('closed');
    expect((await c.send<EchoReply>('echo', { ok: true })).data).toEqual({ ok: true });
  });

  it('retries an idempotent pattern after DEPENDENCY.UNAVAILABLE and never a non-idempotent one', async () => {
    const s = await service('A');
    const { c } = client([s.address], { idempotent: (p) => p === 'flaky.read', retry: { attempts: 3, baseMs: 5, maxMs: 20 } });
    await c.connect();

    const read: FlakyRequest = { key: `read-${seq}`, failTimes: 2 };
    expect((await c.send<EchoReply>('flaky.read', read)).data).toEqual(read);
    expect(s.receptions(read.key)).toBe(3);

    const write: FlakyRequest = { key: `write-${seq}`, failTimes: 1 };
    expect((await rejection(c.send('flaky.write', write))).code).toBe(ErrorCode.DependencyUnavailable);
    expect(s.receptions(write.key)).toBe(1);

    // Attempts are bounded: three receptions, then the last error.
    const hopeless: FlakyRequest = { key: `hopeless-${seq}`, failTimes: 10 };
    expect((await rejection(c.send('flaky.read', hopeless))).code).toBe(ErrorCode.DependencyUnavailable);
    expect(s.receptions(hopeless.key)).toBe(3);
  });

  it('an open breaker is not retried, even for an idempotent pattern', async () => {
    const s = await service('A');
    const { c, name } = client([s.address], { idempotent: () => true, breaker: { volumeThreshold: 1, resetTimeoutMs: 60_000 } });
    await c.connect();
    breakers.get(`rpc:${name}`)?.open();
    const key = `open-${seq}`;
    expect(await rejection(c.send('flaky.read', { key, failTimes: 0 }))).toBeInstanceOf(BreakerOpenError);
    expect(s.receptions(key)).toBe(0);
  });

  it('retries of an idempotent pattern stay within timeoutMs', async () => {
    const s = await service('A');
    const { c } = client([s.address], { timeoutMs: 300, idempotent: () => true, retry: { attempts: 10, baseMs: 5, maxMs: 20 }, breaker: false });
    await c.connect();
    const key = `hang-${seq}`;
    expect((await rejection(c.send('hang', { key }))).code).toBe(ErrorCode.DependencyTimeout);
    // the first attempt used the whole budget: no second one was sent
    expect(s.receptions(key)).toBe(1);
  });

  it('closing the client removes its breaker from the registry', async () => {
    const s = await service('A');
    const { c, name } = client([s.address]);
    await c.connect();
    expect(breakers.get(`rpc:${name}`)).toBeDefined();
    await c.close();
    expect(breakers.get(`rpc:${name}`)).toBeUndefined();
  });
});
