import { AppError, ErrorCode } from '@hongbao/contracts';
import { isDependencyFailure } from './failures';

describe('isDependencyFailure', () => {
  it('counts DEPENDENCY.* codes, network errnos, connect-phase and fatal driver errors', () => {
    expect(isDependencyFailure(new AppError(ErrorCode.DependencyUnavailable, 'x'))).toBe(true);
    expect(isDependencyFailure(new AppError(ErrorCode.DependencyTimeout, 'x'))).toBe(true);
    expect(isDependencyFailure({ code: 'DEPENDENCY.UNAVAILABLE', message: 'remote payload' })).toBe(true);
    expect(isDependencyFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDependencyFailure(Object.assign(new Error('x'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toBe(true);
    expect(isDependencyFailure(Object.assign(new Error('x'), { syscall: 'connect' }))).toBe(true);
    expect(isDependencyFailure(Object.assign(new Error('x'), { fatal: true }))).toBe(true);
  });

  it('never counts domain codes, INTERNAL, SQL answers or bugs', () => {
    for (const code of [ErrorCode.EnvelopeSoldOut, ErrorCode.EnvelopeAlreadyGrabbed, ErrorCode.ValidationFailed, ErrorCode.WalletInsufficientFunds, ErrorCode.IdempotencyKeyReused, ErrorCode.Internal]) {
      expect(isDependencyFailure(new AppError(code, 'x'))).toBe(false);
    }
    expect(isDependencyFailure(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY', errno: 1062 }))).toBe(false);
    expect(isDependencyFailure(Object.assign(new Error('deadlock'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }))).toBe(false);
    expect(isDependencyFailure(new TypeError('bug'))).toBe(false);
    expect(isDependencyFailure(undefined)).toBe(false);
    expect(isDependencyFailure('ECONNREFUSED')).toBe(false);
  });
});
