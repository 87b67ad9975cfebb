import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRedis } from '@hongbao/redis';
import { dropDatabases, ShardMap } from '@hongbao/sharding';
import { freePort, waitFor } from './ports';
import { deleteKeys } from './redis-cleanup';
import { signToken, TEST_JWT_SECRET } from './tokens';

export type ServiceName = 'wallet' | 'ledger' | 'envelope' | 'gateway';
const ALL: ServiceName[] = ['wallet', 'ledger', 'envelope', 'gateway'];
const ROOT = resolve(__dirname, '../../..');

export interface SystemOptions {
  /** extra environment for every service (e.g. RELAY_CLAIM_IDLE_MS) */
  env?: Record<string, string>;
  /** per-service extra environment */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** MySQL URL prefix of the shard server(s); default the local MariaDB with the app user */
  mysqlBase?: string;
  /** per-service shard URLs override (e.g. a second server for shard 1) */
  shards?: Partial<Record<'wallet' | 'envelope' | 'ledger', string[]>>;
  redisUrl?: string;
  /** per-service extra node arguments before the script (e.g. `--cpu-prof`) */
  nodeArgs?: Partial<Record<ServiceName, string[]>>;
}

interface Proc {
  name: string;
  service: ServiceName;
  child: ChildProcess;
  env: Record<string, string>;
  httpPort: number;
  exited: Promise<number | null>;
}

/**
 * Starts Hongbao's four built services (dist/apps/*) as separate processes talking real TCP,
 * on test-only databases (names contain "test") and a private Redis key/queue prefix, so
 * several systems can run side by side. `stop()` removes what it created.
 */
export class TestSystem {
  readonly runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  readonly procs = new Map<string, Proc>();
  readonly env: Record<string, string>;
  readonly shardUrls: Record<'wallet' | 'envelope' | 'ledger', string[]>;
  private readonly ports: Record<string, number> = {};
  readonly logDir = join(ROOT, 'tmp', 'test-logs');
  private readonly paused = new Set<string>();
  baseUrl = '';

