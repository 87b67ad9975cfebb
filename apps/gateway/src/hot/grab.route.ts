import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EnvelopePattern, GrabResponse } from '@hongbao/contracts';
import { LOGGER, sendHttpError } from '@hongbao/service-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from '../auth/token-verifier';
import { Gate } from '../auth/gate';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';
import { callerOf, Upstream } from '../governance/canary';
import { ENVELOPE } from '../http/api.controller';
import { envelopeId, parse, schemas } from '../http/validation';
import { SoldOutEdge } from './sold-out-edge';

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
 * (block check, token, rate limits; here with the sold-out answer from memory before the
 * count, synchronously for a token verified before: Gate.knownCaller), the same validation
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
    private readonly soldOut: SoldOutEdge,
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

  /** Synchronous for the crowd after the last share (answered from memory), async for the rest. */
  private handle(req: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> {
    const rawId = (req.params as { id?: unknown }).id;
    const empty = isEmptyBody(req.body);
    let looked: { known: Principal | undefined } | undefined;
    // A well-formed grab of an envelope this gateway knows is sold out is answered from memory.
    if (empty && typeof rawId === 'string') {
      try {
        const known = this.gate.knownCaller(req, reply, 'grab');
        looked = { known };
        const answer = known && this.soldOut.answer(rawId, known.userId);
        if (answer) {
          sendHttpError(reply, req, answer, this.log);
          return reply;
        }
      } catch (err) {
        sendHttpError(reply, req, err, this.log);
        return reply;
      }
    }
    return this.admitAndGrab(req, reply, rawId, empty, looked);
  }

  private async admitAndGrab(req: FastifyRequest, reply: FastifyReply, rawId: unknown, empty: boolean, looked: { known: Principal | undefined } | undefined): Promise<FastifyReply> {
    try {
      // A caller whose token is verified here for the first time still gets the sold-out answer
      // before the count (admit skips it for a caller handle already answered from memory).
      const beforeCount = empty && typeof rawId === 'string' ? (caller: Principal) => this.soldOut.check(rawId, caller.userId) : undefined;
      const user = await this.gate.admit(req, reply, 'grab', { beforeCount, looked });
      const id = envelopeId(rawId);
      if (!empty) parse(this.emptyBody, req.body, 'body');
      const res = await this.envelope.send<GrabResponse>(EnvelopePattern.Grab, { envelopeId: id, userId: user.userId }, callerOf(user.userId, req.headers, this.config.CANARY_HEADER));
      return reply.code(200).send(res);
    } catch (err) {
      sendHttpError(reply, req, err, this.log);
      return reply;
    }
  }
}

/** A grab's only valid bodies (the `empty` schema): none, null, or `{}`. */
function isEmptyBody(b: unknown): boolean {
  if (b === undefined || b === null) return true;
  if (typeof b !== 'object' || Array.isArray(b)) return false;
  for (const _ in b) return false;
  return true;
}
