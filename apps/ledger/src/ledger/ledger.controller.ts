import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { AppendRequest, AppendResponse, AuditReport, LedgerPattern } from '@hongbao/contracts';
import { AuditService } from '../audit/audit.service';
import { LedgerService } from './ledger.service';

/** RPC surface of the ledger (callers: wallet's outbox relay, gateway's admin audit). */
@Controller()
export class LedgerController {
  constructor(
    private readonly ledger: LedgerService,
    private readonly audit: AuditService,
  ) {}

  @MessagePattern(LedgerPattern.Append)
  append(@Payload() req: AppendRequest): Promise<AppendResponse> {
    return this.ledger.append(req);
  }

  @MessagePattern(LedgerPattern.Audit)
  runAudit(): Promise<AuditReport> {
    return this.audit.run();
  }
}
