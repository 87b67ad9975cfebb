import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  AppError,
  CreateEnvelopeRequest,
  CreateEnvelopeResponse,
  ErrorCode,
  WalletPattern,
  DebitForEnvelopeResponse,
} from '@hongbao/contracts';
import { Snowflake } from '@hongbao/ids';
import { splitEqual, splitRandom } from '@hongbao/money';
import { EnvelopeScripts } from '@hongbao/redis';
import { RpcClient } from '@hongbao/rpc';
import { ENVELOPE_CONFIG, EnvelopeConfig } from '../config';
import { crashPoint } from '@hongbao/service-kit';
import { ExpiryScheduler } from '../expiry/expiry.scheduler';
import { EnvelopeRepository, EnvelopeRow } from './envelope.repository';

export const WALLET_CLIENT = Symbol('WALLET_CLIENT');

/**
 * Sending an envelope (DESIGN §4.1): claim the idempotency key, write the envelope as pending,
 * debit the sender (idempotent on the envelope id), pre-split with a CSPRNG, load Redis,
 * schedule expiry, mark active. Every step is idempotent, so a retry, a replayed request or the
 * pending sweeper can run `complete` again from any point a crash left behind.
 */
@Injectable()
export class CreateEnvelopeService {
  constructor(
    private readonly repo: EnvelopeRepository,
    private readonly scripts: EnvelopeScripts,
    private readonly expiry: ExpiryScheduler,
    private readonly ids: Snowflake,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(ENVELOPE_CONFIG) private readonly config: EnvelopeConfig,
  ) {}

  async create(req: CreateEnvelopeRequest): Promise<CreateEnvelopeResponse> {
    this.validate(req);
    const greeting = req.greeting ?? null;
    const hash = createHash('sha256')
      .update(JSON.stringify([req.amount, req.count, req.mode, greeting, req.ttlSeconds]))
      .digest('hex');
    const claim = await this.repo.claimSendRequest(req.senderId, req.idempotencyKey, hash, this.ids.next());
    if (claim.hash !== hash) throw new AppError(ErrorCode.IdempotencyKeyReused, 'this Idempotency-Key was used with a different request');
    const now = Date.now();
    const row = await this.repo.insertPending({
      id: claim.envelopeId,
      senderId: req.senderId,
      amount: req.amount,
      count: req.count,
      mode: req.mode,
      greeting,
      expiresAtMs: now + req.ttlSeconds * 1000,
      createdAtMs: now,
    });
    return this.complete(row);
  }

  /** Drives an envelope from wherever it is to active (or failed); returns the send's response. */
  async complete(row: EnvelopeRow): Promise<CreateEnvelopeResponse> {
    if (row.status === 'failed') throw insufficient(row.amount);
    if (row.status === 'pending') {
      try {
        await this.wallet.send<DebitForEnvelopeResponse>(WalletPattern.DebitForEnvelope, { userId: row.senderId, envelopeId: row.id, amount: row.amount });
      } catch (err) {
        if (err instanceof AppError && err.code === ErrorCode.WalletInsufficientFunds) {
          await this.repo.transition(row.id, 'failed');
          throw err;
        }
        throw err; // left pending: a retry or the sweeper finishes it
      }
      crashPoint('create:after-debit');
      const shares = row.mode === 'equal' ? splitEqual(row.amount, row.count) : splitRandom(row.amount, row.count);
      await this.scripts.load(row.id, {
        expiresAtMs: row.expiresAtMs,
        keyExpireAtMs: row.expiresAtMs + this.config.RETENTION_SECONDS * 1000,
        amount: row.amount,
        senderId: row.senderId,
        shares,
      });
      await this.expiry.schedule(row.id, row.expiresAtMs);
      await this.repo.transition(row.id, 'active');
    }
    return { envelopeId: row.id, amount: row.amount, count: row.count, mode: row.mode, expiresAt: new Date(row.expiresAtMs).toISOString() };
  }

  /** Defence in depth: the gateway validates too, but money code never trusts its caller. */
  private validate(r: CreateEnvelopeRequest): void {
    const bad = (m: string) => new AppError(ErrorCode.ValidationFailed, m);
    if (!Number.isSafeInteger(r.count) || r.count < 1 || r.count > this.config.MAX_COUNT) throw bad(`count must be an integer 1..${this.config.MAX_COUNT}`);
    if (!Number.isSafeInteger(r.amount) || r.amount < r.count || r.amount > this.config.MAX_AMOUNT) throw bad('amount must be an integer >= count');
    if (r.mode !== 'random' && r.mode !== 'equal') throw bad('mode must be random or equal');
    if (r.mode === 'equal' && r.amount % r.count !== 0) throw bad('equal mode needs amount divisible by count');
    if (!Number.isSafeInteger(r.ttlSeconds) || r.ttlSeconds < 1) throw bad('ttlSeconds must be a positive integer');
  }
}

function insufficient(amount: number): AppError {
  return new AppError(ErrorCode.WalletInsufficientFunds, `balance is too low to send ${amount} cents`);
}
