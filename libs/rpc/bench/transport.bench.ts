/**
 * Echo round-trip throughput of the transports considered for service-to-service RPC
 * (docs/adr/0001-rpc-transport.md), in one run on one machine:
 *
 * - fastify-autocannon: a bare Fastify POST route driven by autocannon (the HTTP ceiling);
 * - fastify-undici:     the same route through an undici Pool (what an HTTP RPC client would do);
 * - nest-tcp:           a Nest TCP microservice through RpcClient (the chosen transport);
 * - nats:               NATS request/reply through a nats-server, queue-group responder;
 * - grpc:               grpc-js unary call with a JSON codec (no protobuf, same payload work).
 *
 * Every server runs in its own child process, the load in this one, so on a 2-core box the
 * caller and the callee each get a core (nats-server shares them). Each transport is run
 * ROUNDS times, interleaved, with CONCURRENCY calls always in flight; medians and ratios are
 * printed. Env: BENCH_CONCURRENCY (64), BENCH_DURATION_MS (5000), BENCH_WARMUP_MS (1000),
 * BENCH_ROUNDS (3), NATS_URL (nats://127.0.0.1:4222), BENCH_ONLY (comma list of transports).
 *
 * Run: npx nx run rpc:bench
 *  (= TS_NODE_PROJECT=libs/rpc/tsconfig.spec.json node -r ts-node/register/transpile-only
 *     -r tsconfig-paths/register libs/rpc/bench/transport.bench.ts)
 */
import * as grpc from '@grpc/grpc-js';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect as natsConnect, JSONCodec } from 'nats';
import { Pool } from 'undici';
import { AppErrorRpcFilter, RpcClient, tcpServerOptions } from '../src';

const TRANSPORTS = ['fastify-autocannon', 'fastify-undici', 'nest-tcp', 'nats', 'grpc'] as const;
type Transport = (typeof TRANSPORTS)[number];

const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 64);
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 5000);
const WARMUP_MS = Number(process.env['BENCH_WARMUP_MS'] ?? 1000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const NATS_URL = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const NATS_SUBJECT = `hongbao.bench.echo.${process.pid}`;
/** a grab-sized message */
const PAYLOAD = { envelopeId: '7301234567890123456', userId: '1234567890', amount: 1234, note: 'hongbao echo' };

// ---------------------------------------------------------------- servers (child processes)

@Controller()
class EchoController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

type Json = typeof PAYLOAD;
const jsonBytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const fromJsonBytes = (b: Buffer): Json => JSON.parse(b.toString('utf8')) as Json;
const GRPC_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: '/hongbao.bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: jsonBytes,
    requestDeserialize: fromJsonBytes,
    responseSerialize: jsonBytes,
    responseDeserialize: fromJsonBytes,
  },
};

async function serve(transport: Transport, port: number): Promise<void> {
  switch (transport) {
    case 'fastify-autocannon':
    case 'fastify-undici': {
      const { default: Fastify } = await import('fastify');
      const app = Fastify({ logger: false });
      app.post('/echo', async (req) => req.body);
      await app.listen({ port, host: '127.0.0.1' });
      break;
    }
    case 'nest-tcp': {
      const app = await NestFactory.createMicroservice(EchoModule, { ...tcpServerOptions(port, '127.0.0.1'), logger: false });
      app.useGlobalFilters(new AppErrorRpcFilter());
      await app.listen();
      break;
    }
    case 'nats': {
      const nc = await natsConnect({ servers: NATS_URL });
      const jc = JSONCodec();
      nc.subscribe(process.env['BENCH_NATS_SUBJECT'] as string, {
        queue: 'echo',
        callback: (err, msg) => {
          if (!err) msg.respond(jc.encode(jc.decode(msg.data)));
        },
      });
      await nc.flush();
      break;
    }
    case 'grpc': {
      const server = new grpc.Server();
      server.addService(GRPC_SERVICE, {
        echo: (call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => cb(null, call.request),
      });
      await new Promise<void>((resolve, reject) =>
        server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
      );
      break;
    }
  }
  process.on('message', (msg) => {
    if (msg === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpuMicros: user + system });
    }
  });
  process.send?.('ready');
  process.on('disconnect', () => process.exit(0));
}

