import {
  classify,
  errorCode,
  GRAB_OUTCOMES,
  mixPicker,
  OUTCOMES,
  percentileSorted,
  prng,
  rateAt,
  REQUEST_TYPES,
  scheduleOf,
  senderId,
  timeOfIteration,
  totalDurationMs,
  totalIterations,
  userOf,
} from '../lib/scenario.ts';
import type { Outcome, RequestType, Scenario, Segment } from '../lib/scenario.ts';
import { Api, ApiResponse } from './api.ts';
import { Metrics } from './metrics.ts';

export interface EnvelopeRef {
  id: string;
  amount: number;
  count: number;
  sender: string;
  /** true for the envelopes setup() created */
  setup: boolean;
}

/** One second of the run, by when requests were scheduled (target/started/dropped/late) and when they completed (the rest). */
export interface SecondBucket {
  t: number;
  target: number;
  started: number;
  dropped: number;
  late: number;
  inflightMax: number;
  inflightAtEnd: number;
  completed: number;
  outcomes: Record<Outcome, number>;
  /** latency samples (ms) of requests that completed in this second, by type; dropped after summarising */
  samples: Record<string, number[]>;
  /** per-type latency summary of this second (filled by summarise) */
  latency: Record<string, { n: number; p50: number; p90: number; p99: number; max: number }>;
  /** p99 of response time from the scheduled start (coordinated-omission free) */
  intendedP99?: number;
  intended: number[];
}

export interface LoadResult {
  startedAt: string;
  /** ms of the load phase (first scheduled start to last response) */
  durationMs: number;
  scheduledMs: number;
  iterationsPlanned: number;
  iterations: number;
  dropped: number;
  late: number;
  timeline: SecondBucket[];
  /** performance.now() at load start (t = 0 of the timeline) */
  t0: number;
  /** performance.now() at the last response */
  tEnd: number;
  codes: Record<string, Record<string, number>>;
  wins: Map<string, Map<string, number>>;
  moneyViolations: string[];
  examples: Record<string, string>;
}

export interface LoadOptions {
  maxInFlight: number;
  lateMs: number;
  seed: number;
  timeoutMs: number;
  runId: string;
  /** called once a second with the bucket that just ended and the totals so far */
  onSecond?: (b: SecondBucket, totals: { outcomes: Record<Outcome, number>; inflight: number; dropped: number; late: number; rate: number }) => void;
}

const zeroOutcomes = (): Record<Outcome, number> => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;

/**
 * The open-loop engine. Iteration k is due at the time the scenario's arrival curve reaches k
 * arrivals (k6's arrival-rate executors follow the same curve); it starts then whatever the
 * earlier ones are doing. A timer wakes at the next due time and starts everything that is
 * due; the delay between due and actual start is the scheduler lag (> lateMs: a late start).
 * With maxInFlight (the scenario's maxVUs) requests outstanding, a due iteration is dropped
 * and counted, as k6 does when it has no free VU.
 */
export class LoadEngine {
  readonly metrics: Metrics;
  private readonly segs: Segment[];
  private readonly rnd: () => number;
  private readonly setupEnvelopes: EnvelopeRef[];
  private readonly pick: (u: number) => RequestType;
  private inflight = 0;
  private readonly timeline: SecondBucket[] = [];
  private readonly totals = zeroOutcomes();
  private dropped = 0;
  private late = 0;
  private started = 0;
  private readonly codes: Record<string, Record<string, number>> = {};
  private readonly wins = new Map<string, Map<string, number>>();
  private readonly moneyViolations: string[] = [];
  private readonly examples: Record<string, string> = {};
  private t0 = 0;

  /** performance.now() at the start of the load (set synchronously by run()). */
  get startTime(): number {
    return this.t0;
  }
  private tEnd = 0;

  constructor(
    private readonly sc: Scenario,
    private readonly api: Api,
    private readonly envelopes: EnvelopeRef[],
    private readonly opts: LoadOptions,
    metrics?: Metrics,
  ) {
    this.metrics = metrics ?? new Metrics();
    this.segs = scheduleOf(sc.executor);
    this.rnd = prng(opts.seed);
    this.pick = mixPicker(sc.mix);
    this.setupEnvelopes = envelopes.filter((e) => e.setup);
    for (const o of GRAB_OUTCOMES) this.metrics.declareCounter(`grab_${o}`);
    for (const c of ['dropped_iterations', 'iterations', 'money_violations', 'grab_won_cents']) this.metrics.declareCounter(c);
  }

