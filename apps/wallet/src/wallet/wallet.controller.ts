import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  DebitForEnvelopeRequest,
  DebitForEnvelopeResponse,
  TopupRequest,
  TopupResponse,
  TransactionsRequest,
  TransactionsResponse,
  WalletAuditFacts,
  WalletPattern,
  WalletRequest,
  WalletResponse,
} from '@hongbao/contracts';
import { WalletAuditService } from '../audit/wallet-audit.service';
import { WalletService } from './wallet.service';

/** RPC surface of the wallet service (callers: gateway, envelope, ledger's audit). */
@Controller()
export class WalletController {
  constructor(
    private readonly wallet: WalletService,
    private readonly audit: WalletAuditService,
  ) {}

  @MessagePattern(WalletPattern.Topup)
  topup(@Payload() req: TopupRequest): Promise<TopupResponse> {
    return this.wallet.topup(req);
  }

  @MessagePattern(WalletPattern.Get)
  get(@Payload() req: WalletRequest): Promise<WalletResponse> {
    return this.wallet.get(req.userId);
  }

  @MessagePattern(WalletPattern.Transactions)
  transactions(@Payload() req: TransactionsRequest): Promise<TransactionsResponse> {
    return this.wallet.transactions(req);
  }

  @MessagePattern(WalletPattern.DebitForEnvelope)
  debit(@Payload() req: DebitForEnvelopeRequest): Promise<DebitForEnvelopeResponse> {
    return this.wallet.debitForEnvelope(req);
  }

  @MessagePattern(WalletPattern.AuditFacts)
  auditFacts(): Promise<WalletAuditFacts> {
    return this.audit.facts();
  }
}
