/**
 * The scenario model shared by the k6 scripts (loadtest/k6) and the k6-free runner
 * (loadtest/runner). Pure TypeScript: no Node and no k6 imports, so both runtimes load it.
 *
 * A scenario is one JSON file in loadtest/scenarios/. Its `executor` is a k6 arrival-rate
 * executor, its `thresholds` are k6 threshold expressions; the runner reads the same data
 * and evaluates the same expressions. See loadtest/README.md for every field.
 */

export type RequestType = 'grab' | 'send' | 'details' | 'wallet' | 'transactions';
export const REQUEST_TYPES: RequestType[] = ['grab', 'send', 'details', 'wallet', 'transactions'];

/** What one response meant. `won` is a winning grab; `ok` any other success. */
export type Outcome = 'won' | 'ok' | 'already' | 'sold_out' | 'expired' | 'rate_limited' | 'overloaded' | 'other';
export const OUTCOMES: Outcome[] = ['won', 'ok', 'already', 'sold_out', 'expired', 'rate_limited', 'overloaded', 'other'];
/** The grab outcomes that get their own k6 Counter (`grab_<outcome>`). */
export const GRAB_OUTCOMES: Outcome[] = ['won', 'already', 'sold_out', 'expired', 'rate_limited', 'overloaded', 'other'];

export interface Stage {
  duration: string;
  target: number;
}

export interface RampingArrivalRate {
  type: 'ramping-arrival-rate';
  startRate: number;
  timeUnit?: string;
  stages: Stage[];
  preAllocatedVUs: number;
  maxVUs: number;
}

export interface ConstantArrivalRate {
  type: 'constant-arrival-rate';
  rate: number;
  timeUnit?: string;
  duration: string;
  preAllocatedVUs: number;
  maxVUs: number;
}

export type Executor = RampingArrivalRate | ConstantArrivalRate;

export interface EnvelopeSpec {
  amount: number;
  count: number;
  mode: 'random' | 'equal';
  ttlSeconds?: number;
  greeting?: string;
}

export interface IdRange {
  /** first user id (decimal, fits in a JS number) */
  first: number;
  count: number;
}

