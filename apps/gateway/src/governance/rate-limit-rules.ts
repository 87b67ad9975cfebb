import { z } from 'zod';

/** The rate-limited routes; `*` is one counter shared by every route. */
export const RATE_LIMITED_ROUTES = ['*', 'topup', 'wallet', 'transactions', 'create', 'grab', 'details', 'audit', 'degradation'] as const;
export type RateLimitedRoute = (typeof RATE_LIMITED_ROUTES)[number];
export const RATE_LIMIT_SCOPES = ['user', 'ip', 'global'] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

const ruleSchema = z
  .object({
    /** sustained requests per second */
    rate: z.number().positive().max(1_000_000),
    /** most requests accepted at once (default: rate) */
    burst: z.number().int().positive().max(10_000_000).optional(),
  })
  .strict();
export type RateLimitRule = z.infer<typeof ruleSchema>;

const routeRulesSchema = z.object({ user: ruleSchema.nullable().optional(), ip: ruleSchema.nullable().optional(), global: ruleSchema.nullable().optional() }).strict();

/** What RATE_LIMITS may hold: per route, per scope, a rule or null (no limit). */
export const rateLimitRulesSchema = z.partialRecord(z.enum(RATE_LIMITED_ROUTES), routeRulesSchema);
export type RateLimitOverrides = z.infer<typeof rateLimitRulesSchema>;

/** DESIGN §2 defaults: 5 grabs/s per user with a burst of 10; 5000 requests/s per client IP; no global limit. */
export const DEFAULT_RATE_LIMITS: RateLimitOverrides = {
  '*': { ip: { rate: 5000 } },
  grab: { user: { rate: 5, burst: 10 } },
};

/**
 * A rule as rate-limiter-flexible's fixed window: `burst` points per `burst / rate` seconds
 * (at least 1 s), so the sustained rate is `rate` and at most `burst` pass at once.
 */
export function toWindow(rule: RateLimitRule): { points: number; durationSeconds: number } {
  const points = rule.burst ?? Math.max(1, Math.ceil(rule.rate));
  return { points, durationSeconds: Math.max(1, Math.round(points / rule.rate)) };
}

/** The effective rules: defaults, then each override scope by scope (`null` removes a default). */
export function effectiveRules(overrides: RateLimitOverrides): Array<{ route: RateLimitedRoute; scope: RateLimitScope; rule: RateLimitRule }> {
  const out: Array<{ route: RateLimitedRoute; scope: RateLimitScope; rule: RateLimitRule }> = [];
  for (const route of RATE_LIMITED_ROUTES) {
    for (const scope of RATE_LIMIT_SCOPES) {
      const o = overrides[route];
      const rule = o && scope in o ? o[scope] : DEFAULT_RATE_LIMITS[route]?.[scope];
      if (rule) out.push({ route, scope, rule });
    }
  }
  return out;
}
