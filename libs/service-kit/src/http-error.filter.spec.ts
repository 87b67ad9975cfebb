import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import Fastify from 'fastify';
import pino from 'pino';
import { hasNonUtf8JsonCharset, sendHttpError, toHttpError } from './http-error.filter';

describe('toHttpError', () => {
  it('maps domain errors to their status with their details', () => {
    expect(toHttpError(new AppError(ErrorCode.EnvelopeAlreadyGrabbed, 'already', { amount: 7 }))).toEqual({
      status: 409,
      body: { code: 'ENVELOPE.ALREADY_GRABBED', message: 'already', amount: 7 },
    });
    expect(toHttpError(new AppError(ErrorCode.WalletInsufficientFunds, 'low')).status).toBe(422);
  });

  it('leaves retryAfterSeconds out of the body (it is the Retry-After header) and never touches the error', () => {
    const err = new AppError(ErrorCode.RateLimited, 'slow down', { scope: 'ip', retryAfterSeconds: 3 });
    expect(toHttpError(err)).toEqual({ status: 429, body: { code: 'RATE_LIMITED', message: 'slow down', scope: 'ip' } });
    // The same error answered twice (the gateway reuses its sold-out answer) gets the same body.
    expect(toHttpError(err)).toEqual(toHttpError(err));
    expect(err.details).toEqual({ scope: 'ip', retryAfterSeconds: 3 });
  });

  it('keeps internal names out of dependency failures', () => {
    const r = toHttpError(new AppError(ErrorCode.DependencyUnavailable, 'wallet: no reachable address', { target: 'wallet', address: '10.0.0.3:4002' }));
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ code: 'DEPENDENCY.UNAVAILABLE', message: 'a dependency is unavailable; retry later' });
  });

  it('gives an INTERNAL error from a service the bare internal message', () => {
    expect(toHttpError(new AppError(ErrorCode.Internal, 'boom at wallet.service.ts:42'))).toEqual({ status: 500, body: { code: 'INTERNAL', message: 'internal error' } });
  });

  it("maps Fastify's parser errors to 4xx codes", () => {
    const fst = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    expect(toHttpError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({ status: 413, body: { code: 'REQUEST.TOO_LARGE' } });
    expect(toHttpError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({ status: 415, body: { code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE' } });
    expect(toHttpError(fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400))).toMatchObject({ status: 400, body: { code: 'VALIDATION.FAILED' } });
    expect(toHttpError(Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 }))).toEqual({
      status: 400,
      body: { code: 'VALIDATION.FAILED', message: 'request body is not valid JSON' },
    });
  });

  it("maps Nest's HTTP exceptions by status", () => {
    expect(toHttpError(new NotFoundException())).toMatchObject({ status: 404, body: { code: 'ROUTE.NOT_FOUND' } });
    expect(toHttpError(new HttpException('too big', 413))).toMatchObject({ status: 413, body: { code: 'REQUEST.TOO_LARGE' } });
    expect(toHttpError(new HttpException('nope', 415))).toMatchObject({ status: 415, body: { code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE' } });
    expect(toHttpError(new BadRequestException('bad'))).toMatchObject({ status: 400, body: { code: 'VALIDATION.FAILED' } });
  });

  it('turns anything else into a bare 500 with no stack or message', () => {
    const r = toHttpError(new TypeError('cannot read x of undefined at /srv/app.js:10'));
    expect(r).toEqual({ status: 500, body: { code: 'INTERNAL', message: 'internal error' } });
  });
});

describe('request-level contract helpers', () => {
  it('maps a malformed URL escape to 400 VALIDATION.FAILED', () => {
    expect(toHttpError({ code: 'FST_ERR_BAD_URL' })).toEqual({ status: 400, body: { code: 'VALIDATION.FAILED', message: 'malformed URL (bad percent-encoding)' } });
  });

  it.each([
    ['application/json', false],
    ['application/json; charset=utf-8', false],
    ['Application/JSON; Charset="UTF8"', false],
    [undefined, false],
    ['text/plain; charset=latin1', false],
    ['application/json; charset=latin1', true],
    ['application/json;charset=ISO-8859-1', true],
    ['application/json; charset=utf-16', true],
    ['application/json; charset=', true],
  ])('treats content-type %p as a non-UTF-8 JSON body: %p', (ct, expected) => {
    expect(hasNonUtf8JsonCharset(ct)).toBe(expected);
  });
});

describe('sendHttpError', () => {
  it('answers a frozen AppError (serialized once) exactly as the same error unfrozen, with each answer\'s correlation id', async () => {
    const frozen = Object.freeze(new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken'));
    const limited = Object.freeze(new AppError(ErrorCode.RateLimited, 'slow down', { scope: 'ip', retryAfterSeconds: 7 }));
    let n = 0;
    const app = Fastify({ genReqId: () => `req-${++n}` });
    const log = pino({ level: 'silent' });
    app.get('/frozen', (req, reply) => sendHttpError(reply, req, frozen, log));
    app.get('/fresh', (req, reply) => sendHttpError(reply, req, new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken'), log));
    app.get('/limited', (req, reply) => sendHttpError(reply, req, limited, log));
    app.get('/limited-fresh', (req, reply) => sendHttpError(reply, req, new AppError(ErrorCode.RateLimited, 'slow down', { scope: 'ip', retryAfterSeconds: 7 }), log));
    try {
      for (const [a, b] of [['/frozen', '/fresh'], ['/frozen', '/fresh'], ['/limited', '/limited-fresh']]) {
        const [x, y] = [await app.inject({ url: a }), await app.inject({ url: b })];
        expect(x.statusCode).toBe(y.statusCode);
        expect(x.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(x.headers['retry-after']).toBe(y.headers['retry-after']);
        const [bx, by] = [x.json(), y.json()];
        expect(bx.correlationId).toBe(x.headers['x-correlation-id']);
        expect(by.correlationId).toBe(y.headers['x-correlation-id']);
        expect(bx.correlationId).not.toBe(by.correlationId);
        expect({ ...bx, correlationId: 'x' }).toEqual({ ...by, correlationId: 'x' });
      }
      const sold = await app.inject({ url: '/frozen' });
      expect(sold.statusCode).toBe(410);
      expect(sold.json()).toEqual({ code: 'ENVELOPE.SOLD_OUT', message: 'all shares are taken', correlationId: sold.headers['x-correlation-id'] });
      const lim = await app.inject({ url: '/limited' });
      expect(lim.statusCode).toBe(429);
      expect(lim.headers['retry-after']).toBe('7');
      expect(lim.json()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', scope: 'ip', correlationId: lim.headers['x-correlation-id'] });
    } finally {
      await app.close();
    }
  });
});
