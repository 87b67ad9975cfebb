import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classify,
  errorCode,
  formatDuration,
  k6ScenarioOptions,
  loadScenario,
  mixPicker,
  parseDuration,
  parseMetricSelector,
  parseThresholdExpression,
  percentileSorted,
  rateAt,
  scaleScenario,
  scheduleOf,
  timeOfIteration,
  totalDurationMs,
  totalIterations,
  userOf,
} from './scenario.ts';
import type { Executor, Scenario } from './scenario.ts';

const dir = join(__dirname, '..', 'scenarios');
const read = (name: string): Scenario => loadScenario(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')));

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['3', 3000],
  ])('%s = %d ms', (s, ms) => expect(parseDuration(s)).toBe(ms));

  it('rejects junk', () => {
    expect(() => parseDuration('10 seconds')).toThrow(/bad duration/);
    expect(() => parseDuration('')).toThrow();
  });

  it('formats round trips', () => {
    for (const ms of [250, 1000, 61_000, 3_600_000, 3_661_000, 1500]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('arrival schedule (the curve k6 arrival-rate executors follow)', () => {
  const constant: Executor = { type: 'constant-arrival-rate', rate: 10, duration: '30s', preAllocatedVUs: 1, maxVUs: 1 };
  const ramp: Executor = { type: 'ramping-arrival-rate', startRate: 0, preAllocatedVUs: 1, maxVUs: 1, stages: [{ duration: '10s', target: 100 }, { duration: '10s', target: 100 }, { duration: '10s', target: 0 }] };

  it('constant: one iteration every 1/rate', () => {
    const s = scheduleOf(constant);
    expect(totalIterations(s)).toBe(300);
    expect(totalDurationMs(s)).toBe(30_000);
    for (const k of [0, 1, 10, 299]) expect(timeOfIteration(s, k).t).toBeCloseTo(k * 100, 6);
    expect(timeOfIteration(s, 300).t).toBe(Infinity);
  });

  it('ramping: linear ramps integrate to the right counts and times', () => {
    const s = scheduleOf(ramp);
    // 0 -> 100/s over 10 s: 500; hold: 1000; 100 -> 0 over 10 s: 500
    expect(totalIterations(s)).toBe(2000);
    // up-ramp: N(t) = 5 t^2 (t in s), so iteration k is due at sqrt(k / 5) s
    for (const k of [1, 20, 125, 499]) expect(timeOfIteration(s, k).t).toBeCloseTo(Math.sqrt(k / 5) * 1000, 3);
    // hold: 100/s from 10 s on
    expect(timeOfIteration(s, 500).t).toBeCloseTo(10_000, 3);
    expect(timeOfIteration(s, 1000).t).toBeCloseTo(15_000, 3);
    // down-ramp: N(20 + u) = 1500 + 100u - 5u^2
    expect(timeOfIteration(s, 1500).t).toBeCloseTo(20_000, 3);
    expect(timeOfIteration(s, 1955).t).toBeCloseTo(27_000, 3);
    expect(rateAt(s, 5000)).toBeCloseTo(50, 6);
    expect(rateAt(s, 25_000)).toBeCloseTo(50, 6);
  });

  it('times are non-decreasing and resumable from a segment hint', () => {
    const s = scheduleOf(ramp);
    let prev = -1;
    let seg = 0;
    for (let k = 0; k < 2000; k++) {
      const r = timeOfIteration(s, k, seg);
      expect(r.t).toBeGreaterThanOrEqual(prev);
      expect(r.t).toBeCloseTo(timeOfIteration(s, k).t, 6);
      prev = r.t;
      seg = r.seg;
    }
  });

  it('maxIterations caps the total', () => {
    expect(totalIterations(scheduleOf(ramp), 700)).toBe(700);
  });
});

describe('the scenario files', () => {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));

  it('are the four of the issue', () => expect(names.sort()).toEqual(['flash', 'smoke', 'spike', 'steady']));

  it.each(names)('%s loads, and its k6 options and thresholds are well formed', (name) => {
    const sc = read(name);
    expect(sc.name).toBe(name);
    const k6 = k6ScenarioOptions(sc);
    expect(k6['executor']).toBe(sc.executor.type);
    for (const [metric, exprs] of Object.entries(sc.thresholds)) {
      parseMetricSelector(metric);
      for (const e of exprs) parseThresholdExpression(e);
    }
    expect(Object.keys(sc.thresholds)).toEqual(expect.arrayContaining(['http_req_failed', 'checks', 'dropped_iterations', 'audit_ok']));
    expect(Object.keys(sc.thresholds).some((k) => k.startsWith('http_req_duration{type:grab}'))).toBe(true);
  });

  it('flash is one envelope of 10,000 shares and 50,000 distinct grabbers', () => {
    const sc = read('flash');
    expect(sc.setup.envelopes).toMatchObject({ total: 1, count: 10_000 });
    expect(sc.maxIterations).toBe(50_000);
    expect(sc.users.pick).toBe('sequential');
    expect(totalIterations(scheduleOf(sc.executor), sc.maxIterations)).toBe(50_000);
    expect(new Set(Array.from({ length: 50_000 }, (_, i) => userOf(sc, i, 0.5))).size).toBe(50_000);
  });

  it('spike ramps from a base to a burst and back', () => {
    const ex = read('spike').executor;
    expect(ex.type).toBe('ramping-arrival-rate');
    if (ex.type !== 'ramping-arrival-rate') return;
    const targets = ex.stages.map((s) => s.target);
    expect(Math.max(...targets)).toBeGreaterThan(5 * ex.startRate);
    expect(targets[targets.length - 1]).toBe(ex.startRate);
  });

  it('steady mixes every request type', () => {
    const sc = read('steady');
    for (const t of ['grab', 'send', 'details', 'wallet', 'transactions'] as const) expect(sc.mix[t]).toBeGreaterThan(0);
  });

  it('scaling multiplies rates and durations, not the shape', () => {
    const sc = scaleScenario(read('spike'), 2, 0.5);
    const base = read('spike');
    expect(totalIterations(scheduleOf(sc.executor))).toBe(totalIterations(scheduleOf(base.executor)));
    expect(totalDurationMs(scheduleOf(sc.executor))).toBe(totalDurationMs(scheduleOf(base.executor)) / 2);
    expect(sc.executor.maxVUs).toBe(base.executor.maxVUs * 2);
  });

  it('rejects a scenario whose senders cannot pay for the setup envelopes', () => {
    const raw = JSON.parse(readFileSync(join(dir, 'flash.json'), 'utf8'));
    raw.setup.topupPerSender = 10;
    expect(() => loadScenario(raw)).toThrow(/topupPerSender/);
  });
});

describe('outcomes', () => {
  it.each([
    ['grab', 200, undefined, 'won'],
    ['grab', 409, 'ENVELOPE.ALREADY_GRABBED', 'already'],
    ['grab', 410, 'ENVELOPE.SOLD_OUT', 'sold_out'],
    ['grab', 410, 'ENVELOPE.EXPIRED', 'expired'],
    ['grab', 404, 'ENVELOPE.NOT_FOUND', 'other'],
    ['grab', 429, 'RATE_LIMITED', 'rate_limited'],
    ['grab', 503, 'OVERLOADED', 'overloaded'],
    ['details', 503, 'DEGRADED', 'overloaded'],
    ['grab', 503, 'DEPENDENCY.TIMEOUT', 'other'],
    ['grab', 500, 'INTERNAL', 'other'],
    ['send', 201, undefined, 'ok'],
    ['send', 422, 'WALLET.INSUFFICIENT_FUNDS', 'other'],
    ['wallet', 200, undefined, 'ok'],
  ] as const)('%s %d %s -> %s', (type, status, code, outcome) => expect(classify(type, status, code)).toBe(outcome));

  it('reads the code of an error body', () => {
    expect(errorCode('{"code":"ENVELOPE.SOLD_OUT","message":"x","correlationId":"y"}')).toBe('ENVELOPE.SOLD_OUT');
    expect(errorCode('not json')).toBeUndefined();
    expect(errorCode('')).toBeUndefined();
  });
});

describe('thresholds and percentiles', () => {
  it('parses k6 expressions', () => {
    expect(parseThresholdExpression('p(99.9)<250')).toEqual({ agg: 'p', percentile: 99.9, op: '<', value: 250 });
    expect(parseThresholdExpression('rate==1')).toEqual({ agg: 'rate', percentile: undefined, op: '==', value: 1 });
    expect(parseThresholdExpression(' count >= 10000 ')).toMatchObject({ agg: 'count', op: '>=', value: 10000 });
    expect(() => parseThresholdExpression('p99<5')).toThrow();
    expect(parseMetricSelector('http_req_duration{type:grab}')).toEqual({ name: 'http_req_duration', tags: { type: 'grab' } });
  });

  it('percentiles interpolate between ranks', () => {
    const a = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(percentileSorted(a, 50)).toBeCloseTo(5.5);
    expect(percentileSorted(a, 0)).toBe(1);
    expect(percentileSorted(a, 100)).toBe(10);
    expect(percentileSorted(a, 90)).toBeCloseTo(9.1);
  });

  it('the mix picker follows the weights', () => {
    const pick = mixPicker({ grab: 3, wallet: 1 });
    expect(pick(0)).toBe('grab');
    expect(pick(0.74)).toBe('grab');
    expect(pick(0.76)).toBe('wallet');
    expect(pick(0.999)).toBe('wallet');
  });
});
