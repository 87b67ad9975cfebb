import { AppError, ErrorCode } from '@hongbao/contracts';
import { Controller, Inject, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { createServer, type Server, type Socket } from 'node:net';
import { AppErrorRpcFilter, tcpServerOptions } from '../../src';

const INSTANCE_ID = Symbol('INSTANCE_ID');

/** What the echo handler answers: which instance served the call, and the data it got. */
export interface EchoReply {
  instance: string;
  data: unknown;
}

@Controller()
class EchoController {
  constructor(@Inject(INSTANCE_ID) private readonly instance: string) {}

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
  hang(): Promise<never> {
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
  /** Simulates a crash: resets every client connection, then shuts the app down. */
  kill(): Promise<void>;
}

/** Starts a tiny Nest TCP microservice whose `echo` handler names `instance`. */
export async function startEchoService(instance: string, port: number): Promise<EchoService> {
  @Module({ controllers: [EchoController], providers: [{ provide: INSTANCE_ID, useValue: instance }] })
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
