import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import { currentTraceparent, formatTraceparent, inBatchSpan, parseTraceparent, SpanKind, tracingOn } from './tracing';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceparent helpers', () => {
  it('parses a W3C traceparent and formats it back unchanged', () => {
    const sc: SpanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true };
    expect(parseTraceparent(TP)).toEqual(sc);
    expect(formatTraceparent(sc)).toBe(TP);
    expect(formatTraceparent({ ...sc, traceFlags: TraceFlags.NONE })).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
  });

  it('rejects malformed or invalid ones', () => {
    for (const bad of [
      undefined,
      null,
      '',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // unknown version
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero span id
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
      `${TP}-extra`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });
});

describe('tracing off (no provider started)', () => {
  it('records nothing and passes stored traceparents through a batch unchanged', async () => {
    expect(tracingOn()).toBe(false);
    expect(currentTraceparent()).toBeUndefined();
    const seen: (string | undefined)[] = [];
    const n = await inBatchSpan('batch', SpanKind.CONSUMER, () => {
      throw new Error('traceparents read with tracing off');
    }, async (carry) => {
      seen.push(carry(TP), carry(undefined), carry(null), currentTraceparent());
      return 7;
    });
    expect(n).toBe(7);
    expect(seen).toEqual([TP, undefined, undefined, undefined]);
  });

  it('rethrows what the batch throws', async () => {
    await expect(inBatchSpan('batch', SpanKind.CONSUMER, () => [TP], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});
