import { z } from 'zod';
import { env, loadConfig, serviceBaseSchema } from '@hongbao/config';
import { MAX_AMOUNT } from '@hongbao/money';

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
  })
  .refine((c) => c.JWT_SECRET || c.JWT_JWKS_URL, { message: 'set JWT_SECRET (HS256) or JWT_JWKS_URL (RS256)', path: ['JWT_SECRET'] });
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
export const loadGatewayConfig = () => loadConfig(gatewayConfigSchema as unknown as z.ZodObject) as GatewayConfig;
