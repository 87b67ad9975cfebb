#!/usr/bin/env node
/**
 * NOT k6. A dry-run harness for machines without k6 (like this repo's CI): loads one of the
 * k6 scripts in Node with a minimal, synchronous stand-in for the k6 modules it uses
 * (k6, k6/http, k6/metrics, k6/execution, k6/crypto, k6/encoding, open, __ENV), then runs
 * setup(), a number of iterations one after another, and teardown() against a live gateway,
 * and prints the metrics and checks. It proves the scripts' own logic (tokens, requests,
 * outcome counting, setup and teardown) against the real API; it measures nothing and knows
 * nothing of k6's executors. With k6 installed, use `k6 run` instead.
 *
 *   node loadtest/k6/shim/dry-run.cjs loadtest/k6/smoke.ts [--iterations 100]
 *   (BASE_URL and JWT_SECRET as for k6)
 */
const { createHmac } = require('node:crypto');
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join, resolve } = require('node:path');
const { Worker } = require('node:worker_threads');

const args = process.argv.slice(2);
const script = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--iterations');
const iterations = Number(args.includes('--iterations') ? args[args.indexOf('--iterations') + 1] : 50);
if (!script) {
  console.error('usage: node loadtest/k6/shim/dry-run.cjs loadtest/k6/<scenario>.ts [--iterations N]');
  process.exit(2);
}
const scriptPath = resolve(script);
const root = resolve(__dirname, '../../..');

// --- synchronous HTTP: a worker does the fetch, the main thread waits on a SharedArrayBuffer ---
const SIZE = 32 * 1024 * 1024;
const shared = new SharedArrayBuffer(SIZE + 8);
const flag = new Int32Array(shared, 0, 2);
const worker = new Worker(
  `
  const { parentPort, workerData } = require('node:worker_threads');
  const flag = new Int32Array(workerData, 0, 2);
  const bytes = new Uint8Array(workerData, 8);
  parentPort.on('message', async (req) => {
    let out;
    const start = performance.now();
    try {
      const r = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body ?? undefined, signal: AbortSignal.timeout(req.timeoutMs) });
      const body = await r.text();
      out = { status: r.status, body, headers: Object.fromEntries(r.headers), ms: performance.now() - start };
    } catch (e) {
      out = { status: 0, body: null, error: String(e && e.message || e), ms: performance.now() - start };
    }
    const enc = new TextEncoder().encode(JSON.stringify(out)).slice(0, bytes.length);
    bytes.set(enc);
    flag[1] = enc.length;
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });`,
  { eval: true, workerData: shared },
);
worker.unref();

function parseDurationMs(v) {
  if (typeof v === 'number') return v * 1000;
  let t = 0;
  for (const m of String(v).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) t += Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
  return t || 60000;
}

function syncFetch(method, url, body, headers, timeout) {
  Atomics.store(flag, 0, 0);
  worker.postMessage({ method, url, body, headers, timeoutMs: parseDurationMs(timeout ?? '60s') });
  Atomics.wait(flag, 0, 0);
  return JSON.parse(new TextDecoder().decode(new Uint8Array(shared, 8, flag[1]).slice()));
}

// --- the k6 stand-ins ---
const metrics = new Map();
function metric(kind, name) {
  if (!metrics.has(name)) metrics.set(name, { kind, values: [] });
  return metrics.get(name);
}
const checks = new Map();
let expected = (s) => s >= 200 && s < 400;
let failed = null;
let iterationInTest = 0;

function response(r, tags) {
  metric('trend', 'http_req_duration').values.push(r.ms);
  metric('trend', `http_req_duration{type:${tags?.type}}`).values.push(r.ms);
  metric('rate', 'http_req_failed').values.push(r.status === 0 || !expected(r.status) ? 1 : 0);
  return {
    status: r.status,
    body: r.body,
    error: r.error ?? '',
    headers: r.headers ?? {},
    timings: { duration: r.ms },
    json() {
      return JSON.parse(r.body);
    },
  };
}

function request(method, url, body, params = {}) {
  return response(syncFetch(method, url, body === null || body === undefined ? undefined : body, params.headers ?? {}, params.timeout), params.tags);
}

