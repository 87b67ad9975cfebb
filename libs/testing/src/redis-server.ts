import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './ports';

const execFileAsync = promisify(execFile);

/** A private redis-server started by {@link startRedisServer}; it can be stopped and started again. */
export interface RedisServer {
  /** TCP port on 127.0.0.1; the same across stop()/start(). */
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Working directory: the AOF (appendonlydir/), dump.rdb and the log. */
  dir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /**
   * Stops the server and keeps its data directory. SIGTERM is a clean shutdown (AOF flushed);
   * SIGKILL is a crash: with `appendfsync always` every write Redis acknowledged is already on disk.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and data directory (AOF replayed); resolves when it answers PING. */
  start(): Promise<void>;
  /** Kills the server and deletes the data directory. Safe to call more than once. */
  dispose(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** TCP port (127.0.0.1 only). Default: a free one. */
  port?: number;
  /** Append-only file on (`--appendonly yes`). Default false (no persistence at all). */
  appendonly?: boolean;
  /** `--appendfsync` when appendonly: 'always' (default: no acknowledged write is lost), 'everysec' or 'no'. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** How long to wait for PING to answer (also after start()), in ms. Default 30000. */
  startTimeoutMs?: number;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a private redis-server for fault tests (e.g. restart Redis mid-burst): one process on
 * 127.0.0.1:`port`, its own temp dir, no RDB snapshots, and with `appendonly` an AOF fsynced per
 * `appendfsync`. `stop()`/`start()` bring it down and back on the same port and dir, so clients
 * reconnect to the same address and find what the AOF kept. Needs redis-server and redis-cli.
 * @throws Error if the binary is missing or the server does not answer; the message has the log tail.
 */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'hongbao-redis-'));
  const log = join(dir, 'redis.log');
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', opts.appendonly ? 'yes' : 'no',
    ...(opts.appendonly ? ['--appendfsync', opts.appendfsync ?? 'always'] : []),
    '--daemonize', 'no',
    '--logfile', log,
  ];

  let child: ChildProcess | undefined;
  let disposed = false;
  const alive = () => !!child && child.exitCode === null && child.signalCode === null;
  const onExit = () => {
    if (alive()) child!.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (!alive()) return;
    const c = child!;
    await new Promise<void>((res) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
      c.kill(signal);
    });
  };

  const start = async () => {
    if (disposed) throw new Error('startRedisServer: start() after dispose()');
    if (alive()) return;
    const c = spawn('redis-server', args, { stdio: 'ignore' });
    c.once('error', () => undefined); // ENOENT surfaces through the readiness wait below
    child = c;
    await waitFor(
      async () => {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`redis-server on ${port} exited with ${c.exitCode ?? c.signalCode}`);
        // LOADING (AOF replay) makes PING fail, so this also waits for the data to be back.
        const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'ping'], { timeout: 2_000 });
        return stdout.trim() === 'PONG';
      },
      { timeoutMs: startTimeoutMs, intervalMs: 50, what: `redis-server on ${port} to answer PING` },
    ).catch(async (e) => {
      await stop('SIGKILL');
      throw new Error(`startRedisServer: ${(e as Error).message}\n${tail(log)}`);
    });
  };

  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await stop('SIGKILL');
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (e) {
    await dispose();
    throw e;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return alive();
    },
    stop,
    start,
    dispose,
  };
}