  constructor(private readonly opts: SystemOptions = {}) {
    const base = opts.mysqlBase ?? 'mysql://hongbao:hongbao@127.0.0.1:3306';
    const db = (svc: string, i: number) => `${base}/hongbao_test_${this.runId}_${svc}_${i}`;
    this.shardUrls = {
      wallet: opts.shards?.wallet ?? [db('wallet', 0), db('wallet', 1)],
      envelope: opts.shards?.envelope ?? [db('envelope', 0), db('envelope', 1)],
      ledger: opts.shards?.ledger ?? [db('ledger', 0), db('ledger', 1)],
    };
    const redis = opts.redisUrl ?? process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    this.env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      JWT_SECRET: TEST_JWT_SECRET,
      WALLET_SHARDS: this.shardUrls.wallet.join(','),
      ENVELOPE_SHARDS: this.shardUrls.envelope.join(','),
      LEDGER_SHARDS: this.shardUrls.ledger.join(','),
      REDIS_URL: redis,
      QUEUE_REDIS_URL: redis,
      REDIS_KEY_PREFIX: `hbt${this.runId}`,
      QUEUE_PREFIX: `{hbt${this.runId}}`,
      SWEEP_INTERVAL_MS: '500',
      SWEEP_AFTER_MS: '2000',
      RELAY_CLAIM_IDLE_MS: '2000',
      QUEUE_LOCK_MS: '5000',
      QUEUE_STALLED_CHECK_MS: '5000',
      // Every test client is 127.0.0.1 and a loaded CI box has long event-loop stalls: keep the
      // per-IP limit and the event-loop triggers out of the way; e2e/src/governance tests set them.
      RATE_LIMITS: JSON.stringify({ '*': { ip: { rate: 1_000_000 } } }),
      SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      DEGRADE_EVENT_LOOP_DELAY_MS: '0',
      ...(opts.env ?? {}),
    };
  }

  /** Migrates every shard and starts all four services; resolves when each is ready. */
  async start(): Promise<this> {
    for (const svc of ALL) this.ports[`${svc}:http`] = await freePort();
    for (const svc of ['wallet', 'ledger', 'envelope'] as const) this.ports[`${svc}:rpc`] = await freePort();
    for (const svc of ['wallet', 'envelope', 'ledger'] as const) this.migrate(svc);
    mkdirSync(this.logDir, { recursive: true });
    await Promise.all(ALL.map((s) => this.startService(s)));
    this.baseUrl = `http://127.0.0.1:${this.ports['gateway:http']}`;
    return this;
  }

  /** Runs `node dist/apps/<svc>/main.js migrate` (the same command operators use). */
  migrate(svc: 'wallet' | 'envelope' | 'ledger'): void {
    execFileSync(process.execPath, [this.mainOf(svc), 'migrate'], { env: { ...process.env, ...this.serviceEnv(svc) }, stdio: 'pipe' });
  }

  serviceEnv(svc: ServiceName, httpPort = this.ports[`${svc}:http`]): Record<string, string> {
    return {
      ...this.env,
      PORT: String(httpPort),
      ...(svc !== 'gateway' ? { RPC_PORT: String(this.ports[`${svc}:rpc`]) } : {}),
      WALLET_RPC: `127.0.0.1:${this.ports['wallet:rpc']}`,
      LEDGER_RPC: `127.0.0.1:${this.ports['ledger:rpc']}`,
      ENVELOPE_RPC: `127.0.0.1:${this.ports['envelope:rpc']}`,
      ...(this.opts.serviceEnv?.[svc] ?? {}),
    };
  }

  private mainOf(svc: ServiceName): string {
    const main = join(ROOT, 'dist', 'apps', svc, 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx nx run-many -t build)`);
    return main;
  }

  /** Starts one instance of a service (name defaults to the service; a second one needs its own name, port and env). */
  async startService(svc: ServiceName, opts: { name?: string; env?: Record<string, string> } = {}): Promise<Proc> {
    const name = opts.name ?? svc;
    const httpPort = name === svc ? this.ports[`${svc}:http`] : await freePort();
    const env = { ...process.env, ...this.serviceEnv(svc, httpPort), ...(opts.env ?? {}) } as Record<string, string>;
    const child = spawn(process.execPath, [...(this.opts.nodeArgs?.[svc] ?? []), this.mainOf(svc)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(this.logDir, `${this.runId}-${name}.log`), { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const proc: Proc = { name, service: svc, child, env, httpPort, exited };
    this.procs.set(name, proc);
    let dead = false;
    void exited.then(() => (dead = true));
    await waitFor(
      async () => {
        if (dead) throw new Error(`${name} exited during start; see ${this.logDir}/${this.runId}-${name}.log`);
        const r = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
        return r.ok;
      },
      { timeoutMs: 30_000, what: `${name} ready` },
    ).catch((e) => {
      if (dead) throw new Error(`${name} exited during start; see ${this.logDir}/${this.runId}-${name}.log`);
      throw e;
    });
    return proc;
  }

  /** Sends a signal (default SIGKILL: a crash) and waits for the process to exit. */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    // a stopped process acts on SIGTERM only once continued; SIGKILL kills it frozen (it must not run on first)
    if (this.paused.delete(name) && signal !== 'SIGKILL') p.child.kill('SIGCONT');
    p.child.kill(signal);
    await p.exited;
    this.procs.delete(name);
  }

  /** Stops a service cleanly (SIGTERM: it drains and closes) and waits for it to exit; `restart` brings it back. */
  async stopService(name: string): Promise<void> {
    await this.kill(name, 'SIGTERM');
  }

  /**
   * Freezes a process with SIGSTOP: its sockets stay open but nothing answers, as with a hung
   * process or a long GC pause, so callers see timeouts rather than refused connections.
   */
  pause(name: string): void {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    p.child.kill('SIGSTOP');
    this.paused.add(name);
  }

  /** Resumes a process frozen by {@link pause} (SIGCONT). */
  resume(name: string): void {
    const p = this.procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    p.child.kill('SIGCONT');
    this.paused.delete(name);
  }

  /** Restarts a service that was killed (or killed itself), on the same ports, without any crash point. */
  async restart(svc: ServiceName, env: Record<string, string> = {}): Promise<Proc> {
    return this.startService(svc, { env: { HONGBAO_CRASH_AT: '', ...env } });
  }

  async token(userId: string, admin = false): Promise<string> {
    return signToken(userId, { admin });
  }

  /** Calls the public API; returns status and parsed body. */
  async api<T = any>(method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const r = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: r.status, body: parsed as T, headers: r.headers };
  }

  /** Polls the audit until nothing is pending; returns the last report. */
  async settledAudit(timeoutMs = 60_000): Promise<{ ok: boolean; pending: number; checks: { name: string; ok: boolean; detail: string }[] }> {
    const admin = await this.token('1', true);
    let last: any;
    await waitFor(
      async () => {
        const r = await this.api('GET', '/v1/admin/audit', { token: admin });
        last = r.body;
        return r.status === 200 && r.body.pending === 0;
      },
      { timeoutMs, intervalMs: 300, what: 'settlement to drain' },
    ).catch((e) => {
      throw new Error(`${(e as Error).message}; last audit: ${JSON.stringify(last)}`);
    });
    return last;
  }

  /** Stops every process, drops the test databases and deletes this run's Redis keys. */
  async stop(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.kill(n, 'SIGTERM').catch(() => undefined)));
    for (const svc of ['wallet', 'envelope', 'ledger'] as const) {
      if (this.opts.shards?.[svc]) continue;
      await dropDatabases(ShardMap.fromConfig(this.shardUrls[svc])).catch(() => undefined);
    }
    const redis = createRedis(this.env['REDIS_URL'], { enableAutoPipelining: false });
    try {
      for (const pattern of [`${this.env['REDIS_KEY_PREFIX']}:*`, `${this.env['QUEUE_PREFIX']}:*`]) await deleteKeys(redis, pattern);
    } finally {
      redis.disconnect();
    }
  }
}