export interface Scenario {
  name: string;
  description: string;
  executor: Executor;
  /** stop starting iterations after this many (flash: the 50,000 would-be grabbers) */
  maxIterations?: number;
  /** the grabbers / readers; `pick: "sequential"` gives iteration i the user first+i (one try each) */
  users: IdRange & { pick: 'random' | 'sequential' };
  setup: {
    /** users who top up and send the setup envelopes (and the steady sends) */
    senders: IdRange;
    topupPerSender: number;
    /** envelopes created before the load starts, round-robin over the senders */
    envelopes: EnvelopeSpec & { total: number };
    timeout?: string;
  };
  /** relative weights of the request types of one iteration */
  mix: Partial<Record<RequestType, number>>;
  /** what a `send` iteration sends (required when mix.send > 0) */
  send?: EnvelopeSpec;
  /**
   * which envelopes grabs and detail reads go to: "setup" (a random setup envelope), "recent"
   * (a random one of the `recentWindow` newest, sends included)
   */
  targets: { strategy: 'setup' | 'recent'; recentWindow?: number };
  /** statuses that do not count in http_req_failed (k6 http.expectedStatuses) */
  expectedStatuses: number[];
  requestTimeout: string;
  settle: {
    /** how long to wait after the load for the audit's pending count to reach 0 */
    timeout: string;
    /** audit polling interval while draining */
    poll: string;
    /** audit polling interval during the load (runner only; "0s" = not during the load) */
    pollDuringLoad?: string;
  };
  /** k6 threshold expressions, evaluated by k6 and by the runner alike */
  thresholds: Record<string, string[]>;
  /** extra thresholds only the runner can measure (late starts, client-side money checks) */
  runnerThresholds?: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------
// durations

/** Parses a k6 duration ("1m30s", "500ms", "2h", "10s", or a bare number of seconds) to ms. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    consumed += m[0].length;
  }
  if (consumed !== s.length || consumed === 0) throw new Error(`bad duration "${value}" (use e.g. 500ms, 10s, 1m30s)`);
  return total;
}

/** Formats ms as a k6 duration string ("1m5s", "250ms"). */
export function formatDuration(ms: number): string {
  ms = Math.round(ms);
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

// ---------------------------------------------------------------------------------------
// loading, validation, scaling

function fail(name: string, msg: string): never {
  throw new Error(`scenario ${name}: ${msg}`);
}

function isIntIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

function checkEnvelope(name: string, where: string, e: EnvelopeSpec | undefined): void {
  if (!e) fail(name, `${where} is required`);
  if (!isIntIn(e.count, 1, 10_000)) fail(name, `${where}.count must be 1..10000`);
  if (!isIntIn(e.amount, e.count, 1e12)) fail(name, `${where}.amount must be an integer >= count`);
  if (e.mode !== 'random' && e.mode !== 'equal') fail(name, `${where}.mode must be random or equal`);
  if (e.mode === 'equal' && e.amount % e.count !== 0) fail(name, `${where}: equal mode needs amount % count == 0`);
  if (e.ttlSeconds !== undefined && !isIntIn(e.ttlSeconds, 1, 86_400)) fail(name, `${where}.ttlSeconds must be 1..86400`);
}

/** Validates a parsed scenario JSON, fills defaults and returns it typed. Throws a readable error. */
export function loadScenario(raw: unknown): Scenario {
  const s = raw as Scenario;
  const name = s && typeof s.name === 'string' ? s.name : '?';
  if (!s || typeof s !== 'object') fail(name, 'not an object');
  const ex = s.executor;
  if (!ex) fail(name, 'executor is required');
  if (ex.type === 'ramping-arrival-rate') {
    if (!(ex.startRate >= 0)) fail(name, 'executor.startRate must be >= 0');
    if (!Array.isArray(ex.stages) || ex.stages.length === 0) fail(name, 'executor.stages must be a non-empty list');
    for (const st of ex.stages) {
      parseDuration(st.duration);
      if (!(st.target >= 0)) fail(name, 'every stage needs target >= 0');
    }
  } else if (ex.type === 'constant-arrival-rate') {
    if (!(ex.rate > 0)) fail(name, 'executor.rate must be > 0');
    parseDuration(ex.duration);
  } else fail(name, `executor.type must be ramping-arrival-rate or constant-arrival-rate`);
  if (!isIntIn(ex.maxVUs, 1, 1_000_000) || !isIntIn(ex.preAllocatedVUs, 1, ex.maxVUs)) fail(name, 'executor needs 1 <= preAllocatedVUs <= maxVUs');
  parseDuration(ex.timeUnit ?? '1s');
  if (!s.users || !isIntIn(s.users.first, 1, Number.MAX_SAFE_INTEGER) || !isIntIn(s.users.count, 1, 1e9)) fail(name, 'users needs first and count');
  if (s.users.pick !== 'random' && s.users.pick !== 'sequential') fail(name, 'users.pick must be random or sequential');
  if (s.users.pick === 'sequential' && !s.maxIterations) fail(name, 'users.pick sequential needs maxIterations');
  if (s.maxIterations !== undefined && s.users.pick === 'sequential' && s.maxIterations > s.users.count) fail(name, 'maxIterations exceeds users.count');
  if (!s.setup || !s.setup.senders || !isIntIn(s.setup.senders.count, 1, 1e6)) fail(name, 'setup.senders needs first and count');
  checkEnvelope(name, 'setup.envelopes', s.setup.envelopes);
  if (!isIntIn(s.setup.envelopes.total, 0, 100_000)) fail(name, 'setup.envelopes.total must be >= 0');
  const perSender = Math.ceil(s.setup.envelopes.total / s.setup.senders.count) * s.setup.envelopes.amount;
  if (!isIntIn(s.setup.topupPerSender, 1, 1e12)) fail(name, 'setup.topupPerSender must be a positive integer');
  if (perSender > s.setup.topupPerSender) fail(name, `setup.topupPerSender (${s.setup.topupPerSender}) is less than what a sender sends in setup (${perSender})`);
  const weights = REQUEST_TYPES.map((t) => s.mix?.[t] ?? 0);
  if (weights.some((w) => !(w >= 0)) || weights.every((w) => w === 0)) fail(name, 'mix needs non-negative weights, at least one > 0');
  for (const k of Object.keys(s.mix)) if (!REQUEST_TYPES.includes(k as RequestType)) fail(name, `mix.${k} is not a request type (${REQUEST_TYPES.join(', ')})`);
  if ((s.mix.send ?? 0) > 0) checkEnvelope(name, 'send', s.send);
  if ((s.mix.grab ?? 0) + (s.mix.details ?? 0) > 0 && s.setup.envelopes.total === 0 && (s.mix.send ?? 0) === 0) fail(name, 'grabs need envelopes: setup.envelopes.total or sends');
  s.targets = s.targets ?? { strategy: 'setup' };
  if (s.targets.strategy !== 'setup' && s.targets.strategy !== 'recent') fail(name, 'targets.strategy must be setup or recent');
  s.expectedStatuses = s.expectedStatuses ?? [200, 201, 409, 410];
  s.requestTimeout = s.requestTimeout ?? '30s';
  parseDuration(s.requestTimeout);
  s.settle = s.settle ?? { timeout: '120s', poll: '1s' };
  parseDuration(s.settle.timeout);
  parseDuration(s.settle.poll);
  if (s.settle.pollDuringLoad !== undefined) parseDuration(s.settle.pollDuringLoad);
  s.thresholds = s.thresholds ?? {};
  for (const [metric, exprs] of Object.entries({ ...s.thresholds, ...(s.runnerThresholds ?? {}) })) {
    if (!Array.isArray(exprs)) fail(name, `thresholds.${metric} must be a list of expressions`);
    parseMetricSelector(metric);
    for (const e of exprs) parseThresholdExpression(e);
  }
  return s;
}

/**
 * Multiplies every arrival rate by `rateScale` and every stage duration by `timeScale`
 * (RATE_SCALE / TIME_SCALE in k6, --rate-scale / --time-scale in the runner), so one JSON
 * serves a laptop and a cluster. VU limits scale with the rate.
 */
export function scaleScenario(s: Scenario, rateScale = 1, timeScale = 1): Scenario {
  if (!(rateScale > 0) || !(timeScale > 0)) throw new Error('rate and time scales must be > 0');
  if (rateScale === 1 && timeScale === 1) return s;
  const out: Scenario = JSON.parse(JSON.stringify(s));
  const ex = out.executor;
  const vus = (n: number) => Math.max(1, Math.ceil(n * rateScale));
  ex.preAllocatedVUs = vus(ex.preAllocatedVUs);
  ex.maxVUs = Math.max(ex.preAllocatedVUs, vus(ex.maxVUs));
  if (ex.type === 'ramping-arrival-rate') {
    ex.startRate = ex.startRate * rateScale;
    ex.stages = ex.stages.map((st) => ({ duration: formatDuration(parseDuration(st.duration) * timeScale), target: st.target * rateScale }));
  } else {
    ex.rate = ex.rate * rateScale;
    ex.duration = formatDuration(parseDuration(ex.duration) * timeScale);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// the arrival schedule (the same shape k6's executors follow)

export interface Segment {
  /** start, ms from load start */
  t0: number;
  /** length, ms */
  d: number;
  /** rate at start and end, iterations per ms */
  r0: number;
  r1: number;
  /** iterations due before this segment */
  n0: number;
}

/** Piecewise-linear arrival rate: ramping-arrival-rate ramps linearly from the previous target to each stage's target. */
export function scheduleOf(ex: Executor): Segment[] {
  const unit = parseDuration(ex.timeUnit ?? '1s');
  const segs: Segment[] = [];
  let t = 0;
  let n = 0;
  const push = (d: number, a: number, b: number) => {
    const seg = { t0: t, d, r0: a / unit, r1: b / unit, n0: n };
    segs.push(seg);
    t += d;
    n += ((seg.r0 + seg.r1) / 2) * d;
  };
  if (ex.type === 'constant-arrival-rate') push(parseDuration(ex.duration), ex.rate, ex.rate);
  else {
    let prev = ex.startRate;
    for (const st of ex.stages) {
      push(parseDuration(st.duration), prev, st.target);
      prev = st.target;
    }
  }
  return segs;
}

export function totalDurationMs(segs: Segment[]): number {
  const last = segs[segs.length - 1];
  return last ? last.t0 + last.d : 0;
}

/** Iterations due in [0, end of schedule). */
export function totalIterations(segs: Segment[], maxIterations?: number): number {
  const last = segs[segs.length - 1];
  const n = last ? Math.floor(last.n0 + ((last.r0 + last.r1) / 2) * last.d + 1e-9) : 0;
  return maxIterations !== undefined ? Math.min(n, maxIterations) : n;
}

/** Target rate (per second) at time t ms. */
export function rateAt(segs: Segment[], t: number): number {
  for (const s of segs) if (t >= s.t0 && t < s.t0 + s.d) return (s.r0 + ((s.r1 - s.r0) * (t - s.t0)) / s.d) * 1000;
  return 0;
}

/**
 * When iteration k (0-based) is due, in ms from load start: the time at which the cumulative
 * arrivals reach k. Returns Infinity past the end of the schedule. Within a segment the
 * cumulative count is n0 + r0·τ + (r1−r0)·τ²/(2d); solved in the cancellation-free form.
 */
export function timeOfIteration(segs: Segment[], k: number, fromSeg = 0): { t: number; seg: number } {
  for (let i = fromSeg; i < segs.length; i++) {
    const s = segs[i];
    const nEnd = s.n0 + ((s.r0 + s.r1) / 2) * s.d;
    if (k >= nEnd) continue;
    const delta = k - s.n0;
    if (delta <= 0) return { t: s.t0, seg: i };
    const a = (s.r1 - s.r0) / (2 * s.d);
    const b = s.r0;
    const disc = Math.max(0, b * b + 4 * a * delta);
    const denom = b + Math.sqrt(disc);
    if (denom <= 0) continue;
    return { t: s.t0 + Math.min(s.d, (2 * delta) / denom), seg: i };
  }
  return { t: Infinity, seg: segs.length };
}

// ---------------------------------------------------------------------------------------
// the k6 side of the executor

/** The k6 `options.scenarios` entry for a scenario (exec defaults to the default function). */
export function k6ScenarioOptions(s: Scenario): Record<string, unknown> {
  const ex = s.executor;
  const common = { executor: ex.type, timeUnit: ex.timeUnit ?? '1s', preAllocatedVUs: ex.preAllocatedVUs, maxVUs: ex.maxVUs, gracefulStop: s.requestTimeout };
  if (ex.type === 'constant-arrival-rate') return { ...common, rate: Math.max(1, Math.round(ex.rate)), duration: ex.duration };
  return { ...common, startRate: Math.round(ex.startRate), stages: ex.stages.map((st) => ({ duration: st.duration, target: Math.round(st.target) })) };
}

// ---------------------------------------------------------------------------------------
// the iteration: which request, which user, which envelope

/** A seedable PRNG (mulberry32) so a runner's mix can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns a picker of request types by the mix's weights, given a uniform [0,1) source. */
export function mixPicker(mix: Partial<Record<RequestType, number>>): (u: number) => RequestType {
  const types = REQUEST_TYPES.filter((t) => (mix[t] ?? 0) > 0);
  const total = types.reduce((a, t) => a + (mix[t] ?? 0), 0);
  const cum: number[] = [];
  let acc = 0;
  for (const t of types) cum.push((acc += (mix[t] ?? 0) / total));
  return (u: number) => {
    for (let i = 0; i < types.length; i++) if (u < cum[i]) return types[i];
    return types[types.length - 1];
  };
}

/** The user of iteration `iter`: sequential (one per iteration) or uniformly random from the pool. */
export function userOf(s: Scenario, iter: number, u: number): string {
  const off = s.users.pick === 'sequential' ? iter % s.users.count : Math.floor(u * s.users.count);
  return String(s.users.first + off);
}

export function senderId(s: Scenario, i: number): string {
  return String(s.setup.senders.first + (i % s.setup.senders.count));
}

// ---------------------------------------------------------------------------------------
// outcomes

/**
 * What a response means. 429/503 of load shedding, rate limiting and degradation are their
 * own outcomes (never money errors); anything the API contract does not list for the request
 * type (5xx, 404 on a known envelope, 400, timeouts) is `other`.
 */
export function classify(type: RequestType, status: number, code: string | undefined): Outcome {
  if (status === 429) return 'rate_limited';
  if (status === 503 && (code === 'OVERLOADED' || code === 'DEGRADED')) return 'overloaded';
  if (type === 'grab') {
    if (status === 200) return 'won';
    if (status === 409 && code === 'ENVELOPE.ALREADY_GRABBED') return 'already';
    if (status === 410 && code === 'ENVELOPE.SOLD_OUT') return 'sold_out';
    if (status === 410 && code === 'ENVELOPE.EXPIRED') return 'expired';
    return 'other';
  }
  if (type === 'send') return status === 201 ? 'ok' : 'other';
  return status === 200 ? 'ok' : 'other';
}

/** The body's `code` of an error response, if it is JSON with one. */
export function errorCode(body: string | null | undefined): string | undefined {
  if (!body || body.charCodeAt(0) !== 123 /* { */) return undefined;
  const m = /"code"\s*:\s*"([^"]{1,80})"/.exec(body);
  return m ? m[1] : undefined;
}

// ---------------------------------------------------------------------------------------
// thresholds (k6 syntax)

export interface MetricSelector {
  name: string;
  tags: Record<string, string>;
}

/** `http_req_duration{type:grab}` → {name, tags}. */
export function parseMetricSelector(key: string): MetricSelector {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\{([^}]*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`bad threshold metric "${key}"`);
  const tags: Record<string, string> = {};
  if (m[2]) {
    for (const part of m[2].split(',')) {
      const i = part.indexOf(':');
      if (i <= 0) throw new Error(`bad tag "${part}" in "${key}"`);
      tags[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    }
  }
  return { name: m[1], tags };
}

export interface ThresholdExpression {
  /** avg, min, max, med, count, rate, value, or p(N) */
  agg: string;
  percentile?: number;
  op: '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';
  value: number;
}

export function parseThresholdExpression(expr: string): ThresholdExpression {
  const m = /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expr);
  if (!m) throw new Error(`bad threshold expression "${expr}"`);
  return { agg: m[2] !== undefined ? 'p' : m[1], percentile: m[2] !== undefined ? Number(m[2]) : undefined, op: m[3] as ThresholdExpression['op'], value: Number(m[4]) };
}

export function compare(actual: number, op: ThresholdExpression['op'], value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
    case '===':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

/** Percentile of an ascending-sorted array, linear between closest ranks (as k6 does). */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0];
  const pos = (p / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
