import { Cluster, type Redis } from 'ioredis';

/**
 * Deletes every key matching `pattern` (SCAN, never KEYS). On Redis Cluster it scans each master
 * and deletes key by key, since one DEL of keys in different slots is refused (CROSSSLOT).
 * Returns how many keys were deleted.
 */
export async function deleteKeys(redis: Redis | Cluster, pattern: string): Promise<number> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (!found.length) continue;
      if (redis instanceof Cluster) {
        const p = node.pipeline();
        for (const k of found) p.del(k);
        await p.exec();
      } else {
        await node.del(...found);
      }
      deleted += found.length;
    } while (cursor !== '0');
  }
  return deleted;
}
