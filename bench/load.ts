import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import type { CpuMeter, CpuPerRequest } from './cpu';

/** One request to send; undefined from a generator means "no more work" (e.g. shares used up). */
export interface Req {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
}
export type Next = (i: number) => Req | undefined;

export interface LoadStats {
  /** completions per second inside the measured window */
  rps: number;
  /** completions counted (inside the window) */
  n: number;
  /** seconds of the measured window */
  seconds: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  /** performance.now() of the last completion */
  lastEnd: number;
  /** requests that got no HTTP answer */
  errors: number;
  /** statuses of every completion, warm-up included (0: no answer) */
  all: Record<string, number>;
  /** CPU per request by process inside the window, when a meter was given */
  cpu?: CpuPerRequest;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function pool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 });
}

/**
 * Closed loop at saturation: `connections` keep-alive connections, each sending its next request as
 * soon as the previous answer arrives. Completions in the first `warmupMs` are not counted. Stops at
 * `durationMs` after warm-up, or earlier when `next` runs out of work (the window then ends at the last answer).
 */
export async function saturate(
  origin: string | string[],
  next: Next,
  o: { connections: number; warmupMs: number; durationMs: number; count?: (status: number) => boolean; meter?: CpuMeter },
): Promise<LoadStats> {
  // Several origins (gateway replicas): the connections are split evenly between them.
  const origins = typeof origin === 'string' ? [origin] : origin;
  const pools = origins.map((u) => pool(u, Math.ceil(o.connections / origins.length)));
  const count = o.count ?? (() => true);
  const t0 = performance.now();
  const wStart = t0 + o.warmupMs;
  const wEnd = wStart + o.durationMs;
  let i = 0;
  let n = 0;
  let errors = 0;
  let lastEnd = t0;
  let exhausted = false;
  const statuses: Record<string, number> = {};
  const all: Record<string, number> = {};
  const lat: number[] = [];
  const meterTimers = o.meter ? [setTimeout(() => o.meter!.begin(), o.warmupMs), setTimeout(() => o.meter!.finish(), o.warmupMs + o.durationMs)] : [];
  const worker = async (_: unknown, w: number) => {
    const p = pools[w % pools.length];
    for (;;) {
      if (performance.now() >= wEnd || exhausted) return;
      const r = next(i++);
      if (!r) {
        exhausted = true;
        return;
      }
      const s = performance.now();
      let status = 0;
      try {
        const res = await p.request({ method: r.method, path: r.path, headers: r.headers });
        await res.body.dump();
        status = res.statusCode;
      } catch {
        errors++;
      }
      const e = performance.now();
      lastEnd = e;
      all[status] = (all[status] ?? 0) + 1;
      if (e >= wStart && e <= wEnd) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status && count(status)) n++;
        lat.push(e - s);
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  // Shares ran out before the window ended: the meter stops now, with the last request.
  if (o.meter && performance.now() < wEnd) {
    meterTimers.forEach(clearTimeout);
    if (performance.now() >= wStart) o.meter.finish();
  }
  await Promise.all(pools.map((p) => p.close()));
  const seconds = (Math.min(wEnd, lastEnd) - wStart) / 1000;
  lat.sort((a, b) => a - b);
  const cpu = o.meter?.perRequest(Object.values(statuses).reduce((a, b) => a + b, 0));
  return { rps: seconds > 0 ? n / seconds : 0, n, seconds, statuses, p50: pct(lat, 50), p99: pct(lat, 99), lastEnd, errors, all, ...(cpu ? { cpu } : {}) };
}

export type OpenLoopOptions = { rate: number; warmupMs: number; durationMs: number; maxInFlight: number };
export type OpenLoopStats = LoadStats & { dropped: number; sent: number; generatorLoopDelay: { p99Ms: number; maxMs: number } };

/**
 * Open loop at a constant rate, in a worker thread: the requests are built here first (as many as
 * the run can send), then a worker with its own heap and event loop sends them (see
 * {@link openLoop}), so the orchestrating process's heap and timers cannot stall the schedule
 * (a stall of the generator is counted as latency).
 */
export async function constantRate(origin: string, next: Next, o: OpenLoopOptions): Promise<OpenLoopStats> {
  const total = Math.floor(((o.warmupMs + o.durationMs) / 1000) * o.rate);
  const reqs: Req[] = [];
  for (let k = 0; k < total; k++) {
    const r = next(k);
    if (!r) break;
    reqs.push(r);
  }
  const worker = new Worker(join(__dirname, 'open-loop.worker.cjs'), { workerData: { origin, reqs, o } });
  try {
    return await new Promise<OpenLoopStats>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`open-loop worker exited with ${code}`)));
    });
  } finally {
    await worker.terminate();
  }
}

/**
 * Open loop at a constant rate: request k is scheduled at t0 + k/rate whatever the latency (up to
 * `maxInFlight` outstanding), and its latency is measured from its scheduled time (no coordinated omission).
 */
export async function openLoop(origin: string, next: Next, o: OpenLoopOptions): Promise<OpenLoopStats> {
  const p = pool(origin, Math.min(o.maxInFlight, 512));
  // The generator's own event-loop delay inside the window: a stall here is counted as the
  // system's latency too (latency runs from the scheduled start), so it is reported beside it.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const loopTimer = setTimeout(() => (loop.reset(), loop.enable()), o.warmupMs);
  const t0 = performance.now();
  const total = Math.floor(((o.warmupMs + o.durationMs) / 1000) * o.rate);
  const wStart = t0 + o.warmupMs;
  let k = 0;
  let inflight = 0;
  let n = 0;
  let errors = 0;
  let dropped = 0;
  let lastEnd = t0;
  const statuses: Record<string, number> = {};
  const all: Record<string, number> = {};
  const lat: number[] = [];
  const fire = async (sched: number, r: Req) => {
    inflight++;
    let status = 0;
    try {
      const res = await p.request({ method: r.method, path: r.path, headers: r.headers });
      await res.body.dump();
      status = res.statusCode;
    } catch {
      errors++;
    }
    inflight--;
    all[status] = (all[status] ?? 0) + 1;
    const e = performance.now();
    lastEnd = e;
    if (sched >= wStart) {
      statuses[status] = (statuses[status] ?? 0) + 1;
      n++;
      lat.push(e - sched);
    }
  };
  let out = false;
  while (k < total && !out) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * o.rate) + 1);
    while (k < due) {
      const sched = t0 + (k / o.rate) * 1000;
      if (inflight >= o.maxInFlight) {
        if (sched >= wStart) dropped++;
        k++;
        continue;
      }
      const r = next(k);
      if (!r) {
        out = true;
        break;
      }
      k++;
      // Not kept: holding every request's promise for the whole run grows the generator's heap
      // (and its GC pauses, which would count as the system's latency). fire() never rejects.
      void fire(sched, r);
    }
    await new Promise((res) => setImmediate(res));
    if (performance.now() - now < 0.5) await new Promise((res) => setTimeout(res, 1));
  }
  while (inflight > 0) await new Promise((res) => setTimeout(res, 2));
  clearTimeout(loopTimer);
  loop.disable();
  const generatorLoopDelay = { p99Ms: loop.count ? loop.percentile(99) / 1e6 : NaN, maxMs: loop.count ? loop.max / 1e6 : NaN };
  await p.close();
  lat.sort((a, b) => a - b);
  const seconds = (lastEnd - wStart) / 1000;
  return { rps: seconds > 0 ? n / seconds : 0, n, seconds, statuses, p50: pct(lat, 50), p99: pct(lat, 99), lastEnd, errors, all, dropped, sent: k, generatorLoopDelay };
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
