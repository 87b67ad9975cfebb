import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { type Breaker, BreakerOpenError } from '@hongbao/resilience';
import { createRedis, EnvelopeKeys, EnvelopeScripts, failFastRedisOptions, GrabResult, isRedisUnavailable, type RedisClient, redisBreaker } from '../src';

/**
 * A private redis-server (no persistence) that the tests kill, freeze (SIGSTOP: a hung Redis)
 * and restart on the same port, so the shared Redis on 6379 is never disturbed.
 */
class PrivateRedis {
  private proc?: ChildProcess;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = createRedis(`redis://127.0.0.1:${this.port}`, { lazyConnect: true, retryStrategy: () => 50 });
    try {
      for (let i = 0; ; i++) {
        try {
          if ((await probe.ping()) === 'PONG') return;
        } catch (err) {
          if (i > 100) throw err;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      probe.disconnect();
    }
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGCONT');
    await new Promise((r) => {
      proc.once('exit', r);
      proc.kill('SIGKILL');
    });
  }

  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  return port;
}

/** The AppError `p` rejects with (fails the test if it resolves or rejects with something else). */
const rejection = (p: Promise<unknown>): Promise<AppError> =>
  p.then(
    () => Promise.reject(new Error('expected a rejection')),
    (e: unknown) => (e instanceof AppError ? e : Promise.reject(e)),
  );

describe('EnvelopeScripts behind a breaker, against a real redis-server that dies', () => {
  let server: PrivateRedis;
  let redis: RedisClient;
  let breaker: Breaker;
  let scripts: EnvelopeScripts;
  const keys = new EnvelopeKeys(4, `hbtest-${randomUUID().slice(0, 8)}`);
  let next = 2_000_000;
  const newId = () => String(++next);
  const load = (id: string, shares: number[]) =>
    scripts.load(id, { expiresAtMs: Date.now() + 60_000, keyExpireAtMs: Date.now() + 120_000, amount: shares.reduce((a, b) => a + b, 0), senderId: '1', shares });

  beforeEach(async () => {
    server = new PrivateRedis(await freePort());
    await server.start();
    redis = createRedis(`redis://127.0.0.1:${server.port}`, failFastRedisOptions({ commandTimeoutMs: 300, connectTimeoutMs: 300 }));
    breaker = redisBreaker(`test-${randomUUID().slice(0, 8)}`, { volumeThreshold: 3, resetTimeoutMs: 400 });
    scripts = new EnvelopeScripts(redis, keys, { breaker });
  });
  afterEach(async () => {
    breaker.dispose();
    redis.disconnect();
    await server.kill();
  });

  it('grab outcomes are answers, never failures', async () => {
    const id = newId();
    await load(id, [7]);
    expect(await scripts.grab(id, 'u1')).toMatchObject({ result: GrabResult.Won, amount: 7 });
    for (let i = 0; i < 10; i++) {
      expect(await scripts.grab(id, 'u1')).toEqual({ result: GrabResult.AlreadyGrabbed, amount: 7 });
      expect(await scripts.grab(id, `other-${i}`)).toEqual({ result: GrabResult.SoldOut });
      expect(await scripts.grab(newId(), 'u1')).toEqual({ result: GrabResult.NotFound });
    }
    expect(breaker.state).toBe('closed');
  });

  it('a dead Redis opens the breaker; grabs then fail fast; it closes once Redis answers again', async () => {
    const id = newId();
    await load(id, [5, 5]);
    await server.kill();
    for (let i = 0; i < 10 && breaker.state === 'closed'; i++) {
      const err = await rejection(scripts.grab(id, `u${i}`));
      expect(err.code).toBe(ErrorCode.DependencyUnavailable);
      expect(err).not.toBeInstanceOf(BreakerOpenError);
      expect(isRedisUnavailable(err.cause)).toBe(true);
    }
    expect(breaker.state).toBe('open');
    const fast = await rejection(scripts.grab(id, 'late'));
    expect(fast).toBeInstanceOf(BreakerOpenError);
    expect(fast.details).toEqual({ breaker: breaker.name, retryAfterSeconds: 1 });
    expect(await rejection(scripts.close(id))).toBeInstanceOf(BreakerOpenError);

    await server.start(); // empty: the envelope is gone, which is an answer
    await new Promise((r) => setTimeout(r, 450));
    expect(breaker.state).toBe('halfOpen');
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      // ioredis reconnects on its own schedule: until then the trial fails and the breaker re-opens
      try {
        expect(await scripts.grab(id, 'back')).toEqual({ result: GrabResult.NotFound });
        answered = true;
      } catch (err) {
        expect((err as AppError).code).toBe(ErrorCode.DependencyUnavailable);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(answered).toBe(true);
    expect(breaker.state).toBe('closed');
  });

  it('a hung Redis fails a grab after commandTimeoutMs, as DEPENDENCY.UNAVAILABLE', async () => {
    const id = newId();
    await load(id, [3]);
    server.freeze();
    try {
      const err = await rejection(scripts.grab(id, 'u1'));
      expect(err.code).toBe(ErrorCode.DependencyUnavailable);
      expect((err.cause as Error).message).toMatch(/Command timed out/);
    } finally {
      server.thaw();
    }
  }, 5000); // without commandTimeout the grab would wait forever
});
