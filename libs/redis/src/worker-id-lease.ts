import { randomBytes, randomInt } from 'node:crypto';
import { Snowflake } from '@hongbao/ids';
import type { RedisClient } from './connection';

/** Renews only if we still own the key. KEYS: key. ARGV: token, ttlMs. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return -1
`;

/**
 * A snowflake worker id (0..1023) leased from Redis, so that no two live replicas of a service
 * share one (a shared worker id can mint the same id twice). SET NX with a TTL claims a free id;
 * a timer renews it. If the key is found owned by someone else (Redis lost it and another
 * replica took the id), `onLost` fires: the process must stop minting ids.
 */
export class WorkerIdLease {
  private timer?: NodeJS.Timeout;

  private constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly token: string,
    readonly workerId: number,
    private readonly ttlMs: number,
  ) {}

  /**
   * @param namespace e.g. "hb:idworker:envelope"; ids are per namespace
   * @param ttlMs lease time, default 30000; renewed every ttlMs/3
   */
  static async acquire(redis: RedisClient, namespace: string, opts: { ttlMs?: number; onLost?: (workerId: number) => void } = {}): Promise<WorkerIdLease> {
    const ttlMs = opts.ttlMs ?? 30_000;
    const token = randomBytes(8).toString('hex');
    const start = randomInt(0, 1024);
    for (let i = 0; i < 1024; i++) {
      const id = (start + i) % 1024;
      const key = `${namespace}:${id}`;
      if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') {
        const lease = new WorkerIdLease(redis, key, token, id, ttlMs);
        lease.timer = setInterval(() => void lease.renew(opts.onLost), Math.max(100, Math.floor(ttlMs / 3)));
        lease.timer.unref();
        return lease;
      }
    }
    throw new Error(`all 1024 snowflake worker ids under ${namespace} are leased`);
  }

  /** Returns false when the lease was found taken by another owner. Redis errors keep the lease (nobody else can take it while Redis is unreachable). */
  async renew(onLost?: (workerId: number) => void): Promise<boolean> {
    try {
      const r = (await this.redis.eval(RENEW, 1, this.key, this.token, this.ttlMs)) as number;
      if (r === -1) {
        if (this.timer) clearInterval(this.timer);
        onLost?.(this.workerId);
        return false;
      }
    } catch {
      /* unreachable Redis: retry at the next tick */
    }
    return true;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, this.key, this.token).catch(() => undefined);
  }
}

/**
 * The process's snowflake generator: with a fixed worker id when configured (ID_WORKER),
 * otherwise with one leased from Redis under `namespace`. A lost lease ends the process
 * (exit 1) rather than risk minting a duplicate id; the orchestrator restarts it.
 */
export async function leasedSnowflake(
  redis: RedisClient,
  namespace: string,
  fixedWorkerId: number | undefined,
  log: { fatal(obj: object, msg: string): void },
): Promise<{ snowflake: Snowflake; release(): Promise<void> }> {
  if (fixedWorkerId !== undefined) return { snowflake: new Snowflake(fixedWorkerId), release: async () => undefined };
  const lease = await WorkerIdLease.acquire(redis, namespace, {
    onLost: (workerId) => {
      log.fatal({ workerId, namespace }, 'snowflake worker id lease lost to another process; exiting');
      process.exit(1);
    },
  });
  return { snowflake: new Snowflake(lease.workerId), release: () => lease.release() };
}
