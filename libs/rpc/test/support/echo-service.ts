import { AppError, ErrorCode } from '@hongbao/contracts';
import { Controller, Inject, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { createServer, type Server, type Socket } from 'node:net';
import { AppErrorRpcFilter, tcpServerOptions } from '../../src';

const INSTANCE_ID = Symbol('INSTANCE_ID');
const RECEPTIONS = Symbol('RECEPTIONS');

/** Payload of the `flaky.*` patterns: fail with DEPENDENCY.UNAVAILABLE the first `failTimes` receptions of `key`. */
export interface FlakyRequest {
  key: string;
  failTimes: number;
}

/** What the echo handler answers: which instance served the call, and the data it got. */
export interface EchoReply {
  instance: string;
  data: unknown;
}

@Controller()
class EchoController {
  constructor(
    @Inject(INSTANCE_ID) private readonly instance: string,
    @Inject(RECEPTIONS) private readonly receptions: Map<string, number>,
  ) {}

  // Two patterns, one handler: the client decides which one it may retry.
  @MessagePattern('flaky.read')
  flakyRead(@Payload() req: FlakyRequest): EchoReply {
    return this.flaky(req);
  }

  @MessagePattern('flaky.write')
  flakyWrite(@Payload() req: FlakyRequest): EchoReply {
    return this.flaky(req);
  }

  private flaky(req: FlakyRequest): EchoReply {
    const n = (this.receptions.get(req.key) ?? 0) + 1;
    this.receptions.set(req.key, n);
    if (n <= req.failTimes) throw new AppError(ErrorCode.DependencyUnavailable, `flaky ${req.key} reception ${n}`);
    return { instance: this.instance, data: req };
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): EchoReply {
    return { instance: this.instance, data };
  }

  @MessagePattern('fail.app')
  failApp(): never {
    throw new AppError(ErrorCode.EnvelopeAlreadyGrabbed, 'already grabbed', { amount: 42, envelopeId: 'e-1' });
  }

  @MessagePattern('fail.plain')
  failPlain(): never {
    throw new Error('secret-boom at handler');
  }

  @MessagePattern('hang')
  hang(@Payload() req: { key?: string }): Promise<never> {
    if (req?.key) this.receptions.set(req.key, (this.receptions.get(req.key) ?? 0) + 1);
    return new Promise<never>(() => undefined);
  }
}

/** A running echo microservice on 127.0.0.1. */
export interface EchoService {
  readonly instance: string;
  readonly port: number;
  readonly address: string;
  /** server-side sockets currently open (connections from clients) */
  openConnections(): number;
  /** how many times a `flaky.*` or `hang` request with this key reached the server */
  receptions(key: string): number;
  /** Simulates a crash: resets every client connection, then shuts the app down. */
  kill(): Promise<void>;
}

/** Starts a tiny Nest TCP microservice whose `echo` handler names `instance`. */
export async function startEchoService(instance: string, port: number): Promise<EchoService> {
  const receptions = new Map<string, number>();
  @Module({
    controllers: [EchoController],
    providers: [
      { provide: INSTANCE_ID, useValue: instance },
      { provide: RECEPTIONS, useValue: receptions },
    ],
  })
  class EchoModule {}

  const app: INestMicroservice = await NestFactory.createMicroservice(EchoModule, {
    ...tcpServerOptions(port, '127.0.0.1'),
    logger: false,
  });
  app.useGlobalFilters(new AppErrorRpcFilter());
  const sockets = new Set<Socket>();
  const server = app.unwrap<Server>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await app.listen();
  let killed = false;
  return {
    instance,
    port,
    address: `127.0.0.1:${port}`,
    openConnections: () => sockets.size,
    receptions: (key) => receptions.get(key) ?? 0,
    async kill() {
      if (killed) return;
      killed = true;
      // Nest's TCP server.close() only stops accepting: established connections would keep
      // being served. A crashed process resets them, so do that.
      for (const socket of sockets) socket.resetAndDestroy();
      await app.close();
    },
  };
}

/** A port that was free a moment ago (Nest TCP options cannot listen on 0 and report back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `predicate` every 10 ms until it holds; throws after `withinMs`. */
export async function waitFor(predicate: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
