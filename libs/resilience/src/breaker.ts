import { AppError, ErrorCode } from '@hongbao/contracts';
import CircuitBreaker from 'opossum';
import { isDependencyFailure } from './failures';

/** A breaker's state: `closed` lets calls through, `open` fails them at once, `halfOpen` lets one trial call through. */
export type BreakerState = 'closed' | 'halfOpen' | 'open';

/** What a breaker reports to the registry (and so to the `hongbao_breaker_events_total` metric). */
export type BreakerEvent = 'open' | 'close' | 'halfOpen' | 'reject' | 'timeout' | 'failure';

export const BREAKER_EVENTS: readonly BreakerEvent[] = ['open', 'close', 'halfOpen', 'reject', 'timeout', 'failure'];

/** Options of a {@link Breaker}; every one has a default suited to a request-path dependency. */
export interface BreakerOptions {
  /**
   * A call still pending after this many ms is rejected with DEPENDENCY.TIMEOUT and counted as a
   * failure (the call itself is not cancelled). `false` disables it, for callers that enforce
   * their own deadline (the RPC client) or must not abandon work midway (MySQL transactions).
   * Default 5000.
   */
  timeoutMs?: number | false;
  /** Percentage of failed calls in the rolling window above which the breaker opens. Default 50. */
  errorThresholdPercentage?: number;
  /** Calls the rolling window must hold before the breaker may open at all. Default 10. */
  volumeThreshold?: number;
  /** How long an open breaker fails calls fast before letting one trial call through, in ms. Default 5000. */
  resetTimeoutMs?: number;
  /** Length of the rolling statistics window in ms (10 buckets). Default 10000. */
  rollingWindowMs?: number;
  /**
   * Which rejections count as failures of the dependency. Default {@link isDependencyFailure}:
   * DEPENDENCY.* codes, timeouts and connection errors; never domain errors. The breaker's own
   * timeout always counts.
   */
  isFailure?: (err: unknown) => boolean;
}

/** One breaker as listed by {@link BreakerRegistry.list}. */
export interface BreakerInfo {
  name: string;
  state: BreakerState;
  /** while open: whole seconds until the next trial call is let through */
  retryAfterSeconds?: number;
}

/** A transition reported to {@link BreakerRegistry.onStateChange} listeners. */
export interface BreakerStateChange {
  name: string;
  state: BreakerState;
  previous: BreakerState;
}

const DEFAULTS = { timeoutMs: 5000, errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5000, rollingWindowMs: 10_000 } as const;

/**
 * Every live breaker of the process, by name. A breaker registers itself when created and leaves
 * when disposed; a new breaker with a name already in use takes the name over (a restarted
 * client). Event counts are kept per name for the life of the process, so a replaced breaker's
 * counters do not go backwards.
 */
export class BreakerRegistry {
  private readonly byName = new Map<string, Breaker>();
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();
  private readonly counts = new Map<string, Record<BreakerEvent, number>>();

