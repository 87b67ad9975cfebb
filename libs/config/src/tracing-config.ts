import { z } from 'zod';
import { env, loadConfig } from './load-config';

/** An empty value counts as unset, so `OTEL_EXPORTER_OTLP_ENDPOINT=` turns tracing off. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * The standard OpenTelemetry variables Hongbao reads itself (the OTLP exporter and the batch
 * span processor read the rest of theirs, e.g. `OTEL_EXPORTER_OTLP_HEADERS`,
 * `OTEL_BSP_SCHEDULE_DELAY`, directly). Tracing is off unless an OTLP endpoint is set.
 */
export const tracingSchema = z.object({
  /** `true` turns tracing off even when an endpoint is set; default false */
  OTEL_SDK_DISABLED: env.bool(false),
  /** OTLP/HTTP base URL, e.g. `http://jaeger:4318`; spans go to `<url>/v1/traces` (JSON). Unset: no tracing */
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfEmpty(z.string().url()),
  /** full OTLP/HTTP traces URL; overrides the base endpoint for traces */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetIfEmpty(z.string().url()),
  /** `service.name` of the spans; default the service's own name (gateway, envelope, wallet, ledger) */
  OTEL_SERVICE_NAME: unsetIfEmpty(z.string()),
  /** head sampler; default `parentbased_always_on` */
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .default('parentbased_always_on'),
  /** ratio 0..1 for the `*traceidratio` samplers; default 1 */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
});
export type TracingConfig = z.infer<typeof tracingSchema> & {
  /** an endpoint is set and the SDK is not disabled */
  enabled: boolean;
};

/** Reads the tracing variables (a bad one stops the process, naming it). */
export function loadTracingConfig(source: NodeJS.ProcessEnv = process.env): TracingConfig {
  const c = loadConfig(tracingSchema, source);
  return { ...c, enabled: !c.OTEL_SDK_DISABLED && Boolean(c.OTEL_EXPORTER_OTLP_ENDPOINT || c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) };
}
