import { Inject, Injectable, SetMetadata } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { RedisClient } from '@hongbao/redis';
import { Metrics } from '@hongbao/service-kit';
import type { FastifyReply } from 'fastify';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { effectiveRules, RATE_LIMITED_ROUTES, RateLimitedRoute, RateLimitScope, toWindow } from './rate-limit-rules';

/** DI token of the gateway's Redis connection (rate limits, the degradation switch). */
export const GATEWAY_REDIS = Symbol('GATEWAY_REDIS');

export const RATE_LIMIT_ROUTE = 'hongbao:rate-limit-route';
/** Names the rate-limit rules a handler is subject to (besides the `*` rules every route shares). */
export const RateLimited = (route: Exclude<RateLimitedRoute, '*'>) => SetMetadata(RATE_LIMIT_ROUTE, route);

interface Limiter {
  route: RateLimitedRoute;
  scope: RateLimitScope;
  points: number;
  limiter: RateLimiterRedis;
}

/**
 * Rate limits with rate-limiter-flexible, per route and per scope (user, client IP, global),
 * counted in Redis so every gateway replica shares them. Local fast path: once a key is over its
 * limit, this replica refuses it from memory until the window ends (`inMemoryBlockOnConsumed`),
 * so a hammering client costs no Redis round trip. If Redis is down, an in-memory limiter per
 * replica takes over (RATE_LIMIT_FAIL_OPEN, the default) or the request gets 503.
 */
@Injectable()
export class RateLimiter {
  private readonly byRoute = new Map<RateLimitedRoute, Limiter[]>();
  /** Per route: its rules and the `*` rules, in one list built once (no arrays per request). */
  private readonly withShared = new Map<RateLimitedRoute | undefined, Limiter[]>();
  private readonly limitedTotal;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(GATEWAY_REDIS) redis: RedisClient,
    metrics: Metrics,
  ) {
    this.limitedTotal = metrics.counter('rate_limited_total', 'requests refused by a rate limit', ['route', 'scope']);
    for (const { route, scope, rule } of effectiveRules(config.RATE_LIMITS)) {
      const { points, durationSeconds } = toWindow(rule);
      const keyPrefix = `${config.REDIS_KEY_PREFIX}:rl:${route === '*' ? 'all' : route}:${scope}`;
      const limiter = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix,
        points,
        duration: durationSeconds,
        inMemoryBlockOnConsumed: points,
        rejectIfRedisNotReady: true,
        ...(config.RATE_LIMIT_FAIL_OPEN ? { insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }) } : {}),
      });
      const list = this.byRoute.get(route) ?? [];
      list.push({ route, scope, points, limiter });
      this.byRoute.set(route, list);
    }
    const shared = this.byRoute.get('*') ?? [];
    this.withShared.set(undefined, shared);
    for (const route of RATE_LIMITED_ROUTES) this.withShared.set(route, route === '*' ? shared : [...shared, ...(this.byRoute.get(route) ?? [])]);
  }

  /**
   * The local fast path alone: throws 429 if one of the rules for these keys is already blocked
   * in this replica's memory (a key over its limit stays blocked until its window ends). No
   * Redis call; used before the token is verified so a flood costs no verification.
   */
  refuseIfBlocked(route: RateLimitedRoute | undefined, keys: Partial<Record<RateLimitScope, string>>, reply: FastifyReply): void {
    for (const l of this.withShared.get(route) ?? []) {
      if (keys[l.scope] === undefined) continue;
      // getInMemoryBlockMsBeforeExpire is the library's own check at the start of consume(); its typings omit it.
      const ms = (l.limiter as unknown as { getInMemoryBlockMsBeforeExpire(k: string): number }).getInMemoryBlockMsBeforeExpire(l.limiter.getKey(keys[l.scope]!));
      if (ms > 0) throw this.limited(route, l, ms, reply, 0);
    }
  }

  /**
   * Consumes one point from every rule of `route` (and of `*`) for the scopes given, sets the
   * RateLimit-* headers of the tightest one, and throws 429 RATE_LIMITED (with Retry-After) if any
   * is exhausted. All rules are counted in parallel: one pipelined round trip with ioredis.
   */
  async consume(route: RateLimitedRoute | undefined, keys: Partial<Record<RateLimitScope, string>>, reply: FastifyReply): Promise<void> {
    const limiters = this.rulesFor(route, keys);
    if (limiters.length === 0) return;
    const results = await Promise.all(
      limiters.map((l) =>
        l.limiter.consume(keys[l.scope]!).then(
          (res) => ({ l, res, limited: false }),
          (err: unknown) => {
            if (err instanceof RateLimiterRes) return { l, res: err, limited: true };
            throw new AppError(ErrorCode.DependencyUnavailable, `rate limiter unavailable: ${(err as Error)?.message ?? String(err)}`);
          },
        ),
      ),
    );
    // The tightest rule: a refusal first, else the least share of points left.
    const tightest = results.reduce((a, b) => (a.limited !== b.limited ? (a.limited ? a : b) : a.res.remainingPoints / a.l.points <= b.res.remainingPoints / b.l.points ? a : b));
    if (tightest.limited) throw this.limited(route, tightest.l, tightest.res.msBeforeNext, reply, tightest.res.remainingPoints);
    setHeaders(reply, tightest.l.points, tightest.res.remainingPoints, tightest.res.msBeforeNext);
  }

  private rulesFor(route: RateLimitedRoute | undefined, keys: Partial<Record<RateLimitScope, string>>): Limiter[] {
    return (this.withShared.get(route) ?? []).filter((l) => keys[l.scope] !== undefined);
  }

  private limited(route: RateLimitedRoute | undefined, l: Limiter, msBeforeNext: number, reply: FastifyReply, remaining: number): AppError {
    const resetSeconds = setHeaders(reply, l.points, remaining, msBeforeNext);
    this.limitedTotal.labels(route ?? '*', l.scope).inc();
    return new AppError(ErrorCode.RateLimited, `rate limit exceeded (${l.scope} limit on ${l.route === '*' ? 'all routes' : l.route}); retry later`, {
      scope: l.scope,
      retryAfterSeconds: resetSeconds,
    });
  }
}

/** RateLimit-* headers (IETF draft names); returns the reset in whole seconds (at least 1). */
function setHeaders(reply: FastifyReply, limit: number, remaining: number, msBeforeNext: number): number {
  const resetSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  void reply.header('ratelimit-limit', String(limit)).header('ratelimit-remaining', String(remaining)).header('ratelimit-reset', String(resetSeconds));
  return resetSeconds;
}
