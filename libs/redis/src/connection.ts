import { Cluster, Redis, RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/**
 * Opens a connection from a URL. `redis://host:port[/db]` is one server;
 * `redis-cluster://host1:port1,host2:port2` is Redis Cluster (seed nodes).
 * Auto-pipelining batches concurrent commands into one write per event-loop tick,
 * which is what lets thousands of concurrent grabs share a few round trips.
 */
export function createRedis(url: string, opts: RedisOptions = {}): RedisClient {
  const base: RedisOptions = { enableAutoPipelining: true, lazyConnect: false, ...opts };
  if (url.startsWith('redis-cluster://')) {
    const nodes = url
      .slice('redis-cluster://'.length)
      .split(',')
      .map((hp) => {
        const [host, port] = hp.split(':');
        return { host, port: Number(port) };
      });
    // ioredis has no key table entry for XGROUP, so auto-pipelining would route it by its first
    // argument ("CREATE") and batch calls for different masters together: send it alone.
    return new Cluster(nodes, { enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['xgroup'], redisOptions: base, scaleReads: 'master' });
  }
  return new Redis(url, base);
}

/** Connection options BullMQ requires (it blocks on some commands and must never give up retrying). */
export function bullConnection(url: string): RedisClient {
  return createRedis(url, { maxRetriesPerRequest: null, enableAutoPipelining: false });
}

/** True when `url` names a Redis Cluster (BullMQ then needs a `{hash-tag}` queue prefix). */
export function isClusterUrl(url: string): boolean {
  return url.startsWith('redis-cluster://');
}
