import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';

const execFileAsync = promisify(execFile);

/** A throwaway MariaDB server started by {@link startMariaDbServer}. */
export interface MariaDbServer {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Unix socket of the server (root can log in through it without a password). */
  socketPath: string;
  /** `mysql://hongbao:hongbao@127.0.0.1:<port>/<db>` — a shard URL for the app user. */
  url(db: string): string;
  /** Kills the server and deletes its data directory. Safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Shuts the server down and keeps its data directory (a fault: the shard is gone). SIGTERM
   * (default) is a clean shutdown that keeps every commit; SIGKILL would lose recent commits,
   * because the server runs with relaxed durability (`innodb-flush-log-at-trx-commit=0`).
   */
  shutdown(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the server again on the same port and data directory after {@link shutdown}; resolves when it answers. */
  start(): Promise<void>;
  /** True while mariadbd runs. */
  readonly running: boolean;
}

/** Options for {@link startMariaDbServer}. */
export interface StartMariaDbServerOptions {
  /** TCP port to listen on (127.0.0.1 only). Default 3307. */
  port?: number;
  /** How long to wait for the server to accept connections, in ms. Default 60000. */
  startTimeoutMs?: number;
}

const APP_USER = 'hongbao';
const APP_PASSWORD = 'hongbao';

/**
 * Starts a throwaway second MariaDB server for tests (e.g. a second physical shard): runs
 * mariadb-install-db into a fresh temp datadir, starts mariadbd on 127.0.0.1:`port` tuned to
 * start fast and stay small (no binlog, 16 MB buffer pool, relaxed durability — the data is
 * thrown away), waits until it answers on its socket, and creates the `hongbao`/`hongbao` user
 * with ALL on `hongbao%`.*. Needs mariadb-install-db and mariadbd (mariadb-server package).
 * When run as root (as here) the server runs as the `mysql` OS user, which owns the datadir.
 * @throws Error if the port is taken, the binaries are missing, or the server does not come up;
 *   the message includes the tail of the server's error log.
 */
export async function startMariaDbServer(opts: StartMariaDbServerOptions = {}): Promise<MariaDbServer> {
  const port = opts.port ?? 3307;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  await assertPortFree(port);

  const installDb = findBinary('mariadb-install-db');
  const mariadbd = findBinary('mariadbd');
  const datadir = mkdtempSync(join(tmpdir(), 'hongbao-mariadb-'));
  const socketPath = join(datadir, 's.sock');
  const errorLog = join(datadir, 'err.log');

  const asRoot = process.getuid?.() === 0;
  // mariadbd refuses to run as root; as root we hand it to the mysql account, otherwise it runs
  // as the current user and that user becomes the socket-authenticated admin.
  const adminUser = asRoot ? 'root' : userInfo().username;
  const userArgs = asRoot ? ['--user=mysql'] : [];
  const smallAndFast = [
    '--skip-log-bin',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=16M',
    '--innodb-log-file-size=8M',
    '--innodb-log-buffer-size=4M',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
    '--innodb-use-native-aio=0',
    '--performance-schema=OFF',
    '--max-connections=200',
  ];

  let child: ChildProcess | undefined;
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Spawns mariadbd on the datadir and waits until it answers on its socket. */
  const launch = async () => {
    exited = undefined;
    const c = spawn(
      mariadbd,
      [
        '--no-defaults',
        ...userArgs,
        `--datadir=${datadir}`,
        `--port=${port}`,
        `--socket=${socketPath}`,
        `--pid-file=${join(datadir, 'p.pid')}`,
        `--log-error=${errorLog}`,
        '--bind-address=127.0.0.1',
        ...smallAndFast,
      ],
      { stdio: 'ignore' },
    );
    child = c;
    c.once('exit', (code, signal) => {
      if (child === c) exited = { code, signal };
    });
    c.once('error', (err) => {
      // spawn failures (e.g. ENOENT) arrive here and no 'exit' follows.
      if (child === c) exited ??= { code: null, signal: null };
      appendFileSync(errorLog, `spawn ${mariadbd} failed: ${err.message}\n`);
    });
    await waitUntilReady(socketPath, adminUser, startTimeoutMs, () => exited !== undefined, errorLog);
  };
  const onExit = () => {
    // Last resort if the test process ends without stop(): do not leave a server behind.
    child?.kill('SIGKILL');
    rmSync(datadir, { recursive: true, force: true });
  };

  try {
    if (asRoot) {
      const { uid, gid } = await mysqlIds();
      chownSync(datadir, uid, gid);
    }
    await execFileAsync(
      installDb,
      [
        '--no-defaults',
        ...userArgs,
        `--datadir=${datadir}`,
        '--skip-test-db',
        '--auth-root-authentication-method=socket',
        ...(asRoot ? [] : [`--auth-root-socket-user=${adminUser}`]),
        ...smallAndFast,
      ],
      { timeout: startTimeoutMs },
    ).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`mariadb-install-db failed: ${err.message}\n${err.stderr ?? ''}${err.stdout ?? ''}`.trim());
    });

    process.once('exit', onExit);
    await launch();

    const admin = await createConnection({ socketPath, user: adminUser });
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        await admin.query(`CREATE USER IF NOT EXISTS '${APP_USER}'@'${host}' IDENTIFIED BY '${APP_PASSWORD}'`);
        await admin.query(`GRANT ALL PRIVILEGES ON \`hongbao%\`.* TO '${APP_USER}'@'${host}'`);
      }
    } finally {
      await admin.end();
    }
  } catch (err) {
    await kill(child, () => exited !== undefined);
    process.removeListener('exit', onExit);
    rmSync(datadir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const running = () => !!child && exited === undefined && child.exitCode === null && child.signalCode === null;
  return {
    port,
    socketPath,
    url: (db: string) => `mysql://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${port}/${db}`,
    get running() {
      return running();
    },
    async shutdown(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') {
      if (!running()) return;
      const c = child!;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill(signal);
      await gone;
    },
    async start() {
      if (stopped) throw new Error('startMariaDbServer: start() after stop()');
      if (running()) return;
      await assertPortFree(port);
      await launch();
    },
    stop() {
      stopped ??= (async () => {
        // The data is disposable, so there is no need for a clean shutdown.
        await kill(child, () => exited !== undefined);
        process.removeListener('exit', onExit);
        rmSync(datadir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function findBinary(name: string): string {
  // Debian keeps mariadbd in /usr/sbin, which is often missing from a non-root PATH.
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return name; // let spawn search PATH; a missing binary surfaces as ENOENT naming it
}

async function mysqlIds(): Promise<{ uid: number; gid: number }> {
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', 'mysql']),
      execFileAsync('id', ['-g', 'mysql']),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new Error('startMariaDbServer: running as root but there is no "mysql" OS user to run mariadbd as');
  }
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `startMariaDbServer: port ${port} on 127.0.0.1 is not free (${err.code ?? err.message}); is another test server still running?`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

async function waitUntilReady(
  socketPath: string,
  user: string,
  timeoutMs: number,
  hasExited: () => boolean,
  errorLog: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (hasExited()) {
      throw new Error(`startMariaDbServer: mariadbd exited during startup.\n${tail(errorLog)}`);
    }
    if (existsSync(socketPath)) {
      try {
        const conn = await createConnection({ socketPath, user, connectTimeout: 2000 });
        await conn.query('SELECT 1');
        await conn.end();
        return;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `startMariaDbServer: no answer on ${socketPath} within ${timeoutMs} ms (${lastError || 'socket never appeared'}).\n${tail(errorLog)}`,
  );
}

async function kill(child: ChildProcess | undefined, hasExited: () => boolean): Promise<void> {
  if (!child || hasExited() || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}
