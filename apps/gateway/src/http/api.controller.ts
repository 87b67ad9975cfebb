import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  AuditReport,
  CreateEnvelopeResponse,
  EnvelopeDetails,
  EnvelopePattern,
  LedgerPattern,
  TopupResponse,
  TransactionsResponse,
  WalletPattern,
  WalletResponse,
} from '@hongbao/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminOnly, AuthGuard, CurrentUser } from '../auth/auth.guard';
import type { Principal } from '../auth/token-verifier';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { Caller, callerOf, Upstream } from '../governance/canary';
import { Degradation, DegradationStatus } from '../governance/degradation';
import { RateLimited } from '../governance/rate-limiter';
import { FinishedDetails } from '../hot/finished-details';
import { envelopeId, idempotencyKey, parse, Schemas, schemas } from './validation';

export const ENVELOPE = Symbol('ENVELOPE_UPSTREAM');
export const WALLET = Symbol('WALLET_UPSTREAM');
export const LEDGER = Symbol('LEDGER_UPSTREAM');

/**
 * The public API (DESIGN §2), except the grab (hot/grab.route.ts). No business rules here:
 * authenticate, rate-limit, validate, forward over RPC (to the stable or the canary pool). Error codes from the services pass through
 * unchanged; the HTTP filter maps them to statuses. Envelope details and wallet history are the
 * degradable reads (see Degradation); grabs, sends and top-ups never are.
 */
@Controller('v1')
@UseGuards(AuthGuard)
export class ApiController {
  private readonly s: Schemas;

  constructor(
    @Inject(ENVELOPE) private readonly envelope: Upstream,
    @Inject(WALLET) private readonly wallet: Upstream,
    @Inject(LEDGER) private readonly ledger: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly degradation: Degradation,
    private readonly finished: FinishedDetails,
  ) {
    this.s = schemas(config);
  }

  @Post('wallet/topups')
  @HttpCode(201)
  @RateLimited('topup')
  topup(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<TopupResponse> {
    const k = idempotencyKey(key);
    const { amount } = parse(this.s.topup, body, 'body');
    return this.wallet.send(WalletPattern.Topup, { userId: user.userId, amount, idempotencyKey: k }, this.caller(user, req));
  }

  @Get('wallet')
  @RateLimited('wallet')
  getWallet(@CurrentUser() user: Principal, @Req() req: FastifyRequest): Promise<WalletResponse> {
    return this.wallet.send(WalletPattern.Get, { userId: user.userId }, this.caller(user, req));
  }

  @Get('wallet/transactions')
  @RateLimited('transactions')
  transactions(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Query() query: unknown): Promise<TransactionsResponse> {
    const q = parse(this.s.transactionsQuery, { ...(query as object) }, 'query');
    const msg = { userId: user.userId, limit: q.limit ?? 20, ...(q.cursor ? { cursor: q.cursor } : {}) };
    return this.degradation.read(
      'transactions',
      `${msg.userId}:${msg.limit}:${q.cursor ?? ''}`,
      () => this.wallet.send<TransactionsResponse>(WalletPattern.Transactions, msg, this.caller(user, req)),
      (age) => markCached(reply, age),
    );
  }

  @Post('envelopes')
  @HttpCode(201)
  @RateLimited('create')
  create(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<CreateEnvelopeResponse> {
    const k = idempotencyKey(key);
    const b = parse(this.s.createEnvelope, body, 'body');
    return this.envelope.send(
      EnvelopePattern.Create,
      {
        senderId: user.userId,
        amount: b.amount,
        count: b.count,
        mode: b.mode,
        ...(b.greeting !== undefined ? { greeting: b.greeting } : {}),
        ttlSeconds: b.ttlSeconds ?? this.config.DEFAULT_TTL_SECONDS,
        idempotencyKey: k,
      },
      this.caller(user, req),
    );
  }

  // POST envelopes/:id/grab is the hot path: a plain Fastify route, see hot/grab.route.ts.

  @Get('envelopes/:id')
  @RateLimited('details')
  async details(@CurrentUser() user: Principal, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Param('id') id: string): Promise<EnvelopeDetails | Buffer> {
    const envId = envelopeId(id);
    // A sold-out envelope's details are final: answered from memory, as the JSON bytes remembered.
    const known = this.finished.answer(envId, reply);
    if (known !== undefined) return known;
    const details = await this.degradation.read(
      'details',
      envId,
      () => this.finished.fetch(envId, () => this.envelope.send<EnvelopeDetails>(EnvelopePattern.Get, { envelopeId: envId }, this.caller(user, req))),
      (age) => markCached(reply, age),
    );
    return this.finished.remember(envId, details, reply);
  }

  @Get('admin/audit')
  @AdminOnly()
  @RateLimited('audit')
  audit(@CurrentUser() user: Principal, @Req() req: FastifyRequest): Promise<AuditReport> {
    return this.ledger.send(LedgerPattern.Audit, {}, this.caller(user, req));
  }

  @Get('admin/degradation')
  @AdminOnly()
  @RateLimited('degradation')
  degradationStatus(): DegradationStatus {
    return this.degradation.status();
  }

  @Put('admin/degradation')
  @AdminOnly()
  @RateLimited('degradation')
  setDegradation(@Body() body: unknown): Promise<DegradationStatus> {
    const { mode } = parse(this.s.degradation, body, 'body');
    return this.degradation.setMode(mode);
  }

  private caller(user: Principal, req: FastifyRequest): Caller {
    return callerOf(user.userId, req.headers, this.config.CANARY_HEADER);
  }
}

/** A degraded read answered from the cache says so, and how old the answer is. */
function markCached(reply: FastifyReply, ageMs: number): void {
  void reply.header('x-hongbao-degraded', 'cached').header('age', String(Math.floor(ageMs / 1000)));
}
