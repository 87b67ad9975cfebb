import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Cluster } from 'ioredis';
import { createRedis } from '@hongbao/redis';
import { forEachMaster, startRedisCluster, type RedisCluster } from '../src';

jest.setTimeout(60_000);

describe('startRedisCluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    client = createRedis(cluster.url) as Cluster;
  });

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('starts 3 masters that share the 16384 slots and a redis-cluster:// URL the app accepts', async () => {
    expect(cluster.ports).toHaveLength(3);
    expect(cluster.url).toBe(`redis-cluster://${cluster.ports.map((p) => `127.0.0.1:${p}`).join(',')}`);
    const infos = await forEachMaster(cluster, (node) => node.cluster('INFO') as Promise<string>);
    for (const info of infos) {
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_slots_assigned:16384/);
      expect(info).toMatch(/cluster_known_nodes:3/);
    }
    expect(client.nodes('master')).toHaveLength(3);
  });

  it('routes keys of different hash tags to different masters', async () => {
    await Promise.all(Array.from({ length: 64 }, (_, p) => client.set(`t:{p${p}}:k`, String(p))));
    const counts = await forEachMaster(cluster, async (node) => (await node.keys('t:*')).length);
    expect(counts.reduce((s, n) => s + n, 0)).toBe(64);
    expect(counts.filter((n) => n > 0).length).toBe(3);
  });

  // The outbox relay creates the consumer group of all 64 partition streams at once
  // (apps/envelope/src/relay/outbox.relay.ts). @ioredis/commands knows no key of XGROUP, so
  // ioredis's auto-pipelining groups those calls by the slot of their first argument ("CREATE"),
  // sends them all to one master and surfaces the other masters' MOVED replies as errors.
  it('a createRedis cluster client creates consumer groups on streams of every master at once', async () => {
    const keys = Array.from({ length: 64 }, (_, p) => `t:{p${p}}:outbox`);
    const results = await Promise.allSettled(keys.map((k) => client.xgroup('CREATE', k, 'relay', '0', 'MKSTREAM')));
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  });

  it('stop() kills the nodes and removes the directory; a second stop() is harmless', async () => {
    const other = await startRedisCluster({ masters: 3 });
    await other.stop();
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    const probe = await Promise.all(
      other.ports.map(
        (port) =>
          new Promise<string>((res) => {
            const sock = connect(port, '127.0.0.1');
            sock.once('connect', () => (sock.destroy(), res('up')));
            sock.once('error', () => res('down'));
          }),
      ),
    );
    expect(probe).toEqual(['down', 'down', 'down']);
  });
});