function startServer(transport: Transport, port: number): Promise<ChildProcess> {
  const child = fork(__filename, ['--serve', transport, String(port)], {
    execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
    env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', 'tsconfig.spec.json'), BENCH_NATS_SUBJECT: NATS_SUBJECT },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${transport} server exited with ${code} before it was ready`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.disconnect();
  await exited;
}

// ---------------------------------------------------------------- load (this process)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (µs) the server child has used so far, asked over IPC. */
function serverCpuMicros(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (msg: unknown) => {
      if (typeof msg === 'object' && msg !== null && 'cpuMicros' in msg) {
        child.off('message', onMessage);
        resolve((msg as { cpuMicros: number }).cpuMicros);
      }
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/** pid of the local nats-server, if this box runs one we can see in /proc */
function findBrokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'nats-server') return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

/** CPU time (µs) of a foreign process from /proc (clock ticks: 10 ms resolution, fine over seconds). */
function procCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** Brackets the measured window: CPU used by the server child, the broker (if any) and this (load) process. */
class Window {
  private server0 = 0;
  private client0 = 0;
  private broker0 = 0;
  serverMicros = 0;
  clientMicros = 0;
  brokerMicros: number | undefined;
  constructor(
    private readonly child: ChildProcess,
    private readonly brokerPid?: number,
  ) {}
  async begin(): Promise<void> {
    this.server0 = await serverCpuMicros(this.child);
    if (this.brokerPid !== undefined) this.broker0 = procCpuMicros(this.brokerPid);
    const c = process.cpuUsage();
    this.client0 = c.user + c.system;
  }
  async end(): Promise<void> {
    const c = process.cpuUsage();
    this.clientMicros = c.user + c.system - this.client0;
    if (this.brokerPid !== undefined) this.brokerMicros = procCpuMicros(this.brokerPid) - this.broker0;
    this.serverMicros = (await serverCpuMicros(this.child)) - this.server0;
  }
}

interface Measured {
  rps: number;
  requests: number;
  window: Window;
}

/** CONCURRENCY closed loops over `call`; requests completed during the measured window. */
async function closedLoops(call: () => Promise<unknown>, window: Window): Promise<Measured> {
  let stop = false;
  let measuring = false;
  let count = 0;
  let errors = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        await call();
        if (measuring) count++;
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await sleep(WARMUP_MS);
  await window.begin();
  measuring = true;
  const t0 = performance.now();
  await sleep(DURATION_MS);
  measuring = false;
  const t1 = performance.now();
  await window.end();
  stop = true;
  await Promise.all(workers);
  if (errors > 0) throw new Error(`${errors} calls failed, first: ${String((firstError as Error)?.message ?? firstError)}`);
  return { rps: count / ((t1 - t0) / 1000), requests: count, window };
}

function checkEcho(reply: unknown): void {
  if (JSON.stringify(reply) !== JSON.stringify(PAYLOAD)) throw new Error(`bad echo: ${JSON.stringify(reply)}`);
}

async function load(transport: Transport, port: number, window: Window): Promise<Measured> {
  switch (transport) {
    case 'fastify-autocannon': {
      const opts = {
        url: `http://127.0.0.1:${port}/echo`,
        method: 'POST' as const,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(PAYLOAD),
        connections: CONCURRENCY,
      };
      await autocannon({ ...opts, duration: WARMUP_MS / 1000 });
      await window.begin();
      const result = await autocannon({ ...opts, duration: DURATION_MS / 1000 });
      await window.end();
      if (result.errors > 0 || result.non2xx > 0) throw new Error(`autocannon: ${result.errors} errors, ${result.non2xx} non-2xx`);
      return { rps: result.requests.total / result.duration, requests: result.requests.total, window };
    }
    case 'fastify-undici': {
      const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
      const body = JSON.stringify(PAYLOAD);
      const call = async () => {
        const res = await pool.request({ path: '/echo', method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return res.body.json();
      };
      try {
        checkEcho(await call());
        return await closedLoops(call, window);
      } finally {
        await pool.close();
      }
    }
    case 'nest-tcp': {
      const client = new RpcClient({ target: `127.0.0.1:${port}`, name: 'bench' });
      await client.connect();
      try {
        checkEcho(await client.send('echo', PAYLOAD));
        return await closedLoops(() => client.send('echo', PAYLOAD), window);
      } finally {
        await client.close();
      }
    }
    case 'nats': {
      const nc = await natsConnect({ servers: NATS_URL });
      const jc = JSONCodec();
      const call = async () => jc.decode((await nc.request(NATS_SUBJECT, jc.encode(PAYLOAD), { timeout: 5000 })).data);
      try {
        checkEcho(await call());
        return await closedLoops(call, window);
      } finally {
        await nc.close();
      }
    }
    case 'grpc': {
      const Client = grpc.makeGenericClientConstructor(GRPC_SERVICE, 'Echo');
      const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const echo = (client as unknown as Record<string, (req: Json, cb: (err: Error | null, res: Json) => void) => void>)['echo'].bind(client);
      const call = () => new Promise<Json>((resolve, reject) => echo(PAYLOAD, (err, res) => (err ? reject(err) : resolve(res))));
      try {
        checkEcho(await call());
        return await closedLoops(call, window);
      } finally {
        client.close();
      }
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Run {
  rps: number;
  /** server process CPU per call, µs */
  serverUs: number;
  /** load-generating process CPU per call, µs (includes the client library) */
  clientUs: number;
  /** broker process CPU per call, µs (NATS only; NaN when not measured) */
  brokerUs: number;
  /** 1-minute load average when the run ended: other work on the box skews the numbers */
  load1: number;
}

async function main(): Promise<void> {
  const only = process.env['BENCH_ONLY']?.split(',').map((s) => s.trim());
  const transports = TRANSPORTS.filter((t) => !only || only.includes(t));
  const cpu = cpus();
  console.log(
    `machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
      `concurrency ${CONCURRENCY}, ${DURATION_MS} ms measured after ${WARMUP_MS} ms warm-up, ${ROUNDS} rounds; load average at start ${loadavg()[0].toFixed(2)}`,
  );
  const results = new Map<Transport, Run[]>(transports.map((t) => [t, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const transport of transports) {
      const port = await freePort();
      const server = await startServer(transport, port);
      try {
        const brokerPid = transport === 'nats' ? findBrokerPid() : undefined;
        const { rps, requests, window } = await load(transport, port, new Window(server, brokerPid));
        const run: Run = {
          rps,
          serverUs: window.serverMicros / requests,
          clientUs: window.clientMicros / requests,
          brokerUs: window.brokerMicros === undefined ? Number.NaN : window.brokerMicros / requests,
          load1: loadavg()[0],
        };
        results.get(transport)?.push(run);
        console.log(
          `round ${round} ${transport.padEnd(18)} ${fmt(rps).padStart(8)} req/s  server ${run.serverUs.toFixed(1).padStart(6)} µs/call` +
            `  client ${run.clientUs.toFixed(1).padStart(6)} µs/call` +
            (Number.isNaN(run.brokerUs) ? '' : `  broker ${run.brokerUs.toFixed(1).padStart(6)} µs/call`) +
            `  load1 ${run.load1.toFixed(2)}`,
        );
      } finally {
        await stopServer(server);
      }
    }
  }

  const med = (t: Transport, k: keyof Run): number => median((results.get(t) ?? []).map((r) => r[k]));
  const ceiling = transports.includes('fastify-autocannon') ? med('fastify-autocannon', 'rps') : undefined;
  const nest = transports.includes('nest-tcp') ? med('nest-tcp', 'rps') : undefined;
  console.log(
    '\n| transport | runs (req/s) | median req/s | vs Fastify ceiling | vs Nest TCP | server CPU µs/call | client CPU µs/call | broker CPU µs/call |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of transports) {
    const m = med(t, 'rps');
    const runs = (results.get(t) ?? []).map((r) => fmt(r.rps)).join(' / ');
    const vsCeiling = ceiling ? `${(m / ceiling).toFixed(2)}x` : '-';
    const vsNest = nest ? `${(m / nest).toFixed(2)}x` : '-';
    const broker = med(t, 'brokerUs');
    console.log(
      `| ${t} | ${runs} | ${fmt(m)} | ${vsCeiling} | ${vsNest} | ${med(t, 'serverUs').toFixed(0)} | ${med(t, 'clientUs').toFixed(0)} | ${Number.isNaN(broker) ? '-' : broker.toFixed(0)} |`,
    );
  }
  console.log(
    `\nload average at end ${loadavg()[0].toFixed(2)}: the bench itself keeps about 2 runnable; ` +
      `much more means other processes shared the ${cpu.length} cores and the runs above are low and noisy`,
  );
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3] as Transport, Number(process.argv[4])).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
