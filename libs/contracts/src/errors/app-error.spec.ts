import { AppError } from './app-error';
import { ErrorCode, HTTP_STATUS_BY_CODE } from './error-codes';

describe('AppError', () => {
  it('round-trips through its wire payload', () => {
    const e = new AppError(ErrorCode.EnvelopeAlreadyGrabbed, 'you already grabbed', { amount: 42 });
    const p = e.toPayload();
    expect(p).toEqual({ code: 'ENVELOPE.ALREADY_GRABBED', message: 'you already grabbed', details: { amount: 42 } });
    expect(AppError.isPayload(JSON.parse(JSON.stringify(p)))).toBe(true);
    const back = AppError.fromPayload(p);
    expect(back).toBeInstanceOf(AppError);
    expect([back.code, back.message, back.details]).toEqual([e.code, e.message, e.details]);
  });

  it('omits details when there are none', () => {
    expect(new AppError(ErrorCode.EnvelopeSoldOut, 'gone').toPayload()).toEqual({ code: 'ENVELOPE.SOLD_OUT', message: 'gone' });
  });

  it('recognises only {code: string, message: string} as a payload', () => {
    for (const bad of [null, undefined, 'x', { code: 1, message: 'm' }, { code: 'X' }, { message: 'm' }]) {
      expect(AppError.isPayload(bad)).toBe(false);
    }
  });

  it('maps every code to a status, and only INTERNAL to 500', () => {
    for (const code of Object.values(ErrorCode)) {
      const status = HTTP_STATUS_BY_CODE[code];
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status === 500).toBe(code === ErrorCode.Internal);
    }
    expect(HTTP_STATUS_BY_CODE['ENVELOPE.SOLD_OUT']).toBe(410);
    expect(HTTP_STATUS_BY_CODE['WALLET.INSUFFICIENT_FUNDS']).toBe(422);
  });

  it('captures a stack trace only for failures (5xx), and leaves the global limit as it was', () => {
    const before = Error.stackTraceLimit;
    const answer = new AppError(ErrorCode.EnvelopeSoldOut, 'gone');
    const failure = new AppError(ErrorCode.DependencyUnavailable, 'redis down');
    expect(answer.stack).toBe('AppError: gone');
    expect(failure.stack?.split('\n').length).toBeGreaterThan(1);
    expect(failure.stack).toContain('app-error.spec');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('plain').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
