import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../governance/rate-limiter';
import type { RateLimitedRoute } from '../governance/rate-limit-rules';
import { Principal, TokenVerifier } from './token-verifier';

/**
 * Admission to /v1, as plain functions so that both the Nest guard (every route) and the plain
 * Fastify grab route (the hot path, outside Nest's pipeline) run the very same steps:
 * a client IP (or the global budget) already blocked is refused from memory first, so floods
 * cost no token verification; then a valid token; then the route's own answer from memory, if
 * it has one (the grab's sold-out answer: `beforeCount`); then every rate limit (IP, global,
 * user) counted at once; then the admin role (403 otherwise). The user id comes only from the verified token: no route takes a user id
 * from the body, query or path, so a token acts only for its own user.
 */
@Injectable()
export class Gate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * The first steps of {@link admit} that need no promise, for a route with answers in memory:
   * the block check (throws 429), then the caller of a token verified before, then the route's
   * answer from memory for that caller. Returns that answer, or undefined: then {@link admit}
   * runs every step as usual (a token not seen before is verified there, and `beforeCount` gets
   * its chance). A crowd answered from memory so costs neither a promise nor a throw.
   */
  answerFromMemory(
    req: FastifyRequest,
    reply: FastifyReply,
    route: RateLimitedRoute | undefined,
    answer: (caller: Principal) => AppError | undefined,
  ): AppError | undefined {
    this.limiter.refuseIfBlocked(route, { ip: req.ip, global: 'all' }, reply);
    const caller = this.verifier.cached(req.headers.authorization);
    return caller ? answer(caller) : undefined;
  }

  /** Resolves to the caller, or rejects with the AppError to answer (401, 403, 409/410, 429, 503). */
  async admit(
    req: FastifyRequest,
    reply: FastifyReply,
    route: RateLimitedRoute | undefined,
    opts: { adminOnly?: boolean; beforeCount?: (caller: Principal) => void } = {},
  ): Promise<Principal> {
    const anonymous = { ip: req.ip, global: 'all' };
    this.limiter.refuseIfBlocked(route, anonymous, reply);
    // A token verified before is known without a promise; any other is verified (async).
    let principal = this.verifier.cached(req.headers.authorization);
    if (!principal) {
      try {
        principal = await this.verifier.verify(req.headers.authorization);
      } catch (err) {
        // Bad tokens count against the IP too, so a flood of them gets blocked.
        await this.limiter.consume(route, anonymous, reply);
        throw err;
      }
    }
    // A final answer from memory (it throws) comes before anything is counted in Redis: it costs less than the count.
    opts.beforeCount?.(principal);
    await this.limiter.consume(route, { ip: anonymous.ip, global: anonymous.global, user: principal.userId }, reply);
    if (opts.adminOnly && !principal.admin) throw new AppError(ErrorCode.AuthForbidden, 'this route needs an admin token');
    return principal;
  }
}
