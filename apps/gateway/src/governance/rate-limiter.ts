import { Inject, Injectable, SetMetadata } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { RedisClient } from '@hongbao/redis';
import { Metrics } from '@hongbao/service-kit';
import type { FastifyReply } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { effectiveRules, RATE_LIMITED_ROUTES, RateLimitedRoute, RateLimitScope, toWindow } from './rate-limit-rules';

/** DI token of the gateway's Redis connection (rate limits, the degradation switch). */
export const GATEWAY_REDIS = Symbol('GATEWAY_REDIS');

export const RATE_LIMIT_ROUTE = 'hongbao:rate-limit-route';
/** Names the rate-limit rules a handler is subject to (besides the `*` rules every route shares). */
export const RateLimited = (route: Exclude<RateLimitedRoute, '*'>) => SetMetadata(RATE_LIMIT_ROUTE, route);

/**
 * Counts one request in the fixed window of every key given (KEYS[i], window ARGV[i] ms) and
 * returns `consumed, ms left` per key. The window rate-limiter-flexible's RateLimiterRedis
 * keeps (a counter that expires with its window, same key and value), counted for all of a
 * request's rules in one script call instead of one call per rule (ADR 0007, amendment).
 */
export const COUNT_WINDOWS_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  local ms = tonumber(ARGV[i])
  local consumed = redis.call('incr', key)
  local ttl = ms
  if consumed == 1 then
    redis.call('pexpire', key, ms)
  else
    ttl = redis.call('pttl', key)
    if ttl < 0 then
      redis.call('pexpire', key, ms)
      ttl = ms
    end
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`;

interface Rule {
  route: RateLimitedRoute;
  scope: RateLimitScope;
  points: number;
  windowMs: number;
  /** `<prefix>:` of this rule's keys (rate-limiter-flexible's `keyPrefix:key`, so counts carry over) */
  keyPrefix: string;
  /** per-replica count while Redis fails (RATE_LIMIT_FAIL_OPEN) */
  insurance?: RateLimiterMemory;
}

/** A counted rule: consumed points and ms left in its window. */
interface Count {
  rule: Rule;
  consumed: number;
  msLeft: number;
}

type CountWindows = (numKeys: number, ...keysThenWindows: Array<string | number>) => Promise<number[]>;
type CountWindow = (key: string, windowMs: number) => Promise<number[]>;

/** Blocked keys kept before expired ones are swept out (a sweep at most once a second). */
const SWEEP_ABOVE = 1_000;

/**
 * Rate limits per route and per scope (user, client IP, global), counted in Redis so every
 * gateway replica shares them: one script call counts all of a request's rules (one call per
 * rule on Redis Cluster, where their keys live in different slots). Local fast path: once a key
 * has used its window's points, this replica refuses it from memory until the window ends, so a
 * hammering client costs no Redis round trip. If Redis fails, rate-limiter-flexible's in-memory
 * limiter per replica takes over (RATE_LIMIT_FAIL_OPEN, the default) or the request gets 503.
 */
@Injectable()
export class RateLimiter {
  /** Per route: its rules and the `*` rules, in one list built once (no arrays per request). */
  private readonly withShared = new Map<RateLimitedRoute | undefined, Rule[]>();
  /** key -> Date.now() at which its in-memory block ends */
  private readonly blocked = new Map<string, number>();
  private lastSweep = 0;
  private readonly countWindows: CountWindows;
  private readonly countWindow: CountWindow;
  private readonly limitedTotal;

  constructor(
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(GATEWAY_REDIS) private readonly redis: RedisClient,
    metrics: Metrics,
  ) {
    this.limitedTotal = metrics.counter('rate_limited_total', 'requests refused by a rate limit', ['route', 'scope']);
    // No numberOfKeys: a call passes its key count first (a request has one to three rules).
    // On Redis Cluster one key a call, declared as such: auto-pipelining routes a command by its
    // first argument, which must then be the key, not the count.
    redis.defineCommand('hbCountWindows', { lua: COUNT_WINDOWS_LUA });
    redis.defineCommand('hbCountWindow', { lua: COUNT_WINDOWS_LUA, numberOfKeys: 1 });
    const commands = redis as unknown as { hbCountWindows: CountWindows; hbCountWindow: CountWindow };
    this.countWindows = commands.hbCountWindows.bind(redis);
    this.countWindow = commands.hbCountWindow.bind(redis);
    const byRoute = new Map<RateLimitedRoute, Rule[]>();
    for (const { route, scope, rule } of effectiveRules(config.RATE_LIMITS)) {
      const { points, durationSeconds } = toWindow(rule);
      const keyPrefix = `${config.REDIS_KEY_PREFIX}:rl:${route === '*' ? 'all' : route}:${scope}`;
      const list = byRoute.get(route) ?? [];
      list.push({
        route,
        scope,
        points,
        windowMs: durationSeconds * 1000,
        keyPrefix: `${keyPrefix}:`,
        ...(config.RATE_LIMIT_FAIL_OPEN ? { insurance: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }) } : {}),
      });
      byRoute.set(route, list);
    }
    const shared = byRoute.get('*') ?? [];
    this.withShared.set(undefined, shared);
    for (const route of RATE_LIMITED_ROUTES) this.withShared.set(route, route === '*' ? shared : [...shared, ...(byRoute.get(route) ?? [])]);
  }

  /**
   * The local fast path alone: throws 429 if one of the rules for these keys is already blocked
   * in this replica's memory (a key over its limit stays blocked until its window ends). No
   * Redis call; used before the token is verified so a flood costs no verification.
   */
  refuseIfBlocked(route: RateLimitedRoute | undefined, keys: Partial<Record<RateLimitScope, string>>, reply: FastifyReply): void {
    for (const r of this.withShared.get(route) ?? []) {
      const id = keys[r.scope];
      if (id === undefined) continue;
      const ms = this.blockedMs(r.keyPrefix + id);
      if (ms > 0) throw this.limited(route, r, ms, reply, 0);
    }
  }

  /**
   * Consumes one point from every rule of `route` (and of `*`) for the scopes given, sets the
   * RateLimit-* headers of the tightest one, and throws 429 RATE_LIMITED (with Retry-After) if any
   * is exhausted. A rule blocked in memory refuses at once, without counting the others.
   */
  async consume(route: RateLimitedRoute | undefined, keys: Partial<Record<RateLimitScope, string>>, reply: FastifyReply): Promise<void> {
    const rules: Rule[] = [];
    const ids: string[] = [];
    const redisKeys: string[] = [];
    for (const r of this.withShared.get(route) ?? []) {
      const id = keys[r.scope];
      if (id === undefined) continue;
      const key = r.keyPrefix + id;
      const ms = this.blockedMs(key);
      if (ms > 0) throw this.limited(route, r, ms, reply, 0);
      rules.push(r);
      ids.push(id);
      redisKeys.push(key);
    }
    if (rules.length === 0) return;
    let counts: Count[];
    try {
      counts = await this.countInRedis(rules, redisKeys);
    } catch (err) {
      if (!rules[0].insurance) throw new AppError(ErrorCode.DependencyUnavailable, `rate limiter unavailable: ${(err as Error)?.message ?? String(err)}`);
      counts = await Promise.all(rules.map((r, i) => countInMemory(r, ids[i])));
    }
    // The tightest rule: a refusal first, else the least share of points left.
    let tightest = counts[0];
    for (let i = 1; i < counts.length; i++) {
      const c = counts[i];
      const cOver = c.consumed > c.rule.points;
      const tOver = tightest.consumed > tightest.rule.points;
      if (cOver !== tOver ? cOver : remainingShare(c) < remainingShare(tightest)) tightest = c;
    }
    const remaining = Math.max(0, tightest.rule.points - tightest.consumed);
    if (tightest.consumed > tightest.rule.points) throw this.limited(route, tightest.rule, tightest.msLeft, reply, remaining);
    setHeaders(reply, tightest.rule.points, remaining, tightest.msLeft);
  }

  /** One script call for every rule (one per rule on Redis Cluster); blocks the keys that used their window in memory. */
  private async countInRedis(rules: Rule[], keys: string[]): Promise<Count[]> {
    if (this.redis.status !== 'ready') throw new Error(`Redis connection is ${this.redis.status}`);
    let flat: number[];
    if (this.redis.isCluster) {
      const each = await Promise.all(keys.map((k, i) => this.countWindow(k, rules[i].windowMs)));
      flat = each.flat();
    } else {
      flat = await this.countWindows(keys.length, ...keys, ...rules.map((r) => r.windowMs));
    }
    const now = Date.now();
    return rules.map((rule, i) => {
      const consumed = Number(flat[2 * i]);
      const msLeft = Number(flat[2 * i + 1]);
      // Points used up: later requests of this window are refused here, without Redis.
      if (consumed >= rule.points) this.block(keys[i], now + msLeft, now);
      return { rule, consumed, msLeft };
    });
  }

  private blockedMs(key: string): number {
    const until = this.blocked.get(key);
    if (until === undefined) return 0;
    const ms = until - Date.now();
    if (ms > 0) return ms;
    this.blocked.delete(key);
    return 0;
  }

  private block(key: string, until: number, now: number): void {
    this.blocked.set(key, until);
    if (this.blocked.size > SWEEP_ABOVE && now - this.lastSweep > 1000) {
      this.lastSweep = now;
      for (const [k, t] of this.blocked) if (t <= now) this.blocked.delete(k);
    }
  }

  private limited(route: RateLimitedRoute | undefined, r: Rule, msBeforeNext: number, reply: FastifyReply, remaining: number): AppError {
    const resetSeconds = setHeaders(reply, r.points, remaining, msBeforeNext);
    this.limitedTotal.labels(route ?? '*', r.scope).inc();
    return new AppError(ErrorCode.RateLimited, `rate limit exceeded (${r.scope} limit on ${r.route === '*' ? 'all routes' : r.route}); retry later`, {
      scope: r.scope,
      retryAfterSeconds: resetSeconds,
    });
  }
}

/** The rule counted by this replica's insurance limiter (Redis failed). */
function countInMemory(rule: Rule, id: string): Promise<Count> {
  const toCount = (res: RateLimiterRes): Count => ({ rule, consumed: res.consumedPoints, msLeft: res.msBeforeNext });
  return rule.insurance!.consume(id).then(toCount, (err: unknown) => {
    if (err instanceof RateLimiterRes) return toCount(err);
    throw err;
  });
}

function remainingShare(c: Count): number {
  return (c.rule.points - c.consumed) / c.rule.points;
}

/** RateLimit-* headers (IETF draft names); returns the reset in whole seconds (at least 1). */
function setHeaders(reply: FastifyReply, limit: number, remaining: number, msBeforeNext: number): number {
  const resetSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  void reply.header('ratelimit-limit', String(limit)).header('ratelimit-remaining', String(remaining)).header('ratelimit-reset', String(resetSeconds));
  return resetSeconds;
}
