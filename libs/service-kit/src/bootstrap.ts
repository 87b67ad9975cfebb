import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { trace } from '@opentelemetry/api';
import { AppErrorRpcFilter } from '@hongbao/rpc';
import type { ServiceBaseConfig } from '@hongbao/config';
import { Admission } from './admission';
import { clientErrorHandler, hasNonUtf8JsonCharset, HttpErrorFilter, sendHttpError } from './http-error.filter';
import { createLogger, PinoNestLogger } from './logger';
import { labelledChildren, Metrics } from './metrics';
import { Readiness } from './readiness';
import { ServiceKitModule } from './service-kit.module';
import { DirectRpcHandlers, RpcServer } from './rpc-server';
import { currentTraceparent, startTracing, stopTracing, traceLogFields } from './tracing';

export interface RunServiceOptions {
  name: string;
  config: ServiceBaseConfig & { LOG_REQUESTS?: boolean };
  /** the app's own root module (wiring only) */
  appModule: DynamicModule;
  /** TCP port of the RPC listener; none for the gateway */
  rpcPort?: number;
  /** max request body in bytes, default 16 KiB */
  bodyLimit?: number;
  /** Fastify trustProxy (a list of proxy addresses/CIDRs, or false) */
  trustProxy?: string[] | false;
  /** `node main.js migrate` runs this and exits instead of serving */
  migrate?: (log: ReturnType<typeof createLogger>) => Promise<unknown>;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The one bootstrap every service's main.ts calls: tracing (see ./tracing), pino JSON logs,
 * Fastify with a body limit, correlation ids, health and metrics routes, request metrics, error
 * mapping, the TCP RPC listener, and graceful shutdown (not-ready first, then drain and close).
 */
export async function runService(opts: RunServiceOptions): Promise<NestFastifyApplication | undefined> {
  const { name, config } = opts;
  const tracing = !process.argv.includes('migrate') && startTracing(name);
  const log = createLogger(name, config.LOG_LEVEL, tracing ? traceLogFields : undefined);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  if (process.argv.includes('migrate')) {
    if (!opts.migrate) throw new Error(`${name} has no migrations`);
    await opts.migrate(log);
    log.info('migrations complete');
    return undefined;
  }

  const metrics = new Metrics(name);
  metrics.registry.setDefaultLabels({ service: name, version: config.SERVICE_VERSION });
  const readiness = new Readiness();
  // Filled by the app's providers at module init; RpcServer answers those patterns directly.
  const direct = new DirectRpcHandlers();
  const admission = new Admission(
    { maxInflight: config.SHED_MAX_INFLIGHT, maxEventLoopDelayMs: config.SHED_MAX_EVENT_LOOP_DELAY_MS, retryAfterSeconds: config.SHED_RETRY_AFTER_SECONDS },
    metrics,
  );

  @Module({ imports: [ServiceKitModule.register({ name, log, metrics, readiness, admission, direct }), opts.appModule] })
  class RootModule {}

  const adapter = new FastifyAdapter({
    bodyLimit: opts.bodyLimit ?? 16 * 1024,
    logger: false,
    trustProxy: opts.trustProxy && opts.trustProxy.length ? opts.trustProxy : false,
    requestIdHeader: false,
    // Errors before routing (a malformed URL escape) and requests the HTTP parser refuses get
    // the same coded JSON bodies as everything else.
    frameworkErrors: (err: unknown, req: FastifyRequest, reply: FastifyReply) => sendHttpError(reply, req, err, log),
    clientErrorHandler,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const h = req.headers['x-correlation-id'];
      return typeof h === 'string' && CORRELATION_ID.test(h) ? h : randomUUID();
    },
  });
  const fastify = adapter.getInstance();
  // JSON only: Fastify's own JSON parser stays (it strips __proto__ pollution); its text/plain
  // parser goes, and Nest's form parser is never added (bodyParser: false below), so any other
  // content type is a 415.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', (req, reply, done) => {
    // The correlation id goes back on every answer (set here rather than in an onSend hook: one hook less per request).
    reply.header('x-correlation-id', req.id);
    if (!hasNonUtf8JsonCharset(req.headers['content-type'])) return done();
    sendHttpError(reply, req, { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }, log);
  });
  // Load shedding first: a shed request must cost nothing but the 503.
  admission.install(fastify);
  const logRequests = config.LOG_REQUESTS ?? true;
  // Route patterns (or 'unmatched'), the parser's methods and status codes: a bounded set.
  const httpChildren = labelledChildren((method, route, status) => ({ count: metrics.httpRequests.labels(method, route, status), time: metrics.httpDuration.labels(method, route, status) }));
  // Callback-style hooks: an async hook costs a promise per request on every route.
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    const seconds = reply.elapsedTime / 1000;
    const m = httpChildren(req.method, route, status);
    m.count.inc();
    m.time.observe(seconds);
    if (logRequests && route !== '/metrics' && !route.startsWith('/health')) {
      log.info({ reqId: req.id, method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
    done();
  });
  if (tracing) {
    // The HTTP instrumentation's server span knows only the method; name it by route, tag it
    // with the correlation id, and hand its traceparent back so a caller can find its trace.
    fastify.addHook('onRequest', async (req) => {
      const span = trace.getActiveSpan();
      const route = req.routeOptions.url;
      if (route) span?.updateName(`${req.method} ${route}`).setAttribute('http.route', route);
      span?.setAttribute('hongbao.correlation_id', req.id);
    });
    fastify.addHook('onSend', async (_req, reply) => {
      const tp = currentTraceparent();
      if (tp) reply.header('traceparent', tp);
    });
  }

  const app = await NestFactory.create<NestFastifyApplication>(RootModule, adapter, { logger: new PinoNestLogger(log), bodyParser: false });
  // One filter serves both transports (inheritAppConfig below): it acts by context type.
  app.useGlobalFilters(new HttpErrorFilter(log, new AppErrorRpcFilter()));

  if (opts.rpcPort) {
    // No global interceptors (every route and message pays for each one, even one that returns
    // at once): the RPC side's metrics, load shedding and tracing wrap each message handler in
    // RpcServer, the HTTP side's are Fastify hooks above.
    app.connectMicroservice({ strategy: new RpcServer({ host: config.HOST, port: opts.rpcPort, metrics, admission, tracing: !!tracing, direct }) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    readiness.markShuttingDown();
    log.info({ signal }, 'shutting down');
    await app.close();
    await stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ port: config.PORT, host: config.HOST });
  log.info({ port: config.PORT, rpcPort: opts.rpcPort }, `${name} listening`);
  return app;
}

export { Admission, Metrics, Readiness };
