import { AppError, ErrorCode } from '@hongbao/contracts';
import { TimeoutError } from 'rxjs';
import { isConnectPhaseError, isRemoteError, noAddressError, toCallError } from './rpc-errors';

const site = { name: 'wallet', address: '10.0.0.7:4001', timeoutMs: 250 };

function errnoError(message: string, syscall: string, code: string): Error {
  return Object.assign(new Error(message), { syscall, code });
}

describe('isConnectPhaseError', () => {
  it('is true only for socket errors raised by connect', () => {
    expect(isConnectPhaseError(errnoError('connect ECONNREFUSED 10.0.0.7:4001', 'connect', 'ECONNREFUSED'))).toBe(true);
    expect(isConnectPhaseError(errnoError('read ECONNRESET', 'read', 'ECONNRESET'))).toBe(false);
    expect(isConnectPhaseError(new Error('Connection closed'))).toBe(false);
    expect(isConnectPhaseError({ syscall: 'connect' })).toBe(false);
  });
});

describe('toCallError', () => {
  it('maps a timeout to DEPENDENCY.TIMEOUT', () => {
    const e = toCallError(new TimeoutError(), site);
    expect(e).toBeInstanceOf(AppError);
    expect(e.code).toBe(ErrorCode.DependencyTimeout);
    expect(e.details).toEqual({ target: 'wallet', address: '10.0.0.7:4001', timeoutMs: 250 });
  });

  it('maps a connection lost after the write to DEPENDENCY.UNAVAILABLE, maybe executed', () => {
    const e = toCallError(new Error('Connection closed'), site);
    expect(e.code).toBe(ErrorCode.DependencyUnavailable);
    expect(e.details).toEqual({ target: 'wallet', address: '10.0.0.7:4001', maybeExecuted: true });
  });

  it('marks a connect failure as not executed', () => {
    const e = toCallError(errnoError('connect ECONNREFUSED', 'connect', 'ECONNREFUSED'), site);
    expect(e.code).toBe(ErrorCode.DependencyUnavailable);
    expect(e.details?.['maybeExecuted']).toBe(false);
  });

  it('rebuilds the callee AppError from its payload', () => {
    const e = toCallError({ code: 'ENVELOPE.ALREADY_GRABBED', message: 'already grabbed', details: { amount: 42 } }, site);
    expect(e).toBeInstanceOf(AppError);
    expect(e.toPayload()).toEqual({ code: 'ENVELOPE.ALREADY_GRABBED', message: 'already grabbed', details: { amount: 42 } });
  });

  it('maps a foreign remote error (Nest default body, string) to INTERNAL without its text', () => {
    for (const remote of [{ status: 'error', message: 'Internal server error' }, 'There is no matching message handler defined in the remote service.']) {
      const e = toCallError(remote, site);
      expect(e.toPayload()).toEqual({ code: 'INTERNAL', message: 'internal error' });
    }
  });

  it('passes an AppError through unchanged', () => {
    const original = new AppError(ErrorCode.Overloaded, 'busy');
    expect(toCallError(original, site)).toBe(original);
  });
});

describe('isRemoteError', () => {
  it('is true only for errors the callee sent back', () => {
    const site = { name: 'w', address: '127.0.0.1:1', timeoutMs: 10 };
    expect(isRemoteError(toCallError({ code: 'DEPENDENCY.UNAVAILABLE', message: 'shard down' }, site))).toBe(true);
    expect(isRemoteError(toCallError(new Error('socket closed'), site))).toBe(false);
    expect(isRemoteError(noAddressError('w'))).toBe(false);
    expect(isRemoteError(new AppError(ErrorCode.DependencyUnavailable, 'local'))).toBe(false);
  });
});

describe('noAddressError', () => {
  it('is DEPENDENCY.UNAVAILABLE naming the target', () => {
    expect(noAddressError('wallet').toPayload()).toEqual({
      code: 'DEPENDENCY.UNAVAILABLE',
      message: 'wallet: no reachable address',
      details: { target: 'wallet' },
    });
  });
});
