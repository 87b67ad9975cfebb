import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { canListen, waitFor } from './ports';

const execFileAsync = promisify(execFile);

/** A throwaway Redis Cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** `redis-cluster://127.0.0.1:P1,127.0.0.1:P2,...` — what REDIS_URL / QUEUE_REDIS_URL accept. */
  url: string;
  /** Client ports of the masters (the cluster bus of each is port + 10000). */
  ports: number[];
  /** Working directory holding every node's nodes.conf and log. */
  dir: string;
  /** Kills every node and deletes the working directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Number of masters (no replicas). Default 3, the minimum Redis Cluster accepts. */
  masters?: number;
  /** How long to wait for `cluster_state:ok` on every node, in ms. Default 30000. */
  startTimeoutMs?: number;
}

/**
 * A client port whose cluster-bus port (port + 10000) is free too. Ports come from 20000-39999 so
 * the bus port stays below the OS's ephemeral range and 65535; `taken` avoids handing out the
 * same pair twice in one call.
 */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(p) || taken.has(p + 10_000) || taken.has(p - 10_000)) continue;
    if ((await canListen(p)) && (await canListen(p + 10_000))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('startRedisCluster: no free port pair (p, p+10000) found in 20000-39999');
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a local Redis Cluster for tests: `masters` `redis-server --cluster-enabled yes`
 * processes on free 127.0.0.1 ports (no persistence, a fresh temp dir), joins them with
 * `redis-cli --cluster create --cluster-replicas 0`, and waits until every node reports
 * `cluster_state:ok` and knows every other node. Needs redis-server and redis-cli (7.x).
 * The processes are children of this process and are killed by `stop()` (and on exit).
 * @throws Error if the binaries are missing or the cluster does not come up; the message
 *   includes the tail of each node's log. Nothing is left running when it throws.
 */
export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new RangeError('startRedisCluster: masters must be an integer >= 3');
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'hongbao-redis-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) ports.push(await clusterPort(taken));

  const children: ChildProcess[] = [];
  let stopped = false;
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const onExit = () => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const t = setTimeout(() => c.kill('SIGKILL'), 3_000);
            c.once('exit', () => {
              clearTimeout(t);
              res();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  const logOf = (p: number) => join(dir, `redis-${p}.log`);
  const describeLogs = () => ports.map((p) => `--- node ${p} ---\n${tail(logOf(p))}`).join('\n');
  try {
    for (const p of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port', String(p),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${p}.conf`),
          '--cluster-node-timeout', '5000',
          '--dir', dir,
          '--save', '',
          '--appendonly', 'no',
          '--daemonize', 'no',
          '--logfile', logOf(p),
        ],
        { stdio: 'ignore' },
      );
      child.once('error', () => undefined); // ENOENT surfaces through the readiness wait below
      children.push(child);
    }
    // Every node answers PING.
    await waitFor(
      async () => {
        for (const [i, p] of ports.entries()) {
          if (children[i].exitCode !== null) throw new Error(`redis-server on ${p} exited with ${children[i].exitCode}`);
          await execFileAsync('redis-cli', ['-p', String(p), 'ping'], { timeout: 2_000 });
        }
        return true;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 100, what: 'redis-server nodes to answer PING' },
    );
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: startTimeoutMs },
    );
    await waitFor(
      async () => {
        for (const p of ports) {
          const { stdout } = await execFileAsync('redis-cli', ['-p', String(p), 'cluster', 'info'], { timeout: 2_000 });
          if (!/cluster_state:ok/.test(stdout)) return false;
          if (!new RegExp(`cluster_known_nodes:${masters}\\b`).test(stdout)) return false;
          if (!/cluster_slots_ok:16384\b/.test(stdout)) return false;
        }
        return true;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 200, what: 'cluster_state:ok on every node' },
    );
  } catch (e) {
    const msg = `startRedisCluster: ${(e as Error).message}\n${describeLogs()}`;
    killAll();
    await stop();
    throw new Error(msg);
  }

  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, dir, stop };
}

/**
 * Runs `fn` against one direct connection per master of a cluster started by
 * {@link startRedisCluster} (e.g. SCAN, which only sees the keys of the node it runs on).
 */
export async function forEachMaster<T>(cluster: Pick<RedisCluster, 'ports'>, fn: (node: Redis, port: number) => Promise<T>): Promise<T[]> {
  return Promise.all(
    cluster.ports.map(async (port) => {
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 2 });
      try {
        return await fn(node, port);
      } finally {
        node.disconnect();
      }
    }),
  );
}

/** True when the redis-server and redis-cli binaries are on PATH. */
export function redisClusterAvailable(): boolean {
  const path = (process.env['PATH'] ?? '').split(':');
  return ['redis-server', 'redis-cli'].every((b) => path.some((d) => existsSync(join(d, b))));
}