  private bucket(t: number): SecondBucket {
    const s = Math.max(0, Math.floor(t / 1000));
    while (this.timeline.length <= s) {
      const i = this.timeline.length;
      const target = this.arrivalsBetween(i * 1000, (i + 1) * 1000);
      this.timeline.push({ t: i, target, started: 0, dropped: 0, late: 0, inflightMax: 0, inflightAtEnd: 0, completed: 0, outcomes: zeroOutcomes(), samples: {}, latency: {}, intended: [] });
    }
    return this.timeline[s];
  }

  private cumulative(t: number): number {
    let n = 0;
    for (const s of this.segs) {
      if (t <= s.t0) break;
      const tau = Math.min(t - s.t0, s.d);
      n = s.n0 + s.r0 * tau + ((s.r1 - s.r0) * tau * tau) / (2 * s.d);
    }
    return n;
  }

  private arrivalsBetween(a: number, b: number): number {
    const cap = this.sc.maxIterations ?? Infinity;
    return Math.max(0, Math.min(cap, this.cumulative(b)) - Math.min(cap, this.cumulative(a)));
  }

  private target(): EnvelopeRef | undefined {
    const list = this.envelopes;
    if (list.length === 0) return undefined;
    if (this.sc.targets.strategy === 'setup') {
      const pool = this.setupEnvelopes.length ? this.setupEnvelopes : list;
      return pool[Math.floor(this.rnd() * pool.length)];
    }
    const w = Math.min(list.length, this.sc.targets.recentWindow ?? 20);
    return list[list.length - 1 - Math.floor(this.rnd() * w)];
  }

  async run(): Promise<LoadResult> {
    const total = totalIterations(this.segs, this.sc.maxIterations);
    const scheduledMs = totalDurationMs(this.segs);
    const startedAt = new Date().toISOString();
    this.t0 = performance.now();
    let k = 0;
    let next = timeOfIteration(this.segs, 0);
    let lastSecond = -1;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    let schedulingDone = false;
    const checkDone = () => {
      if (schedulingDone && this.inflight === 0) resolveDone();
    };

    // one progress line per second, from a timer of its own
    const progress = setInterval(() => {
      const now = performance.now() - this.t0;
      const s = Math.floor(now / 1000) - 1;
      while (lastSecond < s) {
        lastSecond++;
        const b = this.bucket(lastSecond * 1000);
        b.inflightAtEnd = this.inflight;
        this.opts.onSecond?.(b, { outcomes: this.totals, inflight: this.inflight, dropped: this.dropped, late: this.late, rate: rateAt(this.segs, lastSecond * 1000 + 500) });
      }
    }, 1000);

    const tick = () => {
      const now = performance.now() - this.t0;
      while (k < total && next.t <= now) {
        this.start(k, next.t, now);
        k++;
        next = timeOfIteration(this.segs, k, next.seg);
      }
      if (k >= total || next.t === Infinity) {
        schedulingDone = true;
        checkDone();
        return;
      }
      setTimeout(tick, Math.max(0, Math.min(next.t - (performance.now() - this.t0), 100)));
    };
    this.onComplete = checkDone;
    tick();
    await done;
    clearInterval(progress);
    this.tEnd = performance.now();
    // flush the progress of the last partial second
    const lastS = Math.floor((this.tEnd - this.t0) / 1000);
    while (lastSecond < lastS) {
      lastSecond++;
      const b = this.bucket(lastSecond * 1000);
      this.opts.onSecond?.(b, { outcomes: this.totals, inflight: this.inflight, dropped: this.dropped, late: this.late, rate: rateAt(this.segs, lastSecond * 1000 + 500) });
    }
    const durationMs = this.tEnd - this.t0;
    this.metrics.durationSeconds = durationMs / 1000;
    this.finishMoneyChecks();
    for (const b of this.timeline) summarise(b);
    return {
      startedAt,
      durationMs,
      scheduledMs,
      iterationsPlanned: total,
      iterations: this.started,
      dropped: this.dropped,
      late: this.late,
      timeline: this.timeline,
      t0: this.t0,
      tEnd: this.tEnd,
      codes: this.codes,
      wins: this.wins,
      moneyViolations: this.moneyViolations,
      examples: this.examples,
    };
  }

