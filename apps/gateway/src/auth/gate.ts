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
   * The first steps of {@link admit}, without a promise: the block check (throws 429), then the
   * caller of a token verified before, or undefined (a token not seen before is verified by
   * {@link admit}). A route with answers in memory (the grab's sold-out answer) asks this first
   * and answers the crowd without a promise or a throw, then passes the caller on to admit.
   */
  knownCaller(req: FastifyRequest, reply: FastifyReply, route: RateLimitedRoute | undefined): Principal | undefined {
    this.limiter.refuseIfBlocked(route, { ip: req.ip, global: 'all' }, reply);
    return this.verifier.cached(req.headers.authorization);
  }

  /**
   * Resolves to the caller, or rejects with the AppError to answer (401, 403, 409/410, 429, 503).
   * `looked`: what {@link knownCaller} returned when the route already asked it (and, if it knew
   * the caller, looked for its answer from memory): the block check and the cache lookup are not
   * repeated, nor `beforeCount` for a caller the route already knew.
   */
  async admit(
    req: FastifyRequest,
    reply: FastifyReply,
    route: RateLimitedRoute | undefined,
    opts: { adminOnly?: boolean; beforeCount?: (caller: Principal) => void; looked?: { known: Principal | undefined } } = {},
  ): Promise<Principal> {
    const { looked } = opts;
    let principal = looked ? looked.known : this.knownCaller(req, reply, route);
    if (!principal) {
      try {
        principal = await this.verifier.verifyUncached(req.headers.authorization);
      } catch (err) {
        // Bad tokens count against the IP too, so a flood of them gets blocked.
        await this.limiter.consume(route, { ip: req.ip, global: 'all' }, reply);
        throw err;
      }
    }
    // A final answer from memory (it throws) comes before anything is counted in Redis: it costs less than the count.
    if (!looked?.known) opts.beforeCount?.(principal);
    await this.limiter.consume(route, { ip: req.ip, global: 'all', user: principal.userId }, reply);
    if (opts.adminOnly && !principal.admin) throw new AppError(ErrorCode.AuthForbidden, 'this route needs an admin token');
    return principal;
  }
}
