import { z } from 'zod';

/**
 * Validates environment variables against a zod object schema once, at boot. A missing or
 * bad variable stops the process with one message naming every offending variable.
 * `process.env` is read here and in nothing else.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reusable field schemas for env vars (all strings in, typed values out). */
export const env = {
  port: (def: number) => z.coerce.number().int().min(1).max(65535).default(def),
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  str: (def?: string) => (def === undefined ? z.string().min(1) : z.string().min(1).default(def)),
  /** comma-separated list, trimmed, empties dropped */
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .refine((a) => a.length > 0, 'must name at least one entry'),
  /** "host:port" */
  hostPort: (def: string) => z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, 'must be host:port').default(def),
  url: (def: string) => z.string().url().default(def),
};

/** Fields every Hongbao service has. */
export const serviceBaseSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** HTTP port for health, metrics (and the public API on the gateway) */
  PORT: env.port(3000),
  HOST: env.str('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** snowflake worker id 0..1023; unset: leased from Redis by the services that mint ids */
  ID_WORKER: z.coerce.number().int().min(0).max(1023).optional(),
  /** version label on every metric (canary vs stable); set by the deployment */
  SERVICE_VERSION: env.str('stable'),
  /** load shedding: requests (HTTP + RPC) in flight above this are refused with 503 OVERLOADED; 0 = no bound */
  SHED_MAX_INFLIGHT: env.int(2048, 0),
  /** load shedding: mean event-loop delay (ms, sampled every second) above which new work is refused; 0 = off */
  SHED_MAX_EVENT_LOOP_DELAY_MS: env.int(500, 0),
  /** Retry-After (s) on a shed request */
  SHED_RETRY_AFTER_SECONDS: env.int(1, 1, 3600),
});
export type ServiceBaseConfig = z.infer<typeof serviceBaseSchema>;
