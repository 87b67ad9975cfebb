import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { AppError, ErrorCode, HTTP_STATUS_BY_CODE } from '@hongbao/contracts';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * The one place where error codes become HTTP statuses. AppError -> its mapped status;
 * Fastify's own errors (bad JSON, body too large, wrong content type) -> 4xx codes;
 * anything else is a bug -> 500 INTERNAL with no stack in the body.
 */
export function toHttpError(err: unknown): { status: number; body: { code: string; message: string; [k: string]: unknown } } {
  if (err instanceof AppError) {
    // Details of domain errors are for the client (e.g. the earlier amount); those of
    // dependency failures name internal services and addresses, so they stay in the logs.
    const internal = err.code.startsWith('DEPENDENCY.') || err.code === ErrorCode.Internal;
    const message = err.code === ErrorCode.Internal ? 'internal error' : internal ? 'a dependency is unavailable; retry later' : err.message;
    const body: { code: string; message: string; [k: string]: unknown } = { code: err.code, message };
    // retryAfterSeconds travels as the Retry-After header (sendHttpError), not in the body.
    if (!internal && err.details) for (const k in err.details) if (k !== 'retryAfterSeconds') body[k] = err.details[k];
    return { status: HTTP_STATUS_BY_CODE[err.code] ?? 500, body };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; getStatus?: () => number };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { code: ErrorCode.BodyTooLarge, message: 'request body is too large' } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { code: ErrorCode.UnsupportedMediaType, message: 'content-type must be application/json' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { code: ErrorCode.ValidationFailed, message: 'request body is empty' } };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: { code: ErrorCode.ValidationFailed, message: 'malformed URL (bad percent-encoding)' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { code: ErrorCode.ValidationFailed, message: 'invalid content-length' } };
  }
  if (err instanceof SyntaxError || (err as Error)?.name === 'SyntaxError' || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, body: { code: ErrorCode.ValidationFailed, message: 'request body is not valid JSON' } };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status === 404) return { status, body: { code: ErrorCode.RouteNotFound, message: 'no such route' } };
    if (status === 413) return { status, body: { code: ErrorCode.BodyTooLarge, message: 'request body is too large' } };
    // Nest rewraps Fastify's content-type errors as bare HttpExceptions: map by status.
    if (status === 415) return { status, body: { code: ErrorCode.UnsupportedMediaType, message: 'content-type must be application/json' } };
    if (status >= 400 && status < 500) return { status, body: { code: ErrorCode.ValidationFailed, message: err.message } };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { code: ErrorCode.ValidationFailed, message: e.message ?? 'bad request' } };
  }
  return { status: 500, body: { code: ErrorCode.Internal, message: 'internal error' } };
}

/** Global filter: HTTP errors become coded JSON bodies; on the RPC side it defers to the RPC filter. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(
    private readonly log: Logger,
    private readonly rpc?: ExceptionFilter,
  ) {}

  catch(err: unknown, host: ArgumentsHost): unknown {
    if (host.getType() === 'rpc' && this.rpc) return this.rpc.catch(err, host);
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    sendHttpError(reply, req, err, this.log);
  }
}

/** Frozen AppErrors' statuses and bodies, serialized once (see sendHttpError). */
const serialized = new WeakMap<AppError, { status: number; head: string }>();

export function sendHttpError(reply: FastifyReply, req: FastifyRequest, err: unknown, log: Logger): void {
  // An AppError its owner froze is answered over and over (the gateway's sold-out answer): its
  // status and body are mapped and serialized once, the correlation id appended per answer.
  if (err instanceof AppError && Object.isFrozen(err)) {
    let s = serialized.get(err);
    if (!s) {
      const { status, body } = toHttpError(err);
      s = { status, head: `${JSON.stringify(body).slice(0, -1)},"correlationId":` };
      serialized.set(err, s);
    }
    if (s.status === 503 || s.status === 429) reply.header('retry-after', String(err.details?.['retryAfterSeconds'] ?? 1));
    reply.header('x-correlation-id', req.id);
    void reply.status(s.status).header('content-type', 'application/json; charset=utf-8').send(`${s.head}${JSON.stringify(req.id)}}`);
    return;
  }
  const { status, body } = toHttpError(err);
  if (status >= 500 && !(err instanceof AppError)) log.error({ err, reqId: req.id }, 'unhandled error');
  if (status === 503 || status === 429) reply.header('retry-after', String((err as AppError)?.details?.['retryAfterSeconds'] ?? 1));
  body['correlationId'] = req.id;
  // Also for errors raised before the onRequest hooks ran (a malformed URL: Fastify's frameworkErrors).
  reply.header('x-correlation-id', req.id);
  // Serialized here (one JSON.stringify of a small object): Fastify then sends the string as is.
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/**
 * Fastify's clientErrorHandler: requests Node's HTTP parser refuses (control characters in a
 * header, a bad method, conflicting lengths, headers too large) never reach a route, so they get
 * the same coded JSON body here, written on the raw socket, and the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const correlationId = randomUUID();
  const body = JSON.stringify(
    tooLarge
      ? { code: ErrorCode.HeadersTooLarge, message: 'request headers are too large', correlationId }
      : { code: ErrorCode.ValidationFailed, message: 'malformed HTTP request', correlationId },
  );
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-correlation-id: ${correlationId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const UTF8 = new Set(['utf-8', 'utf8']);

/** A JSON body declared in another charset than UTF-8 would be misread: 415 (the only JSON charset is UTF-8, RFC 8259). */
export function hasNonUtf8JsonCharset(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [media, ...params] = contentType.split(';');
  if (media.trim().toLowerCase() !== 'application/json') return false;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && !UTF8.has((v ?? '').trim().replace(/^"|"$/g, '').toLowerCase())) return true;
  }
  return false;
}