const k6 = {
  check(val, sets) {
    let all = true;
    for (const [name, fn] of Object.entries(sets)) {
      const ok = !!fn(val);
      const c = checks.get(name) ?? { pass: 0, fail: 0 };
      if (ok) c.pass++;
      else c.fail++;
      checks.set(name, c);
      metric('rate', 'checks').values.push(ok ? 1 : 0);
      all = all && ok;
    }
    return all;
  },
  sleep(s) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000);
  },
  fail(msg) {
    throw new Error(msg);
  },
};
const http = {
  get: (url, params) => request('GET', url, null, params),
  post: (url, body, params) => request('POST', url, body, params),
  batch: (reqs) => reqs.map((r) => request(r.method, r.url, r.body, r.params)),
  expectedStatuses: (...codes) => codes,
  setResponseCallback: (codes) => {
    expected = (s) => codes.includes(s);
  },
};
class Counter {
  constructor(name) {
    this.m = metric('counter', name);
  }
  add(v) {
    this.m.values.push(Number(v));
  }
}
class Rate {
  constructor(name) {
    this.m = metric('rate', name);
  }
  add(v) {
    this.m.values.push(v ? 1 : 0);
  }
}
class Trend {
  constructor(name) {
    this.m = metric('trend', name);
  }
  add(v) {
    this.m.values.push(Number(v));
  }
}
const exec = {
  scenario: {
    get iterationInTest() {
      return iterationInTest;
    },
  },
  vu: { idInTest: 1 },
  test: {
    abort(msg) {
      throw new Error(`test aborted: ${msg}`);
    },
    fail(msg) {
      failed = msg ?? 'failed';
    },
  },
};
const crypto = {
  hmac(alg, secret, input, enc) {
    const d = createHmac(alg, secret).update(input).digest();
    return enc === 'binary' ? d.buffer.slice(d.byteOffset, d.byteOffset + d.length) : d.toString(enc);
  },
};
const encoding = {
  b64encode(input, variant) {
    const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
    if (variant === 'rawurl') return b.toString('base64url');
    if (variant === 'url') return b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    if (variant === 'rawstd') return b.toString('base64').replace(/=+$/, '');
    return b.toString('base64');
  },
};
const shims = {
  k6: { default: k6, ...k6 },
  'k6/http': { default: http, ...http },
  'k6/metrics': { Counter, Rate, Trend },
  'k6/execution': { default: exec },
  'k6/crypto': { default: crypto, ...crypto },
  'k6/encoding': { default: encoding, ...encoding },
};
for (const m of Object.values(shims)) Object.defineProperty(m, '__esModule', { value: true });
const load = Module._load;
Module._load = function (req, parent, isMain) {
  if (Object.prototype.hasOwnProperty.call(shims, req)) return shims[req];
  return load.call(this, req, parent, isMain);
};
globalThis.__ENV = { ...process.env };
globalThis.__VU = 1;
globalThis.__ITER = 0;
globalThis.open = (p) => readFileSync(resolve(dirname(scriptPath), p), 'utf8');

require(join(root, 'node_modules/ts-node')).register({
  project: join(root, 'loadtest/tsconfig.json'),
  transpileOnly: true,
  compilerOptions: { module: 'commonjs', noEmit: false, allowImportingTsExtensions: false },
});

const mod = require(scriptPath);
console.log(`dry run of ${script} (not k6): options.scenarios =`, JSON.stringify(mod.options.scenarios));
console.log('options.thresholds =', JSON.stringify(mod.options.thresholds));
const data = mod.setup();
for (let i = 0; i < iterations; i++) {
  iterationInTest = i;
  globalThis.__ITER = i;
  mod.default(data);
}
mod.teardown(data);

const sum = (a) => a.reduce((x, y) => x + y, 0);
console.log('\nmetrics:');
for (const [name, m] of [...metrics].sort()) {
  const v = m.values;
  if (m.kind === 'counter') console.log(`  ${name.padEnd(40)} count=${sum(v)}`);
  else if (m.kind === 'rate') console.log(`  ${name.padEnd(40)} rate=${v.length ? (sum(v) / v.length).toFixed(4) : '-'} (${sum(v)}/${v.length})`);
  else if (v.length) console.log(`  ${name.padEnd(40)} n=${v.length} avg=${(sum(v) / v.length).toFixed(1)} max=${Math.max(...v).toFixed(1)}`);
}
console.log('checks:');
for (const [name, c] of checks) console.log(`  ${c.fail ? '✗' : '✓'} ${name}: ${c.pass} pass, ${c.fail} fail`);
if (failed) {
  console.error(`test failed: ${failed}`);
  process.exit(110);
}
const bad = [...checks.values()].some((c) => c.fail);
process.exit(bad ? 1 : 0);
