import { z } from 'zod';
import { env, loadConfig, serviceBaseSchema } from '@hongbao/config';
import { MAX_AMOUNT } from '@hongbao/money';
import { rateLimitRulesSchema } from './governance/rate-limit-rules';

/** optional `host:port`; empty counts as unset */
const canaryTarget = z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, 'must be host:port').optional());

export const gatewayConfigSchema = serviceBaseSchema
  .extend({
    PORT: env.port(3000),
    /** HS256 signing secret (at least 32 characters); required unless JWT_JWKS_URL is set */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** RS256 via a JWKS endpoint instead of the shared secret */
    JWT_JWKS_URL: z.string().url().optional(),
    /** optional expected `iss` and `aud` claims */
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().optional(),
    /** seconds of clock skew tolerated on exp/nbf */
    JWT_CLOCK_SKEW_SECONDS: env.int(5, 0, 300),
    /** verified tokens remembered (until their exp) so repeated requests skip the signature check; 0 = off */
    TOKEN_CACHE_SIZE: env.int(100_000, 0, 10_000_000),
    ENVELOPE_RPC: env.hostPort('localhost:4001'),
    WALLET_RPC: env.hostPort('localhost:4002'),
    LEDGER_RPC: env.hostPort('localhost:4003'),
    /** ms before an RPC call fails with DEPENDENCY.TIMEOUT */
    RPC_TIMEOUT_MS: env.int(5000, 10, 120_000),
    /** ms the admin audit may take */
    AUDIT_TIMEOUT_MS: env.int(60_000, 100, 600_000),
    /** request body limit in bytes (413 above) */
    BODY_LIMIT_BYTES: env.int(16 * 1024, 256, 10 * 1024 * 1024),
    /** comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted; empty: none */
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
    /** limits on envelopes and amounts (cents) */
    MAX_COUNT: env.int(10_000, 1),
    MAX_AMOUNT: env.int(MAX_AMOUNT, 1),
    MAX_TTL_SECONDS: env.int(86_400, 1),
    DEFAULT_TTL_SECONDS: env.int(86_400, 1),
    MAX_GREETING_LENGTH: env.int(64, 0, 64),
    LOG_REQUESTS: env.bool(true),

    /** Redis shared by the gateway replicas: rate-limit counters and the manual degradation switch */
    REDIS_URL: env.str('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: env.str('hb'),
    /** the envelope service's REDIS_PARTITIONS (the sold-out memory reads its keys) */
    REDIS_PARTITIONS: env.int(64, 1, 1024),
    /** sold-out envelopes remembered (winners included) to answer late grabs without an RPC; 0 = off */
    SOLD_OUT_CACHE_SIZE: env.int(10_000, 0, 1_000_000),
    /** bytes of sold-out envelopes' details (final, as JSON) remembered to answer without an RPC; 0 = off */
    DETAILS_CACHE_BYTES: env.int(64 * 1024 * 1024, 0, 4 * 1024 * 1024 * 1024),
    /** Redis and prefix of the BullMQ queues, read for the settlement backlog (same as the envelope service's) */
    QUEUE_REDIS_URL: env.str('redis://127.0.0.1:6379'),
    QUEUE_PREFIX: env.str('{hb}'),

    /**
     * Rate-limit rules as JSON, merged over the defaults (DESIGN §2): `{"<route>": {"user"|"ip"|"global":
     * {"rate": per second, "burst": max in one window} | null}}`. Routes: topup, wallet, transactions,
     * create, grab, details, audit, degradation, and `*` (one shared counter over every route). `null` removes a rule.
     */
    RATE_LIMITS: z
      .string()
      .default('{}')
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON' });
          return z.NEVER;
        }
      })
      .pipe(rateLimitRulesSchema),
    /** Rate limiting fails open with a per-replica in-memory limiter when Redis is down (true), or refuses with 503 (false) */
    RATE_LIMIT_FAIL_OPEN: env.bool(true),

    /** degradation: `auto` (triggers below), `on` or `off`; the admin endpoint overrides it at run time for every replica */
    DEGRADATION_MODE: z.enum(['auto', 'on', 'off']).default('auto'),
    /** auto-degrade when the settlement queue holds more jobs than this (waiting + delayed + active); 0 = never */
    DEGRADE_SETTLEMENT_BACKLOG: env.int(50_000, 0),
    /** auto-degrade when the mean event-loop delay exceeds this many ms; 0 = never */
    DEGRADE_EVENT_LOOP_DELAY_MS: env.int(200, 0),
    /** auto-degrade while one of these circuit breakers is open (comma-separated names; empty: never) */
    DEGRADE_ON_BREAKERS: z
      .string()
      .default('rpc:envelope,rpc:wallet')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
    /** how often (ms) the triggers and the shared switch are read */
    DEGRADATION_POLL_MS: env.int(1000, 50, 60_000),
    /** degraded reads (envelope details, history) are served from a cache no older than this (ms), else 503 DEGRADED */
    DEGRADED_CACHE_TTL_MS: env.int(5000, 0, 600_000),
    /** entries kept in each degraded-read cache */
    DEGRADED_CACHE_SIZE: env.int(10_000, 0, 10_000_000),

    /** canary pools: a second DNS name per service; unset = no canary for that service */
    ENVELOPE_CANARY_RPC: canaryTarget,
    WALLET_CANARY_RPC: canaryTarget,
    LEDGER_CANARY_RPC: canaryTarget,
    /** share of users (0-100) whose calls go to the canary pools, sticky per user id */
    CANARY_PERCENT: z.coerce.number().min(0).max(100).default(0),
    /** comma-separated user ids always sent to the canary */
    CANARY_USERS: z
      .string()
      .default('')
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
    /** request header that forces a pool: `canary` or `stable` */
    CANARY_HEADER: env.str('x-hongbao-canary'),
  })
  .refine((c) => c.JWT_SECRET || c.JWT_JWKS_URL, { message: 'set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256)', path: ['JWT_SECRET'] });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const loadGatewayConfig = () => loadConfig(gatewayConfigSchema as unknown as z.ZodObject) as GatewayConfig;
