import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CreateEnvelopeRequest,
  CreateEnvelopeResponse,
  EnvelopeAuditFacts,
  EnvelopeDetails,
  EnvelopePattern,
  GetEnvelopeRequest,
  GrabRequest,
  GrabResponse,
} from '@hongbao/contracts';
import { EnvelopeAuditService } from './audit/envelope-audit.service';
import { CreateEnvelopeService } from './envelope/create-envelope.service';
import { EnvelopeQueryService } from './envelope/envelope-query.service';
import { GrabService } from './grab/grab.service';

/** RPC surface of the envelope service (callers: gateway, ledger's audit). */
@Controller()
export class EnvelopeController {
  constructor(
    private readonly creator: CreateEnvelopeService,
    private readonly grabs: GrabService,
    private readonly query: EnvelopeQueryService,
    private readonly audit: EnvelopeAuditService,
  ) {}

  @MessagePattern(EnvelopePattern.Create)
  create(@Payload() req: CreateEnvelopeRequest): Promise<CreateEnvelopeResponse> {
    return this.creator.create(req);
  }

  @MessagePattern(EnvelopePattern.Grab)
  grab(@Payload() req: GrabRequest): Promise<GrabResponse> {
    return this.grabs.grab(req);
  }

  @MessagePattern(EnvelopePattern.Get)
  get(@Payload() req: GetEnvelopeRequest): Promise<EnvelopeDetails> {
    return this.query.get(req.envelopeId);
  }

  @MessagePattern(EnvelopePattern.AuditFacts)
  auditFacts(): Promise<EnvelopeAuditFacts> {
    return this.audit.facts();
  }
}
