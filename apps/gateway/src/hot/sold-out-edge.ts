import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { EnvelopeKeys, RedisClient, SoldOutWinners } from '@hongbao/redis';
import { Metrics } from '@hongbao/service-kit';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { GATEWAY_REDIS } from '../governance/rate-limiter';

/**
 * The sold-out answer at the edge. The gateway subscribes to the envelope service's sold-out
 * announcements (same channel and keys, so it needs the envelope service's REDIS_URL,
 * REDIS_KEY_PREFIX and REDIS_PARTITIONS) and answers the crowd that arrives after the last share
 * (410 ENVELOPE.SOLD_OUT, or 409 ENVELOPE.ALREADY_GRABBED with the amount for a winner) from
 * memory, without an RPC. The answers are exactly the envelope service's: sold out is final and
 * the winners cannot change after it.
 */
@Injectable()
export class SoldOutEdge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly memory: SoldOutWinners;
  /** edge_grab_answers_total by outcome, resolved once (prom-client's labels() hashes the labels on every call) */
  private readonly answered: { soldOut: { inc(): void }; alreadyGrabbed: { inc(): void } };
  /**
   * The sold-out answer is the same for every caller: one error, answered again each time (no
   * allocation per answer); frozen, so sendHttpError serializes its body once.
   */
  private readonly soldOutError = Object.freeze(new AppError(ErrorCode.EnvelopeSoldOut, 'all shares are taken'));

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig, @Inject(GATEWAY_REDIS) redis: RedisClient, metrics: Metrics) {
    const log = new Logger('SoldOutEdge');
    const keys = new EnvelopeKeys(config.REDIS_PARTITIONS, config.REDIS_KEY_PREFIX);
    this.memory = new SoldOutWinners({ redis, url: config.REDIS_URL, keys, size: config.SOLD_OUT_CACHE_SIZE, onError: (err, what) => log.warn(`${what} failed: ${String(err)}`) });
    const answered = metrics.counter('edge_grab_answers_total', 'grabs answered by the gateway from its sold-out memory, without an RPC', ['outcome']);
    this.answered = { soldOut: answered.labels(ErrorCode.EnvelopeSoldOut), alreadyGrabbed: answered.labels(ErrorCode.EnvelopeAlreadyGrabbed) };
  }

  onApplicationBootstrap(): Promise<void> {
    return this.memory.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.memory.stop();
  }

  /** Whether this gateway knows the envelope is sold out (its details are then final). */
  knows(envelopeId: string): boolean {
    return this.memory.winners(envelopeId) !== undefined;
  }

  /** The answer to a grab of a known sold-out envelope, or undefined if the envelope is not known sold out. */
  answer(envelopeId: string, userId: string): AppError | undefined {
    const winners = this.memory.winners(envelopeId);
    if (!winners) return undefined;
    const earlier = winners.get(userId);
    if (earlier !== undefined) {
      this.answered.alreadyGrabbed.inc();
      return new AppError(ErrorCode.EnvelopeAlreadyGrabbed, 'you already grabbed this envelope', { amount: earlier });
    }
    this.answered.soldOut.inc();
    return this.soldOutError;
  }

  /** {@link answer}, thrown: for the Gate's `beforeCount` step. */
  check(envelopeId: string, userId: string): void {
    const answer = this.answer(envelopeId, userId);
    if (answer) throw answer;
  }
}
