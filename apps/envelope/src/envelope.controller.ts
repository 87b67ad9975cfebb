import { Controller, Inject, OnModuleInit } from '@nestjs/common';
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
import { DIRECT_RPC, DirectRpcHandlers } from '@hongbao/service-kit';

/**
 * RPC surface of the envelope service (callers: gateway, ledger's audit). The grab, the one
 * message of a flash sale's crowd, is answered on the RPC server's direct path (no Nest
 * pipeline per message; libs/service-kit `DirectRpcHandlers`); the others through Nest.
 */
@Controller()
export class EnvelopeController implements OnModuleInit {
  constructor(
    private readonly creator: CreateEnvelopeService,
    private readonly grabs: GrabService,
    private readonly query: EnvelopeQueryService,
    private readonly audit: EnvelopeAuditService,
    @Inject(DIRECT_RPC) private readonly direct: DirectRpcHandlers,
  ) {}

  onModuleInit(): void {
    this.direct.add(EnvelopePattern.Grab, (req) => this.grab(req as GrabRequest));
  }

  @MessagePattern(EnvelopePattern.Create)
  create(@Payload() req: CreateEnvelopeRequest): Promise<CreateEnvelopeResponse> {
    return this.creator.create(req);
  }

  /** The grab (on the direct path, see onModuleInit). */
  grab(req: GrabRequest): Promise<GrabResponse> {
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
