import { hostname } from 'node:os';
import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SETTLEMENT_QUEUE, SettlementItem, SettlementJob, TransferId } from '@hongbao/contracts';
import { bullConnection, EnvelopeKeys, NEVER_DROP, RedisClient } from '@hongbao/redis';
import { IdleBackoff } from '@hongbao/resilience';
import { crashPoint, inBatchSpan, InjectLogger, Metrics, SpanKind } from '@hongbao/service-kit';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { EnvelopeRepository, GrabRecord } from '../envelope/envelope.repository';
import { HOT_REDIS } from '../redis.provider';

export const RELAY_GROUP = 'relay';
type StreamEntry = [id: string, fields: string[]];
/** The entries one round read from one partition's stream. */
interface PartitionBatch {
  key: string;
  entries: StreamEntry[];
}

/**
 * Relays settlement intents (DESIGN §4.4): reads each partition's outbox stream with a consumer
 * group, persists grab records and refunds to the envelope shards, enqueues the round's
 * settlement items as BullMQ jobs (all partitions together, at most RELAY_BATCH items a job),
 * and only then acknowledges and deletes the entries. A crash
 * anywhere before the ack leaves the entries pending; another relay claims them after
 * RELAY_CLAIM_IDLE_MS. Every step downstream is idempotent, so re-relaying pays nothing twice.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
  private running = false;
  private loop?: Promise<void>;
  private queue!: Queue<SettlementJob>;
  private queueConn?: RedisClient;

  constructor(
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
    private readonly keys: EnvelopeKeys,
    private readonly repo: EnvelopeRepository,
    private readonly metrics: Metrics,
    @Inject(ENVELOPE_CONFIG) private readonly config: EnvelopeConfig,
    @InjectLogger() private readonly log: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.BACKGROUND_WORKERS) return;
    const backlog = () => this.backlog();
    this.queueConn = bullConnection(this.config.QUEUE_REDIS_URL);
    this.queue = new Queue<SettlementJob>(SETTLEMENT_QUEUE, { connection: this.queueConn, prefix: this.config.QUEUE_PREFIX });
    await Promise.all(
      this.keys.allOutboxes().map((k) =>
        this.redis.xgroup('CREATE', k, RELAY_GROUP, '0', 'MKSTREAM').catch((e: Error) => {
          if (!/BUSYGROUP/.test(e.message)) throw e;
        }),
      ),
    );
    this.metrics.gauge('outbox_stream_backlog', 'Settlement intents in the Redis outbox streams not yet relayed', [], async function (this: { set(v: number): void }) {
      this.set(await backlog());
    });
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const relayed = this.metrics.counter('relay_entries_total', 'Outbox stream entries relayed to settlement, by kind', ['kind']);
    let lastClaim = 0;
    let failures = 0;
    const idle = new IdleBackoff(this.config.RELAY_IDLE_MS, this.config.RELAY_MAX_IDLE_MS);
    while (this.running) {
      try {
        let n = 0;
        // After a failed round (MySQL or the queue briefly away), first retry the entries this
        // relay already read: waiting for RELAY_CLAIM_IDLE_MS would only delay their credits.
        if (failures > 0) n += await this.relayNew(relayed, '0');
        if (Date.now() - lastClaim > Math.min(5000, this.config.RELAY_CLAIM_IDLE_MS)) {
          lastClaim = Date.now();
          n += await this.claimAbandoned(relayed);
        }
        n += await this.relayNew(relayed);
        failures = 0;
        // Unless the round was full, let the next batch gather for RELAY_IDLE_MS: under a burst a
        // round that starts at once finds only the few grabs made while the last one ran, and
        // every job, transaction and commit downstream is paid per batch, not per grab. Empty
        // rounds double the wait up to RELAY_MAX_IDLE_MS: an idle relay polled 50 times a second.
        const wait = idle.next(n);
        if (n < this.config.RELAY_BATCH) await sleep(wait);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) this.log.warn({ err, failures }, 'outbox relay failed; retrying');
        await sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /**
   * One round over every partition; returns entries relayed. `from` '>' reads new entries,
   * '0' re-reads this consumer's own delivered-but-unacknowledged ones.
   */
  async relayNew(relayed?: { labels(k: string): { inc(n?: number): void } }, from: '>' | '0' = '>'): Promise<number> {
    const read = (keys: string[]) =>
      this.redis.xreadgroup('GROUP', RELAY_GROUP, this.consumer, 'COUNT', this.config.RELAY_BATCH, 'STREAMS', ...keys, ...keys.map(() => from)) as Promise<
        [string, StreamEntry[]][] | null
      >;
    // One Redis server: every partition in one command (COUNT applies per stream), so an idle
    // relay costs one command a round, not one per partition. Redis Cluster: each partition is
    // its own hash slot, and a command may not span slots.
    const streams = this.keys.allOutboxes();
    const replies = await Promise.all(this.redis.isCluster ? streams.map((k) => read([k])) : [read(streams)]);
    const batches: PartitionBatch[] = [];
    for (const reply of replies) {
      if (!reply) continue;
      for (const [key, all] of reply) {
        const entries = all.filter((e) => e && e[1]); // a re-read may return ids already deleted
        if (entries.length) batches.push({ key, entries });
      }
    }
    return this.process(batches, relayed);
  }

  /** Takes over entries another (crashed) relay read but never acknowledged. */
  async claimAbandoned(relayed?: { labels(k: string): { inc(n?: number): void } }): Promise<number> {
    const batches: PartitionBatch[] = [];
    for (const key of this.keys.allOutboxes()) {
      const reply = (await this.redis.xautoclaim(key, RELAY_GROUP, this.consumer, this.config.RELAY_CLAIM_IDLE_MS, '0-0', 'COUNT', this.config.RELAY_BATCH)) as [
        string,
        StreamEntry[],
      ];
      const entries = (reply?.[1] ?? []).filter((e) => e && e[1]);
      if (entries.length) batches.push({ key, entries });
    }
    return this.process(batches, relayed);
  }

  /**
   * Relays one round: the entries read from every partition together, so a burst spread over
   * many envelopes (and so partitions) makes few large settlement jobs rather than one small job
   * per partition. Jobs hold at most RELAY_BATCH items; each job id is a hash of its entries, so
   * the same entries re-relayed after a crash make the same job (BullMQ ignores a duplicate id),
   * and a different grouping is harmless too: settlement credits each transfer id once.
   */
  private async process(batches: PartitionBatch[], relayed?: { labels(k: string): { inc(n?: number): void } }): Promise<number> {
    if (!batches.length) return 0;
    crashPoint('relay:after-read');
    const grabs: GrabRecord[] = [];
    const refunds: GrabRecord[] = [];
    /** traceparent stored by each traced grab */
    const tps = new Map<GrabRecord, string>();
    /** `<stream key> <entry id>` of each grab and refund, in item order, for the job ids */
    const sources = new Map<GrabRecord, string>();
    for (const { key, entries } of batches) for (const [id, f] of entries) {
      const m: Record<string, string> = {};
      for (let i = 0; i < f.length; i += 2) m[f[i]] = f[i + 1];
      const rec = { envelopeId: m['e'], userId: m['u'], amount: Number(m['a']), at: Number(m['t']) };
      (m['k'] === 'r' ? refunds : grabs).push(rec);
      sources.set(rec, `${key} ${id}`);
      if (m['tp']) tps.set(rec, m['tp']);
    }
    // One span per batch: the grab's child when the batch holds one traced grab, else linked to each.
    return inBatchSpan('outbox.relay', SpanKind.PRODUCER, () => [...tps.values()], async (carry) => {
      if (grabs.length) await this.repo.saveGrabs(grabs);
      for (const r of refunds) await this.repo.markExpired(r.envelopeId, r.amount, r.at);
      const traced = (g: GrabRecord) => {
        const tp = carry(tps.get(g));
        return tp ? { traceparent: tp } : {};
      };
      const items: { item: SettlementItem; source: string }[] = [
        ...grabs.map((g) => ({ item: { transferId: TransferId.grab(g.envelopeId, g.userId), kind: 'grab' as const, ...g, ...traced(g) }, source: sources.get(g)! })),
        ...refunds
          .filter((r) => r.amount > 0)
          .map((r) => ({ item: { transferId: TransferId.refund(r.envelopeId), kind: 'refund' as const, ...r }, source: sources.get(r)! })),
      ];
      const jobs = [];
      for (let i = 0; i < items.length; i += this.config.RELAY_BATCH) {
        const chunk = items.slice(i, i + this.config.RELAY_BATCH);
        const jobId = `s-${createHash('sha1').update(chunk.map((c) => c.source).join('\n')).digest('hex')}`;
        jobs.push({ name: 'settle', data: { items: chunk.map((c) => c.item) }, opts: { ...NEVER_DROP, jobId } });
      }
      if (jobs.length) await this.queue.addBulk(jobs);
      crashPoint('relay:after-enqueue');
      // One MULTI per stream: a crash can never leave an acknowledged entry in the stream (counted as backlog).
      await Promise.all(
        batches.map(({ key, entries }) => {
          const ids = entries.map((e) => e[0]);
          return this.redis.multi().xack(key, RELAY_GROUP, ...ids).xdel(key, ...ids).exec();
        }),
      );
      relayed?.labels('grab').inc(grabs.length);
      relayed?.labels('refund').inc(refunds.length);
      return batches.reduce((n, b) => n + b.entries.length, 0);
    });
  }

  /** Entries written but not yet relayed (entries are deleted once relayed). */
  async backlog(): Promise<number> {
    const lens = await Promise.all(this.keys.allOutboxes().map((k) => this.redis.xlen(k)));
    return lens.reduce((a, b) => a + b, 0);
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.queue?.close();
    await this.queueConn?.quit().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
