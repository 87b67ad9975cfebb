import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppError, ErrorCode, SETTLEMENT_QUEUE } from '@hongbao/contracts';
import type { RedisClient } from '@hongbao/redis';
import { breakers } from '@hongbao/resilience';
import { Admission, ADMISSION, Metrics } from '@hongbao/service-kit';
import { Queue } from 'bullmq';
import { LRUCache } from 'lru-cache';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { GATEWAY_REDIS } from './rate-limiter';

export type DegradationMode = 'auto' | 'on' | 'off';
export const DEGRADATION_MODES: readonly DegradationMode[] = ['auto', 'on', 'off'];

/** DI token of the BullMQ connection the backlog is read from. */
export const QUEUE_REDIS = Symbol('QUEUE_REDIS');

export interface DegradationStatus {
  /** the switch: `auto` follows the triggers, `on`/`off` force it */
  mode: DegradationMode;
  /** whether non-critical reads are degraded right now */
  degraded: boolean;
  /** why (empty when not degraded): `manual`, `breaker:<name>`, `settlement-backlog`, `event-loop-delay` */
  reasons: string[];
  /** when the current state began (ISO 8601) */
  since: string;
  /** the trigger readings behind `reasons` */
  readings: { settlementBacklog: number | null; eventLoopDelayMs: number; openBreakers: string[] };
}

interface Entry {
  value: unknown;
  at: number;
}

/**
 * Degradation (降级): while degraded, the non-critical reads (envelope details, wallet history)
 * are answered from a short per-replica cache, or refused with 503 DEGRADED, so the grab path
 * keeps the capacity. Grabs, sends and top-ups are never degraded; settlement is never dropped
 * (a backlog only delays credits).
 *
 * The switch (`auto`/`on`/`off`) starts from DEGRADATION_MODE and is shared by every replica
 * through Redis (the admin endpoint writes it); in `auto` the state follows the triggers: an
 * open circuit breaker, the settlement queue's depth, and this replica's event-loop delay. All
 * are read every DEGRADATION_POLL_MS, so a request pays nothing for the check.
 */
