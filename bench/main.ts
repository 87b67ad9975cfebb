/**
 * `npm run bench`: same-run benchmarks of the grab path and settlement (issue 5, part 3).
 * Every number is the median of --reps (>= 3) repetitions measured in this one process run, so the
 * ratios compare like with like on whatever this machine is doing right now.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { createRedis, EnvelopeKeys, EnvelopeScripts } from '@hongbao/redis';
import { freePort, TEST_JWT_SECRET, TestSystem } from '@hongbao/testing';
import { CpuMeter, CpuPerRequest, formatCpu, Metered, pidsOf } from './cpu';
import { constantRate, LoadStats, median, Next, saturate } from './load';
import { grabTail, snapshot } from './tail';

const ROOT = resolve(__dirname, '..');
const SHARES = 10_000; // the gateway's MAX_COUNT: shares per envelope; also the number of distinct users
const CONNECTIONS = 64;

const USAGE = `usage: npm run bench [-- --json FILE] [--reps 3] [--quick] [--n GRABS] [--duration SECONDS]
  --quick        shorter windows (3 s) and 10,000 grabs for settle/drain instead of 100,000
  --n GRABS      winning grabs for settle_rps and drain_s (default 100000, quick 10000)
  --duration S   measured seconds per repetition (default 5, quick 3), after 1 s of warm-up
  --only LIST    comma-separated subset: fastify,lua,grab,p99,soldout,drain,settle
  --replicas N   run N gateways and N envelope services (gateway i calls envelope i; the load is
                 split across the gateways) for grab and soldout: the scaling experiment
  --gateway-env K=V[,K=V...]  extra gateway environment (e.g. SOLD_OUT_CACHE_SIZE=0 to measure
                 without the gateway's sold-out memory)
  --profile DIR  write V8 CPU profiles of the gateway and envelope processes to DIR
                 (summarise with: node bench/profile-summary.mjs DIR/gateway/*.cpuprofile)
  --node-args "A B"  extra node/V8 options for every service process (e.g. "--single-threaded-gc")`;

interface Cli {
  json?: string;
  reps: number;
  quick: boolean;
  n: number;
  durationMs: number;
  only?: Set<string>;
  profile?: string;
  replicas: number;
  gatewayEnv: Record<string, string>;
  nodeArgs: string[];
}

function parseCli(argv: string[]): Cli {
  const c: Cli = { reps: 3, quick: false, n: 0, durationMs: 0, replicas: 1, gatewayEnv: {}, nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') c.json = val();
    else if (a === '--reps') c.reps = Number(val());
    else if (a === '--quick') c.quick = true;
    else if (a === '--n') c.n = Number(val());
    else if (a === '--duration') c.durationMs = Number(val()) * 1000;
    else if (a === '--only') c.only = new Set(val().split(','));
    else if (a === '--profile') c.profile = resolve(val());
    else if (a === '--replicas') c.replicas = Number(val());
    else if (a === '--node-args') c.nodeArgs = val().split(/\s+/).filter(Boolean);
    else if (a === '--gateway-env') {
      // Split only before the next NAME=, so a value may hold commas (e.g. RATE_LIMITS JSON).
      for (const kv of val().split(/,(?=[A-Za-z_][A-Za-z0-9_]*=)/)) {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new Error(`--gateway-env wants K=V pairs, got ${kv}`);
        c.gatewayEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    }
    else if (a === '--help' || a === '-h') throw new Error('help');
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(c.reps) || c.reps < 1) throw new Error('--reps must be a positive integer');
  if (!Number.isInteger(c.replicas) || c.replicas < 1 || c.replicas > 8) throw new Error('--replicas must be an integer 1..8');
  c.n ||= c.quick ? 10_000 : 100_000;
  c.durationMs ||= c.quick ? 3000 : 5000;
  if (!(c.n >= 1) || !(c.durationMs > 0)) throw new Error('--n and --duration must be positive');
  return c;
}

const log = (m: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** HS256 tokens like the issuer's, minted before the measurement. */
function mint(sub: string, admin = false): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + 6 * 3600, ...(admin ? { role: 'admin' } : {}) })}`;
  return `${input}.${createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url')}`;
}

/** Hands out (envelope, user) pairs so no user grabs one envelope twice and every envelope sells exactly out. */
class Pairs {
  i = 0;
  constructor(
    readonly users: number,
    readonly envs: string[] = [],
    readonly limit = Infinity,
  ) {}
  take(): { env: string; u: number } | undefined {
    if (this.i >= this.limit) return undefined;
    const e = Math.floor(this.i / this.users);
    if (e >= this.envs.length) return undefined;
    const u = this.i % this.users;
    this.i++;
    return { env: this.envs[e], u };
  }
}

