import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SETTLEMENT_QUEUE, SettlementJob } from '@hongbao/contracts';
import { bullConnection, RedisClient, retryForeverBackoff } from '@hongbao/redis';
import { crashPoint, inBatchSpan, InjectLogger, Metrics, SpanKind, tracingOn } from '@hongbao/service-kit';
import { Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { WALLET_CONFIG, WalletConfig } from '../config';
import { SettlementService } from './settlement.service';

/**
 * BullMQ worker for settlement batches. A job is acknowledged only after its transaction
 * commits; a crash in between redelivers it (stalled-job recovery) and the idempotent apply
 * credits nothing twice.
 */
@Injectable()
export class SettlementWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private worker?: Worker<SettlementJob, number>;
  private queue?: Queue<SettlementJob>;
  private readonly connections: RedisClient[] = [];

  constructor(
    private readonly settlement: SettlementService,
    private readonly metrics: Metrics,
    @Inject(WALLET_CONFIG) private readonly config: WalletConfig,
    @InjectLogger() private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const conn = () => {
      const c = bullConnection(this.config.QUEUE_REDIS_URL);
      this.connections.push(c);
      return c;
    };
    const credited = this.metrics.counter('settlement_credits_total', 'Wallet credits applied by settlement, by kind', ['kind']);
    const grabCredits = credited.labels('grab');
    const lag = this.metrics.histogram('settlement_lag_seconds', 'Time from Redis accepting a grab to its wallet credit', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    const batches = this.metrics.counter('settlement_batches_total', 'Settlement jobs by outcome', ['outcome']);
    const queue = new Queue<SettlementJob>(SETTLEMENT_QUEUE, { connection: conn(), prefix: this.config.QUEUE_PREFIX });
    this.queue = queue;
    this.metrics.gauge('settlement_queue_depth', 'Settlement jobs not yet done, by state', ['state'], async function () {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) this.labels(state).set(n);
    });
    if (!this.config.SETTLEMENT_WORKER) return;
    this.worker = new Worker<SettlementJob, number>(
      SETTLEMENT_QUEUE,
      async (job: Job<SettlementJob>) => {
        // Continues each grab's trace: the child of the relay's span when the job holds one traced grab.
        const items = job.data.items;
        const n = await inBatchSpan(
          'settlement.process',
          SpanKind.CONSUMER,
          () => items.map((i) => i.traceparent),
          (carry) => this.settlement.apply(tracingOn() ? items.map((i) => (i.traceparent ? { ...i, traceparent: carry(i.traceparent) } : i)) : items),
          { 'messaging.destination.name': SETTLEMENT_QUEUE, 'messaging.message.id': job.id ?? '' },
        );
        crashPoint('settlement:after-commit');
        const now = Date.now();
        let grabs = 0;
        for (const item of items) {
          if (item.kind === 'grab') grabs++;
          else credited.labels(item.kind).inc();
          lag.observe((now - item.at) / 1000);
        }
        // One increment a job for the grabs (a job holds up to a few hundred), not one labels() lookup each.
        if (grabs > 0) grabCredits.inc(grabs);
        return n;
      },
      {
        connection: conn(),
        prefix: this.config.QUEUE_PREFIX,
        concurrency: this.config.SETTLEMENT_CONCURRENCY,
        // A worker killed mid-job stalls it; BullMQ's default fails it after one stall. Settlement
        // must never be dropped, so a stalled job is always retried.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        lockDuration: this.config.QUEUE_LOCK_MS,
        stalledInterval: this.config.QUEUE_STALLED_CHECK_MS,
        settings: { backoffStrategy: retryForeverBackoff },
      },
    );
    this.worker.on('completed', () => batches.labels('ok').inc());
    this.worker.on('failed', (job, err) => {
      batches.labels('retry').inc();
      this.log.warn({ err, jobId: job?.id, attempts: job?.attemptsMade }, 'settlement batch failed; will retry');
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'settlement worker error'));
  }

  /** Jobs not yet completed (waiting, active, delayed, paused, prioritized) and failed for good. */
  async backlog(): Promise<{ pending: number; failed: number }> {
    const c = await this.queue!.getJobCounts('waiting', 'active', 'delayed', 'paused', 'prioritized', 'waiting-children', 'failed');
    const failed = c['failed'] ?? 0;
    const pending = Object.entries(c).reduce((s, [k, v]) => (k === 'failed' ? s : s + v), 0);
    return { pending, failed };
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => undefined)));
  }
}