  private onComplete: () => void = () => undefined;

  private start(k: number, due: number, now: number): void {
    const b = this.bucket(due);
    const lag = now - due;
    this.metrics.trend('scheduler_lag', lag);
    if (this.inflight >= this.opts.maxInFlight) {
      this.dropped++;
      b.dropped++;
      this.metrics.counter('dropped_iterations');
      return;
    }
    const isLate = lag > this.opts.lateMs;
    this.metrics.rate('late_starts', isLate);
    if (isLate) {
      this.late++;
      b.late++;
    }
    this.started++;
    b.started++;
    this.metrics.counter('iterations');
    this.inflight++;
    if (this.inflight > b.inflightMax) b.inflightMax = this.inflight;
    const type = this.pick(this.rnd());
    const user = userOf(this.sc, k, this.rnd());
    void this.iteration(type, k, user, due).finally(() => {
      this.inflight--;
      this.onComplete();
    });
  }

  private async iteration(type: RequestType, k: number, user: string, due: number): Promise<void> {
    const timeoutMs = this.opts.timeoutMs;
    switch (type) {
      case 'grab': {
        const env = this.target();
        if (!env) return;
        const r = await this.api.call('POST', `/v1/envelopes/${env.id}/grab`, { user, timeoutMs });
        const outcome = this.record('grab', r, due);
        this.metrics.counter(`grab_${outcome}`);
        this.grabChecks(env, user, r, outcome);
        return;
      }
      case 'send': {
        const spec = this.sc.send;
        if (!spec) return;
        const sender = senderId(this.sc, k);
        const r = await this.api.call('POST', '/v1/envelopes', { user: sender, body: spec, idempotencyKey: `lt-${this.opts.runId}-send-${k}`, timeoutMs });
        const outcome = this.record('send', r, due);
        const b = outcome === 'ok' ? Api.json<{ envelopeId?: string }>(r) : undefined;
        this.check('send: envelopeId', outcome !== 'ok' || typeof b?.envelopeId === 'string', 'send');
        if (b?.envelopeId) this.envelopes.push({ id: b.envelopeId, amount: spec.amount, count: spec.count, sender, setup: false });
        return;
      }
      case 'details': {
        const env = this.target();
        if (!env) return;
        const r = await this.api.call('GET', `/v1/envelopes/${env.id}`, { user, timeoutMs });
        const outcome = this.record('details', r, due);
        if (outcome === 'ok') {
          const b = Api.json<{ remainingCount?: number; grabs?: unknown[]; count?: number }>(r);
          this.check('details: counts add up', !!b && Array.isArray(b.grabs) && b.count === env.count && typeof b.remainingCount === 'number' && b.remainingCount >= 0 && b.grabs.length <= env.count, 'details');
        }
        return;
      }
      case 'wallet': {
        const r = await this.api.call('GET', '/v1/wallet', { user, timeoutMs });
        if (this.record('wallet', r, due) === 'ok') this.check('wallet: balance >= 0', (Api.json<{ balance?: number }>(r)?.balance ?? -1) >= 0, 'wallet');
        return;
      }
      case 'transactions': {
        const r = await this.api.call('GET', '/v1/wallet/transactions?limit=20', { user, timeoutMs });
        if (this.record('transactions', r, due) === 'ok') this.check('transactions: items', Array.isArray(Api.json<{ items?: unknown }>(r)?.items), 'transactions');
        return;
      }
    }
  }

  private check(name: string, pass: boolean, type: string): void {
    this.metrics.rate('checks', pass, { type });
    this.metrics.rate(`check:${name}`, pass);
  }

