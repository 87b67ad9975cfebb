import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import {
  AuditReport,
  CreateEnvelopeResponse,
  EnvelopeDetails,
  EnvelopePattern,
  GrabResponse,
  LedgerPattern,
  TopupResponse,
  TransactionsResponse,
  WalletPattern,
  WalletResponse,
} from '@hongbao/contracts';
import { RpcClient } from '@hongbao/rpc';
import { AdminOnly, AuthGuard, CurrentUser } from '../auth/auth.guard';
import type { Principal } from '../auth/token-verifier';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { envelopeId, idempotencyKey, parse, Schemas, schemas } from './validation';

export const ENVELOPE_CLIENT = Symbol('ENVELOPE_CLIENT');
export const WALLET_CLIENT = Symbol('WALLET_CLIENT');
export const LEDGER_CLIENT = Symbol('LEDGER_CLIENT');

/**
 * The public API (DESIGN §2). No business rules here: authenticate, validate, forward over RPC.
 * Error codes from the services pass through unchanged; the HTTP filter maps them to statuses.
 */
@Controller('v1')
@UseGuards(AuthGuard)
export class ApiController {
  private readonly s: Schemas;

  constructor(
    @Inject(ENVELOPE_CLIENT) private readonly envelope: RpcClient,
    @Inject(WALLET_CLIENT) private readonly wallet: RpcClient,
    @Inject(LEDGER_CLIENT) private readonly ledger: RpcClient,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.s = schemas(config);
  }

  @Post('wallet/topups')
  @HttpCode(201)
  topup(@CurrentUser() user: Principal, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<TopupResponse> {
    const k = idempotencyKey(key);
    const { amount } = parse(this.s.topup, body, 'body');
    return this.wallet.send(WalletPattern.Topup, { userId: user.userId, amount, idempotencyKey: k });
  }

  @Get('wallet')
  getWallet(@CurrentUser() user: Principal): Promise<WalletResponse> {
    return this.wallet.send(WalletPattern.Get, { userId: user.userId });
  }

  @Get('wallet/transactions')
  transactions(@CurrentUser() user: Principal, @Query() query: unknown): Promise<TransactionsResponse> {
    const q = parse(this.s.transactionsQuery, { ...(query as object) }, 'query');
    return this.wallet.send(WalletPattern.Transactions, { userId: user.userId, limit: q.limit ?? 20, ...(q.cursor ? { cursor: q.cursor } : {}) });
  }

  @Post('envelopes')
  @HttpCode(201)
  create(@CurrentUser() user: Principal, @Body() body: unknown, @Headers('idempotency-key') key: unknown): Promise<CreateEnvelopeResponse> {
    const k = idempotencyKey(key);
    const b = parse(this.s.createEnvelope, body, 'body');
    return this.envelope.send(EnvelopePattern.Create, {
      senderId: user.userId,
      amount: b.amount,
      count: b.count,
      mode: b.mode,
      ...(b.greeting !== undefined ? { greeting: b.greeting } : {}),
      ttlSeconds: b.ttlSeconds ?? this.config.DEFAULT_TTL_SECONDS,
      idempotencyKey: k,
    });
  }

  @Post('envelopes/:id/grab')
  @HttpCode(200)
  grab(@CurrentUser() user: Principal, @Param('id') id: string, @Body() body: unknown): Promise<GrabResponse> {
    const envId = envelopeId(id);
    parse(this.s.empty, body, 'body');
    return this.envelope.send(EnvelopePattern.Grab, { envelopeId: envId, userId: user.userId });
  }

  @Get('envelopes/:id')
  details(@Param('id') id: string): Promise<EnvelopeDetails> {
    return this.envelope.send(EnvelopePattern.Get, { envelopeId: envelopeId(id) });
  }

  @Get('admin/audit')
  @AdminOnly()
  audit(): Promise<AuditReport> {
    return this.ledger.send(LedgerPattern.Audit, {});
  }
}
