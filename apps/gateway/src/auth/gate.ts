import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../governance/rate-limiter';
import type { RateLimitedRoute } from '../governance/rate-limit-rules';
import { SoldOutEdge } from '../hot/sold-out-edge';
import { Principal, TokenVerifier } from './token-verifier';

/**
 * Admission to /v1, as plain functions so that both the Nest guard (every route) and the plain
 * Fastify grab route (the hot path, outside Nest's pipeline) run the very same steps:
 * a client IP (or the global budget) already blocked is refused from memory first, so floods
 * cost no token verification; then a valid token; then, for a grab, the sold-out answer from
 * memory; then every rate limit (IP, global, user) counted at once; then the admin role
 * (403 otherwise). The user id comes only from the verified token: no route takes a user id
 * from the body, query or path, so a token acts only for its own user.
 */
@Injectable()
export class Gate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly limiter: RateLimiter,
    private readonly soldOut: SoldOutEdge,
  ) {}

  /** Resolves to the caller, or rejects with the AppError to answer (401, 403, 409/410, 429, 503). */
  async admit(req: FastifyRequest, reply: FastifyReply, route: RateLimitedRoute | undefined, adminOnly: boolean): Promise<Principal> {
    const anonymous = { ip: req.ip, global: 'all' };
    this.limiter.refuseIfBlocked(route, anonymous, reply);
    let principal: Principal;
    try {
      principal = await this.verifier.verify(req.headers.authorization);
    } catch (err) {
      // Bad tokens count against the IP too, so a flood of them gets blocked.
      await this.limiter.consume(route, anonymous, reply);
      throw err;
    }
    // A well-formed grab of an envelope this gateway knows is sold out gets its final answer
    // from memory before anything is counted in Redis: the answer costs less than the count.
    if (route === 'grab' && isEmptyBody(req.body)) this.soldOut.check((req.params as { id?: string }).id ?? '', principal.userId);
    await this.limiter.consume(route, { ip: anonymous.ip, global: anonymous.global, user: principal.userId }, reply);
    if (adminOnly && !principal.admin) throw new AppError(ErrorCode.AuthForbidden, 'this route needs an admin token');
    return principal;
  }
}

/** A grab's only valid bodies (the `empty` schema): none, null, or `{}`. */
export function isEmptyBody(b: unknown): boolean {
  if (b === undefined || b === null) return true;
  if (typeof b !== 'object' || Array.isArray(b)) return false;
  for (const _ in b) return false;
  return true;
}
