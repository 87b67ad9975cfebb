import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { hasNonUtf8JsonCharset, toHttpError } from './http-error.filter';

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
