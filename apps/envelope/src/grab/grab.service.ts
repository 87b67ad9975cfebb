import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode, GrabRequest, GrabResponse } from '@hongbao/contracts';
import { isIdString } from '@hongbao/ids';
import { EnvelopeScripts, GrabResult } from '@hongbao/redis';
import { currentTraceparent, labelledChildren, Metrics } from '@hongbao/service-kit';
import { EnvelopeRepository } from '../envelope/envelope.repository';
import { SoldOutCache } from './sold-out.cache';

/** The hot path (DESIGN §4.2-4.3): one Lua round trip, or none once the envelope is known sold out. */
@Injectable()
export class GrabService {
  /** grabs_total's children by outcome and source, each resolved once (prom-client hashes the labels on every labels() call) */
  private readonly outcomes: (outcome: string, source: string, unused: string) => { inc(): void };
  /** grabs_total{outcome=won,source=redis}: the one taken per winning grab */
  private readonly won: { inc(): void };

  constructor(
    private readonly scripts: EnvelopeScripts,
    private readonly soldOut: SoldOutCache,
    private readonly repo: EnvelopeRepository,
    metrics: Metrics,
  ) {
    const counter = metrics.counter('grabs_total', 'Grab attempts by outcome and by what answered (redis, memory, mysql)', ['outcome', 'source']);
    this.outcomes = labelledChildren((outcome, source) => counter.labels(outcome, source));
    this.won = this.outcomes('won', 'redis', '');
  }

  async grab(req: GrabRequest): Promise<GrabResponse> {
    const { envelopeId, userId } = req;
    if (!isIdString(envelopeId)) throw this.fail('ENVELOPE.NOT_FOUND', 'memory', 'no such envelope');

    const winners = this.soldOut.winners(envelopeId);
    if (winners) {
      const earlier = winners.get(userId);
      if (earlier !== undefined) throw this.fail(ErrorCode.EnvelopeAlreadyGrabbed, 'memory', 'you already grabbed this envelope', { amount: earlier });
      throw this.fail(ErrorCode.EnvelopeSoldOut, 'memory', 'all shares are taken');
    }

    const r = await this.scripts.grab(envelopeId, userId, currentTraceparent());
    switch (r.result) {
      case GrabResult.Won:
        if (r.sharesLeft === 0) this.soldOut.announce(envelopeId);
        this.won.inc();
        return { envelopeId, amount: r.amount };
      case GrabResult.AlreadyGrabbed:
        throw this.fail(ErrorCode.EnvelopeAlreadyGrabbed, 'redis', 'you already grabbed this envelope', { amount: r.amount });
      case GrabResult.SoldOut:
        this.soldOut.announce(envelopeId);
        throw this.fail(ErrorCode.EnvelopeSoldOut, 'redis', 'all shares are taken');
      case GrabResult.Expired:
        throw this.fail(ErrorCode.EnvelopeExpired, 'redis', 'this envelope has expired');
      default:
        return this.grabAfterRetention(envelopeId, userId);
    }
  }

  /** No hot state: the envelope is unknown, not yet loaded, or closed and past Redis retention. */
  private async grabAfterRetention(envelopeId: string, userId: string): Promise<never> {
    const row = await this.repo.find(envelopeId);
    if (!row || row.status === 'pending' || row.status === 'failed') throw this.fail(ErrorCode.EnvelopeNotFound, 'mysql', 'no such envelope');
    const earlier = await this.repo.grabOf(envelopeId, userId);
    if (earlier !== undefined) throw this.fail(ErrorCode.EnvelopeAlreadyGrabbed, 'mysql', 'you already grabbed this envelope', { amount: earlier });
    if (row.status === 'expired' || Date.now() >= row.expiresAtMs) throw this.fail(ErrorCode.EnvelopeExpired, 'mysql', 'this envelope has expired');
    throw this.fail(ErrorCode.EnvelopeSoldOut, 'mysql', 'all shares are taken');
  }

  private fail(code: ErrorCode, source: string, message: string, details?: Record<string, unknown>): AppError {
    this.outcomes(code, source, '').inc();
    return new AppError(code, message, details);
  }
}