  /** Every registered breaker with its current state, sorted by name. */
  list(): BreakerInfo[] {
    return [...this.byName.values()]
      .map((b) => {
        const retryAfterSeconds = b.retryAfterSeconds();
        return { name: b.name, state: b.state, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The breaker registered under `name`, if any. */
  get(name: string): Breaker | undefined {
    return this.byName.get(name);
  }

  /**
   * Calls `listener` on every state transition of every breaker (present and future), right
   * after it happens: `open` when a dependency is judged down, `halfOpen` when a trial call is
   * about to be allowed, `closed` when the dependency answered again. The gateway uses it to
   * switch degraded mode on and off. A throwing listener is ignored. Returns an unsubscribe
   * function.
   */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Cumulative event counts per breaker name since the process started (for metrics). */
  eventCounts(): { name: string; counts: Readonly<Record<BreakerEvent, number>> }[] {
    return [...this.counts].map(([name, counts]) => ({ name, counts }));
  }

  /** @internal called by Breaker */
  register(b: Breaker): void {
    this.byName.set(b.name, b);
    if (!this.counts.has(b.name)) this.counts.set(b.name, { open: 0, close: 0, halfOpen: 0, reject: 0, timeout: 0, failure: 0 });
  }

  /** @internal called by Breaker */
  unregister(b: Breaker): void {
    if (this.byName.get(b.name) === b) this.byName.delete(b.name);
  }

  /** @internal called by Breaker */
  record(b: Breaker, event: BreakerEvent, previous?: BreakerState): void {
    const counts = this.counts.get(b.name);
    if (counts) counts[event]++;
    if (previous === undefined) return;
    const change = { name: b.name, state: b.state, previous };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener's bug must not break the call that triggered the transition
      }
    }
  }
}

/** The process-wide registry every breaker joins unless given another one. */
export const breakers = new BreakerRegistry();

type Thunk = () => Promise<unknown>;

/**
 * A circuit breaker (opossum) guarding one dependency: a pool, a Redis connection, an RPC target.
 * Any call to that dependency goes through {@link Breaker.run}, so one breaker sees every kind
 * of call and opens when the dependency, not one query, is failing.
 *
 * - Closed: calls run; a call rejected with a dependency failure (see
 *   {@link BreakerOptions.isFailure}) or still pending after `timeoutMs` counts as a failure.
 *   Once the rolling window holds at least `volumeThreshold` calls and more than
 *   `errorThresholdPercentage` percent failed, the breaker opens.
 * - Open: calls reject at once with `AppError(DEPENDENCY.UNAVAILABLE)` whose details are
 *   `{breaker, retryAfterSeconds}` (503 at the HTTP edge), without touching the dependency.
 * - After `resetTimeoutMs`, half-open: the next call is a trial (the others still fail fast);
 *   success, or any non-failure answer such as a domain error, closes the breaker; a failure
 *   opens it again.
 *
 * Rejections are mapped for the caller: the breaker's timeout becomes DEPENDENCY.TIMEOUT, other
 * counted failures that are not already AppErrors become DEPENDENCY.UNAVAILABLE (the original
 * error is the `cause`); every other error passes through unchanged.
 */
export class Breaker {
  private readonly cb: CircuitBreaker<[Thunk], unknown>;
  private readonly timeoutMs: number | false;
  private readonly resetTimeoutMs: number;
  private readonly isFailure: (err: unknown) => boolean;
  private openedAt = 0;
  private current: BreakerState = 'closed';

  constructor(
    readonly name: string,
    opts: BreakerOptions = {},
    private readonly registry: BreakerRegistry = breakers,
  ) {
    if (!name) throw new Error('Breaker: a name is required');
    this.timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
    this.resetTimeoutMs = opts.resetTimeoutMs ?? DEFAULTS.resetTimeoutMs;
    this.isFailure = opts.isFailure ?? isDependencyFailure;
    const rollingWindowMs = opts.rollingWindowMs ?? DEFAULTS.rollingWindowMs;
    if (this.timeoutMs !== false && !(this.timeoutMs > 0)) throw new RangeError(`Breaker(${name}): timeoutMs must be > 0 or false, got ${this.timeoutMs}`);
    if (!(this.resetTimeoutMs > 0)) throw new RangeError(`Breaker(${name}): resetTimeoutMs must be > 0, got ${this.resetTimeoutMs}`);
    if (!(rollingWindowMs >= 10)) throw new RangeError(`Breaker(${name}): rollingWindowMs must be >= 10, got ${rollingWindowMs}`);
    this.cb = new CircuitBreaker<[Thunk], unknown>((fn: Thunk) => fn(), {
      name,
      timeout: this.timeoutMs,
      errorThresholdPercentage: opts.errorThresholdPercentage ?? DEFAULTS.errorThresholdPercentage,
      volumeThreshold: opts.volumeThreshold ?? DEFAULTS.volumeThreshold,
      resetTimeout: this.resetTimeoutMs,
      rollingCountTimeout: rollingWindowMs,
      rollingCountBuckets: 10,
      // true = "not a failure": opossum then counts the call as a success.
      errorFilter: (err: unknown) => !(isOwnTimeout(err) || this.isFailure(err)),
      enableSnapshots: false,
    });
    this.cb.on('open', () => {
      this.openedAt = Date.now();
      this.transition('open');
    });
    this.cb.on('halfOpen', () => this.transition('halfOpen'));
    this.cb.on('close', () => this.transition('closed'));
    this.cb.on('reject', () => this.registry.record(this, 'reject'));
    this.cb.on('timeout', () => this.registry.record(this, 'timeout'));
    this.cb.on('failure', () => this.registry.record(this, 'failure'));
    registry.register(this);
  }

  /** The current state. */
  get state(): BreakerState {
    return this.current;
  }

  /** While open, whole seconds (at least 1) until a trial call is let through; otherwise undefined. */
  retryAfterSeconds(): number | undefined {
    if (this.current !== 'open') return undefined;
    return Math.max(1, Math.ceil((this.openedAt + this.resetTimeoutMs - Date.now()) / 1000));
  }

  /** Runs `fn` through the breaker (see the class comment for what it rejects with). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return (await this.cb.fire(fn)) as T;
    } catch (err) {
      throw this.toCallerError(err);
    }
  }

  /** Opens the breaker by hand (tests, an operator's kill switch). */
  open(): void {
    this.cb.open();
  }

  /** Closes the breaker by hand. */
  close(): void {
    this.cb.close();
  }

  /** Stops the breaker's timers and leaves the registry; later calls fail with DEPENDENCY.UNAVAILABLE. */
  dispose(): void {
    this.registry.unregister(this);
    this.cb.shutdown();
  }

  private transition(to: BreakerState): void {
    const previous = this.current;
    if (previous === to) return;
    this.current = to;
    this.registry.record(this, to === 'closed' ? 'close' : to, previous);
  }

  private toCallerError(err: unknown): unknown {
    if (err instanceof Error && CircuitBreaker.isOurError(err)) {
      const code = (err as { code?: string }).code;
      if (code === 'ETIMEDOUT') {
        return new AppError(ErrorCode.DependencyTimeout, `${this.name}: no answer within ${this.timeoutMs} ms`, { breaker: this.name, timeoutMs: this.timeoutMs });
      }
      // half-open with its trial call in flight: the answer is a moment away
      const retryAfterSeconds = this.retryAfterSeconds() ?? (this.current === 'halfOpen' ? 1 : undefined);
      return new BreakerOpenError(`${this.name}: ${code === 'ESHUTDOWN' ? 'breaker shut down' : 'circuit open, failing fast'}`, {
        breaker: this.name,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
    }
    if (err instanceof AppError || !this.isFailure(err)) return err;
    const mapped = new AppError(ErrorCode.DependencyUnavailable, `${this.name}: ${err instanceof Error ? err.message : String(err)}`, { breaker: this.name });
    mapped.cause = err;
    return mapped;
  }
}

function isOwnTimeout(err: unknown): boolean {
  return err instanceof Error && CircuitBreaker.isOurError(err) && (err as { code?: string }).code === 'ETIMEDOUT';
}

/** Creates a {@link Breaker} named `name` in the process-wide registry. */
export function createBreaker(name: string, opts: BreakerOptions = {}): Breaker {
  return new Breaker(name, opts);
}

/**
 * DEPENDENCY.UNAVAILABLE raised by a breaker failing fast (open, or half-open with its trial call
 * in flight, or disposed), as opposed to a failure of the dependency itself. Crosses RPC as a
 * plain AppError with the same code and details.
 */
export class BreakerOpenError extends AppError {
  constructor(message: string, details: { breaker: string; retryAfterSeconds?: number }) {
    super(ErrorCode.DependencyUnavailable, message, details);
  }
}

/** True when `err` is a local breaker failing fast, not an answer of the dependency: retrying it now is pointless. */
export function isBreakerRejection(err: unknown): err is BreakerOpenError {
  return err instanceof BreakerOpenError;
}
