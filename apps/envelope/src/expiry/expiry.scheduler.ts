import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { bullConnection, EnvelopeScripts, NEVER_DROP, RedisClient, retryForeverBackoff } from '@hongbao/redis';
import { InjectLogger, Metrics } from '@hongbao/service-kit';
import { Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';

export const EXPIRY_QUEUE = 'expiry';

/**
 * Expiry (DESIGN §4.6): a delayed BullMQ job per envelope (job id = envelope id, so scheduling
 * twice is harmless) closes the envelope in Redis atomically; the close script emits the refund
 * intent to the same outbox stream the grabs use, so the refund settles exactly like a grab.
 */
@Injectable()
export class ExpiryScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private queue!: Queue;
  private worker?: Worker;
  private readonly connections: RedisClient[] = [];

  constructor(
    private readonly scripts: EnvelopeScripts,
    private readonly metrics: Metrics,
    @Inject(ENVELOPE_CONFIG) private readonly config: EnvelopeConfig,
    @InjectLogger() private readonly log: Logger,
  ) {
    this.queue = new Queue(EXPIRY_QUEUE, { connection: this.conn(), prefix: config.QUEUE_PREFIX });
  }

  private conn(): RedisClient {
    const c = bullConnection(this.config.QUEUE_REDIS_URL);
    this.connections.push(c);
    return c;
  }

  async schedule(envelopeId: string, expiresAtMs: number): Promise<void> {
    await this.queue.add('expire', { envelopeId }, { ...NEVER_DROP, jobId: `exp-${envelopeId}`, delay: Math.max(0, expiresAtMs - Date.now()) });
  }

  onApplicationBootstrap(): void {
    if (!this.config.BACKGROUND_WORKERS) return;
    const closed = this.metrics.counter('envelopes_expired_total', 'Envelopes closed at expiry, by whether anything was refunded', ['refund']);
    this.worker = new Worker(
      EXPIRY_QUEUE,
      async (job: Job<{ envelopeId: string }>) => {
        const r = await this.scripts.close(job.data.envelopeId);
        if (!r.found) this.log.warn({ envelopeId: job.data.envelopeId }, 'expiry found no hot state (retention shorter than ttl?)');
        if (r.closedNow) closed.labels(r.refund > 0 ? 'yes' : 'no').inc();
        return r;
      },
      {
        connection: this.conn(),
        prefix: this.config.QUEUE_PREFIX,
        concurrency: 8,
        // an expiry interrupted by a crash is retried, never failed for good
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        lockDuration: this.config.QUEUE_LOCK_MS,
        stalledInterval: this.config.QUEUE_STALLED_CHECK_MS,
        settings: { backoffStrategy: retryForeverBackoff },
      },
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'expiry worker error'));
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => undefined)));
  }
}
