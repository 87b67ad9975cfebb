import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EnvelopePattern, GrabResponse } from '@hongbao/contracts';
import { LOGGER, sendHttpError } from '@hongbao/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Gate, isEmptyBody } from '../auth/gate';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { callerOf, Upstream } from '../governance/canary';
import { ENVELOPE } from '../http/api.controller';
import { envelopeId, parse, schemas } from '../http/validation';

export const GRAB_ROUTE = '/v1/envelopes/:id/grab';

/** The grab's answer, serialized by Fastify from this schema (fast-json-stringify) rather than JSON.stringify. */
const GRAB_RESPONSE_SCHEMA = {
  type: 'object',
  properties: { envelopeId: { type: 'string' }, amount: { type: 'integer' } },
  required: ['envelopeId', 'amount'],
} as const;

/**
 * `POST /v1/envelopes/:id/grab` (DESIGN §2) as a plain Fastify route, outside Nest's request
 * pipeline (router proxy, guard, param decorators, exception filter): the flash-sale crowd hits
 * this one route, and the pipeline was a measurable share of each request (docs/performance.md).
 * It runs exactly the steps of every other /v1 route, from the same code: the {@link Gate}
 * (block check, token, sold-out answer from memory, rate limits), the same validation
 * functions, the same upstream (canary routing and metrics), and the same error mapping
 * (sendHttpError, which the Nest filter also uses). The service-kit hooks (load shedding,
 * request metrics, correlation id, tracing) are Fastify hooks and apply to it as to every route.
 */
@Injectable()
export class GrabRoute implements OnModuleInit {
  private readonly emptyBody;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gate: Gate,
    @Inject(ENVELOPE) private readonly envelope: Upstream,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.emptyBody = schemas(config).empty;
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post(GRAB_ROUTE, { schema: { response: { 200: GRAB_RESPONSE_SCHEMA } } }, (req, reply) => this.handle(req, reply));
  }

  private async handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const user = await this.gate.admit(req, reply, 'grab', false);
      const id = envelopeId((req.params as { id?: unknown }).id);
      if (!isEmptyBody(req.body)) parse(this.emptyBody, req.body, 'body');
      const res = await this.envelope.send<GrabResponse>(EnvelopePattern.Grab, { envelopeId: id, userId: user.userId }, callerOf(user.userId, req.headers, this.config.CANARY_HEADER));
      return reply.code(200).send(res);
    } catch (err) {
      sendHttpError(reply, req, err, this.log);
      return reply;
    }
  }
}
