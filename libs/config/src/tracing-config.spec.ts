import { ConfigError } from './load-config';
import { loadTracingConfig } from './tracing-config';

describe('loadTracingConfig', () => {
  it('is off without an endpoint, or with an empty one', () => {
    expect(loadTracingConfig({}).enabled).toBe(false);
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).enabled).toBe(false);
  });

  it('is on with a base or a traces endpoint, unless the SDK is disabled', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' })).toMatchObject({
      enabled: true,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_TRACES_SAMPLER_ARG: 1,
    });
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces' }).enabled).toBe(true);
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
  });

  it('names a bad sampler, ratio or endpoint', () => {
    let err: unknown;
    try {
      loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']) expect((err as Error).message).toContain(name);
  });
});
