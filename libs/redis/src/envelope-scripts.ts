import type { Breaker } from '@hongbao/resilience';
import type { RedisClient } from './connection';
import { EnvelopeKeys } from './keys';
import { CLOSE_ENVELOPE, GRAB, GrabResult, LOAD_ENVELOPE } from './scripts';

export type GrabOutcome =
  | { result: typeof GrabResult.Won; amount: number; sharesLeft: number; at: number }
  | { result: typeof GrabResult.AlreadyGrabbed; amount: number }
  | { result: typeof GrabResult.SoldOut | typeof GrabResult.Expired | typeof GrabResult.NotFound };

interface ScriptCommands {
  hbLoad(...args: (string | number)[]): Promise<number>;
  hbGrab(...args: (string | number)[]): Promise<number[]>;
  hbClose(...args: (string | number)[]): Promise<number[]>;
}

/** Options of {@link EnvelopeScripts}. */
export interface EnvelopeScriptsOptions {
  /**
   * Breaker every script call goes through (see `redisBreaker`): while Redis is down, grabs,
   * loads and closes fail at once with DEPENDENCY.UNAVAILABLE. Outcomes such as sold out are
   * replies, never failures. Default none.
   */
  breaker?: Breaker;
}

/**
 * Typed access to the envelope Lua scripts (EVALSHA with automatic script loading). A script
 * failing on a dead Redis is not retried here: a grab may have run before its reply was lost.
 */
export class EnvelopeScripts {
  private readonly r: RedisClient & ScriptCommands;
  private readonly breaker?: Breaker;

  constructor(
    redis: RedisClient,
    readonly keys: EnvelopeKeys,
    opts: EnvelopeScriptsOptions = {},
  ) {
    this.breaker = opts.breaker;
    redis.defineCommand('hbLoad', { numberOfKeys: 2, lua: LOAD_ENVELOPE });
    redis.defineCommand('hbGrab', { numberOfKeys: 4, lua: GRAB });
    redis.defineCommand('hbClose', { numberOfKeys: 3, lua: CLOSE_ENVELOPE });
    this.r = redis as RedisClient & ScriptCommands;
  }

  /** Loads shares unless already loaded; keys live until keyExpireAtMs. Returns true if loaded now. */
  async load(envelopeId: string, p: { expiresAtMs: number; keyExpireAtMs: number; amount: number; senderId: string; shares: number[] }): Promise<boolean> {
    const k = this.keys.of(envelopeId);
    const n = await this.guard(() => this.r.hbLoad(k.meta, k.shares, p.expiresAtMs, p.keyExpireAtMs, p.amount, p.shares.length, p.senderId, ...p.shares));
    return n === 1;
  }

  /** One grab; a win's settlement intent carries `traceparent` (W3C) when given. */
  async grab(envelopeId: string, userId: string, traceparent?: string): Promise<GrabOutcome> {
    const k = this.keys.of(envelopeId);
    const r = await this.guard(() =>
      traceparent ? this.r.hbGrab(k.meta, k.shares, k.grabs, k.outbox, userId, envelopeId, traceparent) : this.r.hbGrab(k.meta, k.shares, k.grabs, k.outbox, userId, envelopeId),
    );
    switch (r[0]) {
      case GrabResult.Won:
        return { result: GrabResult.Won, amount: r[1], sharesLeft: r[2], at: r[3] };
      case GrabResult.AlreadyGrabbed:
        return { result: GrabResult.AlreadyGrabbed, amount: r[1] };
      case GrabResult.SoldOut:
      case GrabResult.Expired:
      case GrabResult.NotFound:
        return { result: r[0] };
      default:
        throw new Error(`unexpected grab reply ${JSON.stringify(r)}`);
    }
  }

  /** Closes the envelope and emits its refund intent. `closedNow` is false when it was closed before or is unknown. */
  async close(envelopeId: string): Promise<{ found: boolean; closedNow: boolean; refund: number }> {
    const k = this.keys.of(envelopeId);
    const r = await this.guard(() => this.r.hbClose(k.meta, k.shares, k.outbox, envelopeId));
    if (r[0] === -1) return { found: false, closedNow: false, refund: 0 };
    return { found: true, closedNow: r[0] === 1, refund: r[1] };
  }

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return this.breaker ? this.breaker.run(fn) : fn();
  }
}
