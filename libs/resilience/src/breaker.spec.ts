import { AppError, ErrorCode } from '@hongbao/contracts';
import { Breaker, BreakerOpenError, BreakerRegistry, type BreakerStateChange, isBreakerRejection } from './breaker';

const down = () => Promise.reject(new AppError(ErrorCode.DependencyUnavailable, 'gone'));
const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' }));
const ok = () => Promise.resolve('ok');

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('Breaker', () => {
  let registry: BreakerRegistry;
  const made: Breaker[] = [];
  const breaker = (name: string, opts: ConstructorParameters<typeof Breaker>[1] = {}) => {
    const b = new Breaker(name, { volumeThreshold: 4, resetTimeoutMs: 60, ...opts }, registry);
    made.push(b);
    return b;
  };

  beforeEach(() => {
    registry = new BreakerRegistry();
  });
  afterEach(() => made.splice(0).forEach((b) => b.dispose()));

  it('opens after dependency failures, fails fast with DEPENDENCY.UNAVAILABLE naming itself, then half-opens and closes', async () => {
    const b = breaker('rpc:test');
    const changes: BreakerStateChange[] = [];
    registry.onStateChange((c) => changes.push(c));
    let calls = 0;
    const counted = () => {
      calls++;
      return down();
    };
    for (let i = 0; i < 4; i++) expect((await rejection(b.run(counted))).code).toBe(ErrorCode.DependencyUnavailable);
    expect(b.state).toBe('open');

    const fast = await rejection(b.run(counted));
    expect(fast).toBeInstanceOf(BreakerOpenError);
    expect(isBreakerRejection(fast)).toBe(true);
    expect(fast.code).toBe(ErrorCode.DependencyUnavailable);
    expect(fast.details).toEqual({ breaker: 'rpc:test', retryAfterSeconds: 1 });
    expect(calls).toBe(4);
    expect(registry.list()).toEqual([{ name: 'rpc:test', state: 'open', retryAfterSeconds: 1 }]);

    await new Promise((r) => setTimeout(r, 90));
    expect(b.state).toBe('halfOpen');
    await expect(b.run(ok)).resolves.toBe('ok');
    expect(b.state).toBe('closed');
    expect(changes).toEqual([
      { name: 'rpc:test', state: 'open', previous: 'closed' },
      { name: 'rpc:test', state: 'halfOpen', previous: 'open' },
      { name: 'rpc:test', state: 'closed', previous: 'halfOpen' },
    ]);
    const counts = registry.eventCounts().find((e) => e.name === 'rpc:test')?.counts;
    expect(counts).toEqual({ open: 1, close: 1, halfOpen: 1, reject: 1, timeout: 0, failure: 4 });
  });

  it('a failed trial call opens it again', async () => {
    const b = breaker('t:reopen');
    for (let i = 0; i < 4; i++) await rejection(b.run(down));
    await new Promise((r) => setTimeout(r, 90));
    expect(b.state).toBe('halfOpen');
    await rejection(b.run(refused));
    expect(b.state).toBe('open');
  });

  it.each([ErrorCode.EnvelopeSoldOut, ErrorCode.ValidationFailed, ErrorCode.WalletInsufficientFunds, ErrorCode.IdempotencyKeyReused, ErrorCode.Internal])(
    'domain answer %s passes through unchanged and never trips it',
    async (code) => {
      const b = breaker('t:domain');
      const domain = new AppError(code, 'no');
      for (let i = 0; i < 20; i++) expect(await rejection(b.run(() => Promise.reject(domain)))).toBe(domain);
      expect(b.state).toBe('closed');
    },
  );

  it('SQL answers and bugs pass through unchanged and never trip it', async () => {
    const b = breaker('t:sql');
    const dup = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY', errno: 1062 });
    for (let i = 0; i < 10; i++) await expect(b.run(() => Promise.reject(dup))).rejects.toBe(dup);
    const bug = new TypeError('x is undefined');
    for (let i = 0; i < 10; i++) await expect(b.run(() => Promise.reject(bug))).rejects.toBe(bug);
    expect(b.state).toBe('closed');
  });

  it('maps a connection error to DEPENDENCY.UNAVAILABLE with the original as cause', async () => {
    const b = breaker('mysql:test:0');
    const err = await rejection(b.run(refused));
    expect(err.code).toBe(ErrorCode.DependencyUnavailable);
    expect(err.details).toEqual({ breaker: 'mysql:test:0' });
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(isBreakerRejection(err)).toBe(false);
  });

  it('times a slow call out as DEPENDENCY.TIMEOUT and counts it', async () => {
    const b = breaker('t:slow', { timeoutMs: 20 });
    const err = await rejection(b.run(() => new Promise((r) => setTimeout(r, 200))));
    expect(err.code).toBe(ErrorCode.DependencyTimeout);
    expect(err.details).toEqual({ breaker: 't:slow', timeoutMs: 20 });
    expect(registry.eventCounts()[0].counts).toMatchObject({ timeout: 1, failure: 1 });
  });

  it('stays closed below the volume threshold', async () => {
    const b = breaker('t:volume', { volumeThreshold: 10 });
    for (let i = 0; i < 9; i++) await rejection(b.run(down));
    expect(b.state).toBe('closed');
  });

  it('a listener that throws does not break the transition', async () => {
    const b = breaker('t:listener');
    registry.onStateChange(() => {
      throw new Error('listener bug');
    });
    const seen: string[] = [];
    const off = registry.onStateChange((c) => seen.push(c.state));
    b.open();
    off();
    b.close();
    expect(seen).toEqual(['open']);
    expect(b.state).toBe('closed');
  });

  it('a new breaker takes over its name; disposing the old one leaves the new one listed', () => {
    const first = breaker('rpc:same');
    const second = breaker('rpc:same');
    first.dispose();
    expect(registry.get('rpc:same')).toBe(second);
    second.dispose();
    expect(registry.list()).toEqual([]);
  });

  it('refuses bad options', () => {
    expect(() => breaker('')).toThrow(/name/);
    expect(() => breaker('t:bad', { resetTimeoutMs: 0 })).toThrow(/resetTimeoutMs/);
    expect(() => breaker('t:bad', { timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});