/** Spawns a child server and resolves with its port (it prints "PORT n"). */
function spawnServer(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => rej(new Error(`${args.join(' ')} did not start: ${err}`)), 30_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        res({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      rej(new Error(`${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([done, sleep(3000)]);
  if (c.exitCode === null) c.kill('SIGKILL');
}

interface RepLine {
  [k: string]: number | string | undefined;
}

export async function main(argv: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (e) {
    const m = (e as Error).message;
    console.error(m === 'help' ? USAGE : `${m}\n\n${USAGE}`);
    return m === 'help' ? 0 : 2;
  }
  const want = (k: string) => !cli.only || cli.only.has(k);
  if (cli.reps < 3) log(`warning: --reps ${cli.reps} < 3; the issue asks for the median of at least 3`);
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(loadavg()[0]), 2000);
  loads.push(loadavg()[0]);
  const machine: { nproc: number; cpu: string; node: string; loadavgStart: number[]; replicas: number; gatewayEnv: Record<string, string>; mysql?: Record<string, unknown> } = { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? '?', node: process.version, loadavgStart: loadavg(), replicas: cli.replicas, gatewayEnv: cli.gatewayEnv };
  log(`machine: ${machine.nproc} cpus (${machine.cpu}), node ${machine.node}, load average ${machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);
  log(`reps ${cli.reps}, window ${cli.durationMs / 1000}s after 1s warm-up, N=${cli.n} winning grabs for settle/drain`);

  const reps: Record<string, RepLine[]> = {};
  const res: Record<string, number> = {};
  const rep = (key: string, i: number, line: RepLine) => {
    (reps[key] ??= []).push(line);
    log(`${key} rep ${i + 1}/${cli.reps}: ${Object.entries(line).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v, v < 100 ? 2 : 0) : v}`).join(' ')}`);
  };
  const win = { warmupMs: 1000, durationMs: cli.durationMs };
  // CPU per request by process, for the saturated measurements: where the time goes.
  const cpuReps: Record<string, CpuPerRequest[]> = {};
  const shared = (): Metered[] => [
    { name: 'load generator', pid: process.pid },
    ...pidsOf('redis-server').map((pid) => ({ name: 'redis', pid })),
    ...pidsOf('mariadbd').map((pid) => ({ name: 'mariadb', pid })),
  ];
  const meter = (procs: Metered[]) => new CpuMeter([...shared(), ...procs]);
  const cpuRep = (key: string, i: number, cpu: CpuPerRequest | undefined, what = 'cpu') => {
    if (!cpu) return;
    (cpuReps[key] ??= []).push(cpu);
    log(`${key} rep ${i + 1}/${cli.reps} ${what}: ${formatCpu(cpu)}`);
  };
  const children: ChildProcess[] = [];
  let sys: TestSystem | undefined;
  const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const benchPrefix = `hbbench${Date.now().toString(36)}`;
  const redis = createRedis(redisUrl);
  const dbs: { wallet: Awaited<ReturnType<typeof createConnection>>[]; ledger: Awaited<ReturnType<typeof createConnection>>[] } = { wallet: [], ledger: [] };

  const cleanRedis = async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${benchPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  };

  try {
    // One token per user, minted before any measurement. The ceilings get the same Authorization
    // headers as the gateway (a bare route ignores them), so every ratio compares the work of the
    // servers on the same request bytes, not the load generator's cost of bigger requests.
    const auth: Record<string, string>[] = Array.from({ length: SHARES }, (_, u) => ({ authorization: `Bearer ${mint(String(2_000_000 + u))}` }));

    // ---------- ceiling_fastify_rps ----------
    if (want('fastify') || want('soldout')) {
      const fa = await spawnServer([join(ROOT, 'bench/servers/fastify-server.mjs')]);
      children.push(fa.child);
      const origin = `http://127.0.0.1:${fa.port}`;
      const next: Next = (i) => ({ method: 'POST', path: `/grab/${1 + (i & 1023)}`, headers: auth[i % SHARES] });
      const xs: number[] = [];
      for (let i = 0; i < cli.reps; i++) {
        const s = await saturate(origin, next, { connections: CONNECTIONS, ...win, meter: meter([{ name: 'fastify server', pid: fa.child.pid! }]) });
        xs.push(s.rps);
        rep('ceiling_fastify_rps', i, { rps: s.rps, p50_ms: s.p50, p99_ms: s.p99, errors: s.errors });
        cpuRep('ceiling_fastify_rps', i, s.cpu);
      }
      res['ceiling_fastify_rps'] = median(xs);
      await stopChild(fa.child);
    }

    // ---------- ceiling_lua_rps ----------
    if (want('lua') || want('grab')) {
      const lua = await spawnServer(['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'bench/servers/lua-server.ts')], {
        TS_NODE_PROJECT: join(ROOT, 'bench/tsconfig.json'),
        REDIS_URL: redisUrl,
        BENCH_REDIS_PREFIX: benchPrefix,
      });
      children.push(lua.child);
      const scripts = new EnvelopeScripts(redis, new EnvelopeKeys(64, benchPrefix));
      const shares = new Array<number>(SHARES).fill(1);
      const perRep = Math.ceil((((Number.isFinite(res['ceiling_fastify_rps']) ? res['ceiling_fastify_rps'] : 30_000) * 1.3 * (win.warmupMs + win.durationMs)) / 1000 / SHARES)) + 1;
      const xs: number[] = [];
      let envSeq = 0;
      for (let i = 0; i < cli.reps; i++) {
        const envs: string[] = [];
        for (let e = 0; e < perRep; e++) {
          const id = String(9_000_000_000_000 + envSeq++);
          await scripts.load(id, { expiresAtMs: Date.now() + 3_600_000, keyExpireAtMs: Date.now() + 7_200_000, amount: SHARES, senderId: '1', shares });
          envs.push(id);
        }
        const pairs = new Pairs(SHARES, envs);
        const next: Next = () => {
          const p = pairs.take();
          return p && { method: 'POST', path: `/grab/${p.env}?u=${2_000_000 + p.u}`, headers: auth[p.u] };
        };
        const s = await saturate(`http://127.0.0.1:${lua.port}`, next, { connections: CONNECTIONS, ...win, count: (st) => st === 200, meter: meter([{ name: 'lua server', pid: lua.child.pid! }]) });
        xs.push(s.rps);
        rep('ceiling_lua_rps', i, { rps: s.rps, p50_ms: s.p50, p99_ms: s.p99, won: s.statuses['200'] ?? 0, other: s.n === 0 ? 0 : Object.entries(s.statuses).filter(([k]) => k !== '200').reduce((a, [, v]) => a + v, 0), errors: s.errors, ...(pairs.take() ? {} : { note: 'shares ran out: window shortened' }) });
        cpuRep('ceiling_lua_rps', i, s.cpu);
        await cleanRedis();
      }
      res['ceiling_lua_rps'] = median(xs);
      await stopChild(lua.child);
    }

    // ---------- the system ----------
    const sysParts = ['grab', 'p99', 'soldout', 'drain', 'settle'].filter(want);
    if (sysParts.length) {
      log('starting the TestSystem (wallet with SETTLEMENT_WORKER=false + a worker-only wallet)');
      // --cpu-prof writes the profile when the process exits (TestSystem stops it with SIGTERM).
      const prof = (svc: string) => [...cli.nodeArgs, ...(cli.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(cli.profile, svc)}`] : [])];
      if (cli.nodeArgs.length) log(`every service runs with node ${cli.nodeArgs.join(' ')}`);
      if (cli.profile) log(`CPU profiles of every service go to ${cli.profile}/{gateway,envelope,wallet,ledger}`);
      if (Object.keys(cli.gatewayEnv).length) log(`gateway environment: ${JSON.stringify(cli.gatewayEnv)}`);
      sys = await new TestSystem({ serviceEnv: { wallet: { SETTLEMENT_WORKER: 'false' }, gateway: cli.gatewayEnv }, nodeArgs: { gateway: prof('gateway'), envelope: prof('envelope'), wallet: prof('wallet'), ledger: prof('ledger') } }).start();
      const workerEnv = async () => ({ SETTLEMENT_WORKER: 'true', RPC_PORT: String(await freePort()) });
      await sys.startService('wallet', { name: 'wallet-worker', env: await workerEnv() });
      for (const u of sys.shardUrls.wallet) dbs.wallet.push(await createConnection(u));
      for (const u of sys.shardUrls.ledger) dbs.ledger.push(await createConnection(u));
      // The database's sizing moves settle_rps and drain_s a lot (docs/performance.md): recorded with the results.
      const [[db]] = (await dbs.wallet[0].query(
        'SELECT VERSION() AS version, @@innodb_buffer_pool_size DIV 1048576 AS buffer_pool_mb, @@innodb_log_file_size DIV 1048576 AS log_file_mb, @@innodb_flush_log_at_trx_commit AS flush_log_at_trx_commit',
      )) as unknown as [Record<string, unknown>[]];
      machine.mysql = db;
      log(`database: ${JSON.stringify(db)}`);
      const origin = sys.baseUrl;
      // Replica i > 0: its own envelope service (own RPC port, same Redis and shards) and a gateway calling it.
      const origins = [origin];
      for (let r = 1; r < cli.replicas; r++) {
        const rpcPort = await freePort();
        await sys.startService('envelope', { name: `envelope-${r + 1}`, env: { RPC_PORT: String(rpcPort) } });
        const gw = await sys.startService('gateway', { name: `gateway-${r + 1}`, env: { ...cli.gatewayEnv, ENVELOPE_RPC: `127.0.0.1:${rpcPort}` } });
        origins.push(`http://127.0.0.1:${gw.httpPort}`);
      }
      if (cli.replicas > 1) log(`${cli.replicas} gateway + envelope pairs: ${origins.join(', ')}`);
      const senderAuth = { authorization: `Bearer ${mint('1000')}` };
      let idem = 0;
      let wins = 0; // every winning grab through the gateway, across phases
      const post = async (path: string, body: unknown, headers: Record<string, string>) => {
        const r = await fetch(`${origin}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': `bench-${sys!.runId}-${idem++}` }, body: JSON.stringify(body) });
        const text = await r.text();
        if (r.status !== 201 && r.status !== 200) throw new Error(`POST ${path} answered ${r.status}: ${text.slice(0, 300)}`);
        return JSON.parse(text);
      };
      const createEnvelopes = async (k: number, count = SHARES): Promise<string[]> => {
        const ids: string[] = [];
        for (let e = 0; e < k; e++) {
          await post('/v1/wallet/topups', { amount: count }, senderAuth);
          const b = await post('/v1/envelopes', { amount: count, count, mode: 'equal', ttlSeconds: 3600 }, senderAuth);
          ids.push(String(b.envelopeId));
        }
        return ids;
      };
      const grabNext = (pairs: Pairs): Next => () => {
        const p = pairs.take();
        return p && { method: 'POST', path: `/v1/envelopes/${p.env}/grab`, headers: auth[p.u] };
      };
      /** The number `n` of a one-row query. */
      const q = async (c: (typeof dbs.wallet)[number], sql: string, params: unknown[] = []) => Number(((await c.query(sql, params)) as unknown as [{ n: number | string }[]])[0][0].n);
      const settled = async (): Promise<number> => {
        const w = (await Promise.all(dbs.wallet.map((c) => q(c, "SELECT COUNT(*) AS n FROM wallet_tx WHERE kind = 'grab'")))).reduce((a, b) => a + b, 0);
        const l = (await Promise.all(dbs.ledger.map((c) => q(c, "SELECT COUNT(*) AS n FROM transfers WHERE kind = 'grab'")))).reduce((a, b) => a + b, 0);
        return Math.min(w, l);
      };
      /** Polls until `target` grabs are credited in wallet and ledger; returns the samples. */
      /** Polls `count` until it reaches `target` or the time is up; returns the samples. */
      const pollUntil = async (count: () => Promise<number>, target: number, timeoutMs: number, intervalMs: number) => {
        const samples: { t: number; n: number }[] = [];
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          const n = await count();
          samples.push({ t: performance.now(), n });
          if (n >= target) return { done: true, samples };
          if (performance.now() > deadline) return { done: false, samples };
          await sleep(intervalMs);
        }
      };
      const waitSettled = (target: number, timeoutMs: number, intervalMs = 100) => pollUntil(settled, target, timeoutMs, intervalMs);
      /**
       * Grab credits since a mark, cheap enough to poll every 50 ms while the system is measured:
       * per wallet shard, the `wallet_tx` rows past the mark's `seq` (a range of the `uq_seq`
       * index, only the new rows) less the rows still in the wallet's ledger outbox (a credit's
       * outbox row is deleted only after the ledger committed its transfer), so a credit counts
       * once wallet and ledger both hold it. The exact count ({@link settled}: every grab credit
       * in `wallet_tx` and in `transfers`, full scans that grow with the run's history and, polled
       * every 50-200 ms, took a share of MariaDB's CPU from the settlement being measured)
       * confirms the end. Between a mark and its end the system writes only settlement credits.
       */
      const markCredits = async () => ({
        seqs: await Promise.all(dbs.wallet.map((c) => q(c, 'SELECT COALESCE(MAX(seq), 0) AS n FROM wallet_tx'))),
        exact: await settled(),
      });
      const creditsSince = async (m: { seqs: number[] }): Promise<number> => {
        const per = await Promise.all(dbs.wallet.map((c, i) => q(c, 'SELECT (SELECT COUNT(*) FROM wallet_tx WHERE seq > ?) - (SELECT COUNT(*) FROM ledger_outbox) AS n', [m.seqs[i]])));
        return per.reduce((a, b) => a + b, 0);
      };
      /** Polls {@link creditsSince} until `want` credits since the mark; then confirms them with the exact count. */
      const waitCredits = async (m: { seqs: number[]; exact: number }, want: number, timeoutMs: number, intervalMs: number) => {
        const deadline = performance.now() + timeoutMs;
        const { done, samples } = await pollUntil(() => creditsSince(m), want, timeoutMs, intervalMs);
        if (!done) return { done, samples };
        const exact = await waitSettled(m.exact + want, Math.max(0, deadline - performance.now()), intervalMs);
        if (!exact.done) log(`warning: the cheap count saw ${want} credits, the exact count only ${exact.samples.at(-1)!.n - m.exact}`);
        return { done: exact.done, samples };
      };
      const countWins = (s: LoadStats, all: number) => {
        wins += all;
        return s;
      };
      // saturate counts statuses inside the window only: count all wins for the settlement targets
      const systemProcs = (): Metered[] => [...sys!.procs.values()].map((p) => ({ name: p.name, pid: p.child.pid! }));
      const saturateGrabs = async (pairs: Pairs, o: { warmupMs: number; durationMs: number; metered?: boolean }) => {
        const s = await saturate(origins, grabNext(pairs), { connections: CONNECTIONS, ...o, count: (st) => st === 200, ...(o.metered ? { meter: meter(systemProcs()) } : {}) });
        const won = s.all['200'] ?? 0;
        countWins(s, won);
        return { s, won };
      };
      const settleBetween = async (what: string) => {
        const w = await waitSettled(wins, 120_000, 250);
        if (!w.done) log(`warning: ${what}: only ${w.samples.at(-1)!.n}/${wins} grabs settled after 120 s; going on`);
      };

      // ---------- grab_rps ----------
      const luaRps = Number.isFinite(res['ceiling_lua_rps']) ? res['ceiling_lua_rps'] : 10_000;
      const perRep = Math.min(12, Math.ceil((luaRps * (win.warmupMs + win.durationMs)) / 1000 / SHARES) + 1);
      if (want('grab') || want('p99')) {
        // Untimed warm-up before the first measured rep: first one envelope of SHARES shares, all of
        // it, so every user's token has been verified once (the token cache is as warm as in the
        // steady state the reps measure, however slow the machine), then the whole path (JIT,
        // pools, connections) for a fixed time.
        const tokens = await saturateGrabs(new Pairs(SHARES, await createEnvelopes(1)), { warmupMs: 0, durationMs: 1e9 });
        const wu = await saturateGrabs(new Pairs(SHARES, await createEnvelopes(perRep)), { warmupMs: 0, durationMs: cli.quick ? 3000 : 6000 });
        log(`warm-up: every token once (${tokens.won} grabs at ${fmt(tokens.s.rps)} rps), then ${wu.won} grabs at ${fmt(wu.s.rps)} rps`);
        await settleBetween('warm-up');
        const xs: number[] = [];
        for (let i = 0; i < cli.reps; i++) {
          const pairs = new Pairs(SHARES, await createEnvelopes(perRep));
          const { s } = await saturateGrabs(pairs, { ...win, metered: true });
          xs.push(s.rps);
          rep('grab_rps', i, { rps: s.rps, p50_ms: s.p50, p99_ms: s.p99, statuses: JSON.stringify(s.statuses), errors: s.errors, ...(pairs.take() ? {} : { note: 'shares ran out: window shortened' }) });
          cpuRep('grab_rps', i, s.cpu);
          await settleBetween('grab_rps');
        }
        res['grab_rps'] = median(xs);
      }

      // ---------- grab_p99_ms_at_70pct ----------
      if (want('p99') && Number.isFinite(res['grab_rps'])) {
        // The tail inside the processes (bench/tail.ts): the first gateway's and envelope's own histograms, read before and after each rep.
        const tailSources = { gatewayMetrics: `${origin}/metrics`, envelopeMetrics: `http://127.0.0.1:${sys.procs.get('envelope')!.httpPort}/metrics` };
        const rate = Math.max(1, Math.round(res['grab_rps'] * 0.7));
        const need = Math.ceil((rate * (win.warmupMs + win.durationMs)) / 1000 / SHARES) + 1;
        const xs: number[] = [];
        for (let i = 0; i < cli.reps; i++) {
          const pairs = new Pairs(SHARES, await createEnvelopes(need));
          const before = await snapshot(tailSources);
          const s = await constantRate(origin, grabNext(pairs), { rate, ...win, maxInFlight: 2000 });
          const tail = grabTail(before, await snapshot(tailSources));
          countWins(s, s.all['200'] ?? 0);
          xs.push(s.p99);
          rep('grab_p99_ms_at_70pct', i, { rate, achieved_rps: s.rps, p50_ms: s.p50, p99_ms: s.p99, dropped: s.dropped, statuses: JSON.stringify(s.statuses), errors: s.errors, generator_loop_delay_p99_ms: s.generatorLoopDelay.p99Ms, generator_loop_delay_max_ms: s.generatorLoopDelay.maxMs, ...tail });
          await settleBetween('p99');
        }
        res['grab_p99_ms_at_70pct'] = median(xs);
      }

      // ---------- soldout_rps ----------
      if (want('soldout')) {
        const [id] = await createEnvelopes(1, 1);
        const first = await fetch(`${origin}/v1/envelopes/${id}/grab`, { method: 'POST', headers: auth[0] });
        await first.text();
        if (first.status !== 200) throw new Error(`sold-out setup: first grab answered ${first.status}`);
        wins++;
        const next: Next = (i) => ({ method: 'POST', path: `/v1/envelopes/${id}/grab`, headers: auth[1 + (i % (SHARES - 1))] });
        // Untimed: every user's token once, so the gateway's token cache is warm whether or not the
        // grab phases ran before (with `--only soldout` the first rep verified 10,000 JWTs).
        const pass = await saturate(origins, (i) => (i < SHARES - 1 ? next(i) : undefined), { connections: CONNECTIONS, warmupMs: 0, durationMs: 120_000 });
        log(`sold-out warm-up: every token once, answers ${JSON.stringify(pass.all)}`);
        const xs: number[] = [];
        for (let i = 0; i < cli.reps; i++) {
          const s = await saturate(origins, next, { connections: CONNECTIONS, ...win, count: (st) => st > 0 && st < 500 && st !== 200, meter: meter(systemProcs()) });
          xs.push(s.rps);
          rep('soldout_rps', i, { rps: s.rps, p50_ms: s.p50, p99_ms: s.p99, statuses: JSON.stringify(s.statuses), errors: s.errors });
          cpuRep('soldout_rps', i, s.cpu);
        }
        res['soldout_rps'] = median(xs);
      }

      const nEnv = Math.ceil(cli.n / SHARES);
      const settleTimeout = Math.max(120_000, cli.n * 10); // 100 credits/s at worst

      // ---------- drain_s ----------
      if (want('drain')) {
        await settleBetween('before drain');
        const xs: number[] = [];
        for (let i = 0; i < cli.reps; i++) {
          const pairs = new Pairs(SHARES, await createEnvelopes(nEnv), cli.n);
          const m = await markCredits();
          const { s, won } = await saturateGrabs(pairs, { warmupMs: 0, durationMs: 1e9 });
          const lastGrab = s.lastEnd;
          const w = await waitCredits(m, won, settleTimeout, 50);
          const last = w.samples.at(-1)!;
          const drain = w.done ? Math.max(0, (last.t - lastGrab) / 1000) : NaN;
          xs.push(drain);
          rep('drain_s', i, { drain_s: drain, burst_grabs: won, burst_s: s.seconds, burst_rps: s.rps, settled_at_burst_end: w.samples[0]?.n ?? 0, ...(w.done ? {} : { note: `not settled after ${settleTimeout / 1000}s` }) });
        }
        res['drain_s'] = median(xs);
      }

      // ---------- settle_rps ----------
      if (want('settle')) {
        await settleBetween('before settle');
        const xs: number[] = [];
        for (let i = 0; i < cli.reps; i++) {
          await sys.kill('wallet-worker', 'SIGTERM');
          const pairs = new Pairs(SHARES, await createEnvelopes(nEnv), cli.n);
          const m = await markCredits();
          const { s, won } = await saturateGrabs(pairs, { warmupMs: 0, durationMs: 1e9 });
          await sleep(1000); // let the envelope relay move the intents from the Redis outbox to the queue
          const tStart = performance.now();
          await sys.startService('wallet', { name: 'wallet-worker', env: await workerEnv() });
          const ready = performance.now();
          const settleMeter = meter(systemProcs());
          settleMeter.begin();
          const w = await waitCredits(m, won, settleTimeout, 200);
          settleMeter.finish();
          // rate from the first sample that saw credits to the last one (worker start-up excluded)
          const firstIdx = w.samples.findIndex((x) => x.n > 0);
          const first = firstIdx > 0 ? w.samples[firstIdx - 1] : { t: ready, n: 0 };
          const last = w.samples.at(-1)!;
          const rps = w.done && last.t > first.t ? (last.n - first.n) / ((last.t - first.t) / 1000) : NaN;
          xs.push(rps);
          rep('settle_rps', i, { settle_rps: rps, grabs: won, grab_burst_rps: s.rps, worker_start_s: (ready - tStart) / 1000, settle_s: (last.t - first.t) / 1000, ...(w.done ? {} : { note: `not settled after ${settleTimeout / 1000}s` }) });
          cpuRep('settle_rps', i, settleMeter.perRequest(won), 'cpu per credit (worker start-up included)');
        }
        res['settle_rps'] = median(xs);
      }

      const audit = await sys.settledAudit(120_000).catch((e: Error) => ({ ok: false, pending: -1, checks: [{ name: 'audit', ok: false, detail: e.message }] }));
      log(`audit after the run: ok=${audit.ok} pending=${audit.pending}${audit.ok ? '' : ' ' + JSON.stringify(audit.checks.filter((c) => !c.ok)).slice(0, 500)}`);
      (res as any)['audit_ok'] = audit.ok ? 1 : 0;
    }
  } finally {
    clearInterval(loadTimer);
    for (const c of children) await stopChild(c);
    for (const c of [...dbs.wallet, ...dbs.ledger]) await c.end().catch(() => undefined);
    await sys?.stop().catch((e) => log(`stop failed: ${(e as Error).message}`));
    await cleanRedis().catch(() => undefined);
    redis.disconnect();
  }

  // ---------- report ----------
  const r = (k: string) => res[k] ?? NaN;
  const rows: { name: string; value: number; target: string; pass: boolean | undefined }[] = [
    { name: 'grab_rps / ceiling_lua_rps', value: r('grab_rps') / r('ceiling_lua_rps'), target: '>= 0.40', pass: r('grab_rps') / r('ceiling_lua_rps') >= 0.4 },
    { name: 'grab_p99_ms_at_70pct', value: r('grab_p99_ms_at_70pct'), target: '<= 25 ms', pass: r('grab_p99_ms_at_70pct') <= 25 },
    { name: 'soldout_rps / ceiling_fastify_rps', value: r('soldout_rps') / r('ceiling_fastify_rps'), target: '>= 0.80', pass: r('soldout_rps') / r('ceiling_fastify_rps') >= 0.8 },
    { name: 'settle_rps / grab_rps', value: r('settle_rps') / r('grab_rps'), target: '>= 3', pass: r('settle_rps') / r('grab_rps') >= 3 },
    { name: 'drain_s', value: r('drain_s'), target: '<= 10 s', pass: r('drain_s') <= 10 },
  ];
  const load = { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) };
  console.log('\nmedians');
  for (const k of ['ceiling_fastify_rps', 'ceiling_lua_rps', 'grab_rps', 'grab_p99_ms_at_70pct', 'soldout_rps', 'settle_rps', 'drain_s']) {
    const xs = (reps[k] ?? []).map((l) => Number(l[k === 'ceiling_fastify_rps' || k === 'ceiling_lua_rps' || k === 'grab_rps' || k === 'soldout_rps' ? 'rps' : k === 'grab_p99_ms_at_70pct' ? 'p99_ms' : k]));
    console.log(`  ${k.padEnd(24)} ${fmt(r(k), r(k) < 100 ? 2 : 0).padStart(10)}   reps: ${xs.map((x) => fmt(x, x < 100 ? 2 : 0)).join(', ')}`);
  }
  const cpu = cpuMedians(cpuReps);
  if (Object.keys(cpu).length) {
    console.log('\nCPU per request inside the window, by process (medians of the reps, µs; the machine has ' + machine.nproc + ' cores = ' + machine.nproc * 1e6 + ' µs per second)');
    for (const [k, c] of Object.entries(cpu)) console.log(`  ${k.padEnd(20)} ${formatCpu(c)} -> at most ${fmt((machine.nproc * 1e6) / c.total)}/s`);
  }
  console.log('\ntargets (issue 5)');
  console.log(`  ${'ratio'.padEnd(36)} ${'value'.padStart(8)}  ${'target'.padEnd(9)} result`);
  for (const row of rows) console.log(`  ${row.name.padEnd(36)} ${fmt(row.value, 2).padStart(8)}  ${row.target.padEnd(9)} ${Number.isFinite(row.value) ? (row.pass ? 'pass' : 'MISS') : 'n/a'}`);
  // Not targets: the saturating bursts of the drain_s and settle_rps phases, the same grabs with
  // the settlement worker running and stopped, against the Lua ceiling (how much of the grab
  // ratio settlement takes on these shared cores).
  const bursts = (key: string) => median((reps[key] ?? []).map((l) => Number(l[key === 'drain_s' ? 'burst_rps' : 'grab_burst_rps'])).filter(Number.isFinite));
  const [withWorker, withoutWorker] = [bursts('drain_s'), bursts('settle_rps')];
  if (Number.isFinite(withWorker) || Number.isFinite(withoutWorker)) {
    console.log('\nobservations (not targets): saturating bursts of N winning grabs, medians');
    for (const [what, v] of [['settlement worker running (drain_s phase)', withWorker], ['settlement worker stopped (settle_rps phase)', withoutWorker]] as const) {
      if (Number.isFinite(v)) console.log(`  ${what.padEnd(46)} ${fmt(v).padStart(8)}/s${Number.isFinite(r('ceiling_lua_rps')) ? ` = ${fmt(v / r('ceiling_lua_rps'), 2)} of ceiling_lua_rps` : ''}`);
    }
  }
  console.log(`\nmachine: ${machine.nproc} cpus, 1-min load average during the run mean ${load.mean.toFixed(2)} max ${load.max.toFixed(2)} (the load generator shares these cpus)`);

  if (cli.json) {
    const out = {
      ceiling_fastify_rps: r('ceiling_fastify_rps'),
      ceiling_lua_rps: r('ceiling_lua_rps'),
      grab_rps: r('grab_rps'),
      grab_p99_ms_at_70pct: r('grab_p99_ms_at_70pct'),
      soldout_rps: r('soldout_rps'),
      settle_rps: r('settle_rps'),
      drain_s: r('drain_s'),
      targets: Object.fromEntries(rows.map((x) => [x.name, { value: x.value, target: x.target, pass: Number.isFinite(x.value) ? x.pass : null }])),
      audit_ok: res['audit_ok'] === undefined ? null : res['audit_ok'] === 1,
      options: { reps: cli.reps, quick: cli.quick, n: cli.n, windowS: cli.durationMs / 1000, warmupS: 1, connections: CONNECTIONS, replicas: cli.replicas, gatewayEnv: cli.gatewayEnv, nodeArgs: cli.nodeArgs },
      machine: { ...machine, loadavgDuring: load },
      reps,
      cpu_us_per_request: cpu,
      observations: { burst_rps_settlement_running: withWorker, burst_rps_settlement_stopped: withoutWorker },
      at: new Date().toISOString(),
    };
    writeFileSync(cli.json, JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
    log(`wrote ${cli.json}`);
  }
  return 0;
}

/** The median per process (and of the totals) over the reps of each key. */
function cpuMedians(byKey: Record<string, CpuPerRequest[]>): Record<string, CpuPerRequest> {
  const out: Record<string, CpuPerRequest> = {};
  for (const [key, list] of Object.entries(byKey)) {
    const names = [...new Set(list.flatMap((c) => Object.keys(c.byProcess)))];
    out[key] = {
      byProcess: Object.fromEntries(names.map((n) => [n, median(list.map((c) => c.byProcess[n] ?? 0))])),
      other: median(list.map((c) => c.other)),
      total: median(list.map((c) => c.total)),
      busy: median(list.map((c) => c.busy)),
    };
  }
  return out;
}
