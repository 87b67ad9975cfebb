import { AppError, ErrorCode } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { gatewayConfigSchema, GatewayConfig } from '../config';
import { envelopeId, idempotencyKey, parse, schemas } from './validation';

const config = loadConfig(gatewayConfigSchema, { JWT_SECRET: 'x'.repeat(32), MAX_COUNT: '100', MAX_AMOUNT: '100000' }) as GatewayConfig;
const s = schemas(config);

function failure(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected a validation failure');
}

describe('gateway validation', () => {
  it('accepts a well-formed envelope and fills nothing in', () => {
    expect(parse(s.createEnvelope, { amount: 100, count: 4, mode: 'equal', greeting: '恭喜', ttlSeconds: 60 }, 'body')).toEqual({
      amount: 100,
      count: 4,
      mode: 'equal',
      greeting: '恭喜',
      ttlSeconds: 60,
    });
  });

  it.each([
    [{ amount: '100', count: 1, mode: 'random' }, 'amount'],
    [{ amount: 100.5, count: 1, mode: 'random' }, 'amount'],
    [{ amount: -1, count: 1, mode: 'random' }, 'amount'],
    [{ amount: 0, count: 1, mode: 'random' }, 'amount'],
    [{ amount: 100001, count: 1, mode: 'random' }, 'amount'],
    [{ amount: 100, count: 0, mode: 'random' }, 'count'],
    [{ amount: 1000, count: 101, mode: 'random' }, 'count'],
    [{ amount: 3, count: 4, mode: 'random' }, 'at least count'],
    [{ amount: 10, count: 3, mode: 'equal' }, 'divisible'],
    [{ amount: 10, count: 3, mode: 'lucky' }, 'mode'],
    [{ amount: 10, count: 3, mode: 'random', greeting: 'x'.repeat(65) }, 'greeting'],
    [{ amount: 10, count: 3, mode: 'random', ttlSeconds: 0 }, 'ttlSeconds'],
    [{ amount: 10, count: 3, mode: 'random', ttlSeconds: 86401 }, 'ttlSeconds'],
    [{ amount: 10, count: 3, mode: 'random', extra: true }, 'extra'],
    [null, 'body'],
    [[1, 2], 'body'],
  ])('refuses %j naming %s', (body, fragment) => {
    const err = failure(() => parse(s.createEnvelope, body, 'body'));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(ErrorCode.ValidationFailed);
    expect(err.message).toContain(fragment);
  });

  it('top-ups take exactly {amount}', () => {
    expect(parse(s.topup, { amount: 5 }, 'body')).toEqual({ amount: 5 });
    expect(failure(() => parse(s.topup, { amount: 5, userId: '9' }, 'body')).message).toContain('userId');
    expect(failure(() => parse(s.topup, {}, 'body')).code).toBe(ErrorCode.ValidationFailed);
  });

  it('grab accepts no body or an empty object only', () => {
    expect(() => parse(s.empty, undefined, 'body')).not.toThrow();
    expect(() => parse(s.empty, {}, 'body')).not.toThrow();
    expect(failure(() => parse(s.empty, { amount: 1 }, 'body')).code).toBe(ErrorCode.ValidationFailed);
  });

  it('transactions query: limit 1..100 as digits, cursor, nothing else', () => {
    expect(parse(s.transactionsQuery, { limit: '100', cursor: 'abc' }, 'query')).toEqual({ limit: 100, cursor: 'abc' });
    for (const q of [{ limit: '0' }, { limit: '101' }, { limit: 'abc' }, { limit: '1.5' }, { page: '2' }]) {
      expect(failure(() => parse(s.transactionsQuery, q, 'query')).code).toBe(ErrorCode.ValidationFailed);
    }
  });

  it('Idempotency-Key: 1-128 printable characters', () => {
    expect(idempotencyKey('abc-123_XYZ:~')).toBe('abc-123_XYZ:~');
    expect(idempotencyKey('k'.repeat(128))).toHaveLength(128);
    for (const bad of [undefined, '', 'k'.repeat(129), 'tab\there', 'caf\u00e9', ['a', 'b']]) {
      expect(failure(() => idempotencyKey(bad)).code).toBe(ErrorCode.ValidationFailed);
    }
  });

  it('envelope ids: positive decimal 64-bit only', () => {
    expect(envelopeId('252079403588186112')).toBe('252079403588186112');
    for (const bad of ['0', '-1', 'abc', '1.5', '01', '9223372036854775808', '1'.repeat(21), '']) {
      expect(failure(() => envelopeId(bad)).code).toBe(ErrorCode.ValidationFailed);
    }
  });
});
