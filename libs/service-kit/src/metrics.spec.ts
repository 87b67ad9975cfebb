import { AppError, ErrorCode } from '@hongbao/contracts';
import { Breaker, BreakerRegistry } from '@hongbao/resilience';
import { labelledChildren, Metrics } from './metrics';

describe('Metrics: circuit breakers', () => {
  it('exports each breaker state and its cumulative events', async () => {
    const registry = new BreakerRegistry();
    const metrics = new Metrics('test', registry);
    const db = new Breaker('mysql:test:0', { volumeThreshold: 2, resetTimeoutMs: 60_000 }, registry);
    const rpc = new Breaker('rpc:wallet', {}, registry);
    try {
      const down = () => Promise.reject(new AppError(ErrorCode.DependencyUnavailable, 'down'));
      await db.run(down).catch(() => undefined);
      await db.run(down).catch(() => undefined);
      await db.run(down).catch(() => undefined); // rejected: open
      const text = await metrics.registry.metrics();
      expect(text).toContain('hongbao_breaker_state{breaker="mysql:test:0",service="test"} 2');
      expect(text).toContain('hongbao_breaker_state{breaker="rpc:wallet",service="test"} 0');
      expect(text).toContain('hongbao_breaker_events_total{breaker="mysql:test:0",event="failure",service="test"} 2');
      expect(text).toContain('hongbao_breaker_events_total{breaker="mysql:test:0",event="open",service="test"} 1');
      expect(text).toContain('hongbao_breaker_events_total{breaker="mysql:test:0",event="reject",service="test"} 1');
      expect(text).toContain('hongbao_breaker_events_total{breaker="rpc:wallet",event="timeout",service="test"} 0');

      // A disposed breaker leaves the state gauge; its counters stay.
      db.dispose();
      const after = await metrics.registry.metrics();
      expect(after).not.toContain('hongbao_breaker_state{breaker="mysql:test:0"');
      expect(after).toContain('hongbao_breaker_events_total{breaker="mysql:test:0",event="failure",service="test"} 2');
    } finally {
      db.dispose();
      rpc.dispose();
    }
  });
});

describe('labelledChildren', () => {
  it('resolves each distinct triple of label values once, and its children count as labels() children do', async () => {
    const metrics = new Metrics('test', new BreakerRegistry());
    const counter = metrics.counter('calls_total', 'h', ['a', 'b', 'c']);
    const resolved: string[] = [];
    const children = labelledChildren((a, b, c) => {
      resolved.push(`${a}|${b}|${c}`);
      return counter.labels(a, b, c);
    });
    children('x', 'y', 'z').inc();
    children('x', 'y', 'z').inc();
    children('x', 'y', 'w').inc();
    // values that would collide if the triple were joined into one string key
    children('x|y', '', 'z').inc();
    children('x', 'y|', 'z').inc();
    expect(children('x', 'y', 'z')).toBe(children('x', 'y', 'z'));
    expect(resolved).toEqual(['x|y|z', 'x|y|w', 'x|y||z', 'x|y||z']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hongbao_calls_total{a="x",b="y",c="z",service="test"} 2');
    expect(text).toContain('hongbao_calls_total{a="x",b="y",c="w",service="test"} 1');
    expect(text).toContain('hongbao_calls_total{a="x|y",b="",c="z",service="test"} 1');
    expect(text).toContain('hongbao_calls_total{a="x",b="y|",c="z",service="test"} 1');
  });
});