@Injectable()
export class Degradation implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Degradation');
  private readonly switchKey: string;
  private readonly queue: Queue;
  private mode: DegradationMode;
  private state: { degraded: boolean; reasons: string[]; since: Date };
  private readings: DegradationStatus['readings'] = { settlementBacklog: null, eventLoopDelayMs: 0, openBreakers: [] };
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private polling?: Promise<void>;
  private readonly caches = new Map<string, LRUCache<string, Entry>>();
  private readonly degradedReads;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_REDIS) private readonly redis: RedisClient,
    @Inject(QUEUE_REDIS) queueRedis: RedisClient,
    @Inject(ADMISSION) private readonly admission: Admission,
    metrics: Metrics,
  ) {
    this.switchKey = `${config.REDIS_KEY_PREFIX}:degradation:mode`;
    this.queue = new Queue(SETTLEMENT_QUEUE, { connection: queueRedis, prefix: config.QUEUE_PREFIX });
    // A queue Redis outage only leaves the backlog reading stale; it must never be an unhandled 'error' event.
    this.queue.on('error', (err) => this.log.warn(`settlement queue: ${err.message}`));
    this.mode = config.DEGRADATION_MODE;
    this.state = { degraded: this.mode === 'on', reasons: this.mode === 'on' ? ['manual'] : [], since: new Date() };
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect() to the gauge
    const self = this;
    metrics.gauge('degraded', '1 while non-critical reads are degraded on this replica', [], function collect() {
      this.set(self.state.degraded ? 1 : 0);
    });
    metrics.gauge('degradation_reason', 'active degradation reasons (1 = active)', ['reason'], function collect() {
      this.reset();
      for (const r of self.state.reasons) this.labels(r).set(1);
    });
    metrics.gauge('settlement_backlog_jobs', 'settlement jobs waiting, delayed or running, as the gateway last read them', [], function collect() {
      this.set(self.readings.settlementBacklog ?? 0);
    });
    this.degradedReads = metrics.counter('degraded_reads_total', 'reads answered while degraded or after a dependency failure', ['route', 'outcome']);
  }

  async onApplicationBootstrap(): Promise<void> {
    // A breaker opening or closing takes effect at once, not at the next poll.
    this.unsubscribe = breakers.onStateChange(() => {
      this.readings.openBreakers = this.openBreakers();
      this.evaluate();
    });
    await this.poll();
    this.schedule();
  }

  /**
   * Open breakers that DEGRADE_ON_BREAKERS names; canary pools never degrade the system. Not
   * half-open ones: a half-open breaker waits for a trial call, and degraded reads make none, so
   * counting it would keep reads degraded after the callee is back.
   */
  private openBreakers(): string[] {
    return breakers
      .list()
      .filter((b) => b.state === 'open' && this.config.DEGRADE_ON_BREAKERS.some((prefix) => b.name === prefix || b.name.startsWith(`${prefix}:`)))
      .map((b) => b.name);
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.queue.close().catch(() => undefined);
  }

  get degraded(): boolean {
    return this.state.degraded;
  }

  status(): DegradationStatus {
    return { mode: this.mode, degraded: this.state.degraded, reasons: [...this.state.reasons], since: this.state.since.toISOString(), readings: { ...this.readings } };
  }

  /** Sets the shared switch (every replica picks it up within DEGRADATION_POLL_MS; this one at once). */
  async setMode(mode: DegradationMode): Promise<DegradationStatus> {
    // The switch must reach every replica: without Redis it is refused (503), not set on one replica.
    await this.redis.set(this.switchKey, mode).catch((err: unknown) => {
      throw new AppError(ErrorCode.DependencyUnavailable, `degradation switch not stored: ${(err as Error)?.message ?? String(err)}`);
    });
    this.mode = mode;
    this.evaluate();
    this.log.warn(`degradation switch set to ${mode}`);
    return this.status();
  }

  /**
   * A non-critical read. Not degraded: calls `load`, keeps the answer for later; if `load` fails
   * with a dependency error, a fresh cached answer is served instead. Degraded: a fresh cached
   * answer, else 503 DEGRADED without calling `load`. `onCached` learns the age of a cached answer.
   */
  async read<T>(route: string, key: string, load: () => Promise<T>, onCached: (ageMs: number) => void): Promise<T> {
    const cache = this.cache(route);
    const cached = () => {
      const e = cache?.get(key);
      if (!e) return undefined;
      const age = Date.now() - e.at;
      return age <= this.config.DEGRADED_CACHE_TTL_MS ? { value: e.value as T, age } : undefined;
    };
    if (this.state.degraded) {
      const hit = cached();
      if (hit) {
        this.degradedReads.labels(route, 'cached').inc();
        onCached(hit.age);
        return hit.value;
      }
      this.degradedReads.labels(route, 'refused').inc();
      throw new AppError(ErrorCode.Degraded, `${route} is paused while the system is degraded (grabs are not affected); retry later`, {
        retryAfterSeconds: Math.max(1, Math.ceil(this.config.DEGRADATION_POLL_MS / 1000)),
      });
    }
    try {
      const value = await load();
      cache?.set(key, { value, at: Date.now() });
      return value;
    } catch (err) {
      const code = (err as AppError)?.code;
      const hit = typeof code === 'string' && code.startsWith('DEPENDENCY.') ? cached() : undefined;
      if (!hit) throw err;
      this.degradedReads.labels(route, 'fallback').inc();
      onCached(hit.age);
      return hit.value;
    }
  }

  private cache(route: string): LRUCache<string, Entry> | undefined {
    if (this.config.DEGRADED_CACHE_SIZE === 0 || this.config.DEGRADED_CACHE_TTL_MS === 0) return undefined;
    let c = this.caches.get(route);
    if (!c) {
      c = new LRUCache<string, Entry>({ max: this.config.DEGRADED_CACHE_SIZE });
      this.caches.set(route, c);
    }
    return c;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        if (this.timer) this.schedule();
      });
    }, this.config.DEGRADATION_POLL_MS);
    this.timer.unref();
  }

  /** Reads the shared switch and the triggers, then re-evaluates. Never throws: a failed read keeps the last value. */
  private async poll(): Promise<void> {
    const [mode, backlog] = await Promise.all([
      this.redis.get(this.switchKey).catch(() => undefined),
      this.config.DEGRADE_SETTLEMENT_BACKLOG > 0
        ? this.queue.getJobCountByTypes('wait', 'delayed', 'active', 'prioritized', 'paused').catch(() => undefined)
        : Promise.resolve(null),
    ]);
    if (mode && (DEGRADATION_MODES as string[]).includes(mode)) this.mode = mode as DegradationMode;
    if (backlog !== undefined) this.readings.settlementBacklog = backlog;
    this.readings.eventLoopDelayMs = Math.round(this.admission.eventLoopDelayMs() * 10) / 10;
    this.readings.openBreakers = this.openBreakers();
    this.evaluate();
  }

  private evaluate(): void {
    const reasons: string[] = [];
    if (this.mode === 'on') reasons.push('manual');
    if (this.mode === 'auto') {
      const c = this.config;
      const r = this.readings;
      reasons.push(...r.openBreakers.map((b) => `breaker:${b}`));
      if (c.DEGRADE_SETTLEMENT_BACKLOG > 0 && (r.settlementBacklog ?? 0) > c.DEGRADE_SETTLEMENT_BACKLOG) reasons.push('settlement-backlog');
      if (c.DEGRADE_EVENT_LOOP_DELAY_MS > 0 && r.eventLoopDelayMs > c.DEGRADE_EVENT_LOOP_DELAY_MS) reasons.push('event-loop-delay');
    }
    const degraded = reasons.length > 0;
    if (degraded !== this.state.degraded) {
      this.state.since = new Date();
      if (degraded) this.log.warn(`degraded: ${reasons.join(', ')}`);
      else this.log.warn('no longer degraded');
    }
    this.state.degraded = degraded;
    this.state.reasons = reasons;
  }
}
