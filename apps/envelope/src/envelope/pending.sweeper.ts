import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppError } from '@hongbao/contracts';
import { InjectLogger } from '@hongbao/service-kit';
import type { Logger } from 'pino';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { CreateEnvelopeService } from './create-envelope.service';
import { EnvelopeRepository } from './envelope.repository';

/**
 * Finishes or fails envelopes a crash left pending (DESIGN §4.1). It calls the same idempotent
 * `complete` as the send itself: the wallet's debit answers the same for the same envelope id
 * (success, or a remembered refusal), so the sweeper and a late original request always agree
 * and a debit never strands money.
 */
@Injectable()
export class PendingSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly repo: EnvelopeRepository,
    private readonly creator: CreateEnvelopeService,
    @Inject(ENVELOPE_CONFIG) private readonly config: EnvelopeConfig,
    @InjectLogger() private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.BACKGROUND_WORKERS) return;
    this.timer = setInterval(() => void this.sweep(), this.config.SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** One pass over every shard; returns how many pending envelopes it settled either way. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let n = 0;
    try {
      for (let s = 0; s < this.repo.db.shardCount(); s++) {
        const rows = await this.repo.pendingOlderThan(s, Date.now() - this.config.SWEEP_AFTER_MS, 100);
        for (const row of rows) {
          try {
            await this.creator.complete(row);
            n++;
          } catch (err) {
            if (err instanceof AppError) n++; // failed for good (insufficient funds): recorded
            else this.log.warn({ err, envelopeId: row.id }, 'sweeper could not finish a pending envelope; will retry');
          }
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'pending sweep failed');
    } finally {
      this.sweeping = false;
    }
    return n;
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