  private record(type: RequestType, r: ApiResponse, due: number): Outcome {
    const code = r.status ? errorCode(r.text) : r.error;
    const outcome = r.status === 0 ? 'other' : classify(type, r.status, code);
    const tags = { type };
    const intended = r.end - this.t0 - due;
    this.metrics.trend('http_req_duration', r.ms, tags);
    this.metrics.trend('response_time_intended', intended, tags);
    this.metrics.counter('http_reqs', 1, tags);
    this.metrics.rate('http_req_failed', r.status === 0 || !this.sc.expectedStatuses.includes(r.status), tags);
    this.metrics.rate('unexpected_responses', outcome === 'other', tags);
    this.check(`${type}: known outcome`, outcome !== 'other', type);
    const label = r.status === 0 ? `ERR ${r.error}` : `${r.status}${code ? ` ${code}` : ''}`;
    const byType = (this.codes[type] ??= {});
    byType[label] = (byType[label] ?? 0) + 1;
    if (outcome === 'other' && !this.examples[`${type} ${label}`]) this.examples[`${type} ${label}`] = r.text.slice(0, 300) || String(r.error);
    const b = this.bucket(r.end - this.t0);
    b.completed++;
    b.outcomes[outcome]++;
    (b.samples[type] ??= []).push(r.ms);
    b.intended.push(intended);
    this.totals[outcome]++;
    return outcome;
  }

  /** Client-side money checks: what this runner saw must never show an oversell or a double win. */
  private grabChecks(env: EnvelopeRef, user: string, r: ApiResponse, outcome: Outcome): void {
    if (outcome === 'won') {
      const b = Api.json<{ envelopeId?: string; amount?: number }>(r);
      const amount = b?.amount ?? NaN;
      const ok = b?.envelopeId === env.id && Number.isInteger(amount) && amount >= 1 && amount <= env.amount;
      this.check('grab won: amount in 1..envelope amount', ok, 'grab');
      if (ok) this.metrics.counter('grab_won_cents', amount);
      let w = this.wins.get(env.id);
      if (!w) this.wins.set(env.id, (w = new Map()));
      if (w.has(user)) this.violation(`user ${user} won envelope ${env.id} twice (${w.get(user)} and ${amount})`);
      w.set(user, amount);
    } else if (outcome === 'already') {
      const earlier = this.wins.get(env.id)?.get(user);
      const said = Api.json<{ amount?: number }>(r)?.amount;
      if (earlier !== undefined && said !== undefined && said !== earlier) this.violation(`user ${user} on ${env.id}: won ${earlier}, ALREADY_GRABBED says ${said}`);
    }
  }

  private finishMoneyChecks(): void {
    for (const env of this.envelopes) {
      const w = this.wins.get(env.id);
      if (!w) continue;
      let sum = 0;
      for (const a of w.values()) sum += a;
      if (w.size > env.count) this.violation(`envelope ${env.id}: ${w.size} winners for ${env.count} shares`);
      if (sum > env.amount) this.violation(`envelope ${env.id}: ${sum} cents won of ${env.amount}`);
    }
  }

  violation(msg: string): void {
    this.moneyViolations.push(msg);
    this.metrics.counter('money_violations');
  }
}

function summarise(b: SecondBucket): void {
  const all: number[] = [];
  for (const type of [...REQUEST_TYPES]) {
    const s = b.samples[type];
    if (!s || s.length === 0) continue;
    const sorted = Float64Array.from(s).sort();
    b.latency[type] = { n: sorted.length, p50: percentileSorted(sorted, 50), p90: percentileSorted(sorted, 90), p99: percentileSorted(sorted, 99), max: sorted[sorted.length - 1] };
    for (const v of s) all.push(v);
  }
  if (all.length) {
    const sorted = Float64Array.from(all).sort();
    b.latency['all'] = { n: sorted.length, p50: percentileSorted(sorted, 50), p90: percentileSorted(sorted, 90), p99: percentileSorted(sorted, 99), max: sorted[sorted.length - 1] };
  }
  if (b.intended.length) b.intendedP99 = percentileSorted(Float64Array.from(b.intended).sort(), 99);
  b.samples = {};
  b.intended = [];
}

/** p50/p99 of one second's completions so far (for the progress line, before summarise). */
export function liveLatency(b: SecondBucket): { p50: number; p99: number; n: number } {
  const all: number[] = [];
  for (const s of Object.values(b.samples)) for (const v of s) all.push(v);
  if (!all.length) return { p50: NaN, p99: NaN, n: 0 };
  const sorted = Float64Array.from(all).sort();
  return { p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), n: sorted.length };
}
