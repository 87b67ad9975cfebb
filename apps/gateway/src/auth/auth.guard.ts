import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RATE_LIMIT_ROUTE, RateLimiter } from '../governance/rate-limiter';
import { SoldOutEdge } from '../hot/sold-out-edge';
import type { RateLimitedRoute } from '../governance/rate-limit-rules';
import { Principal, TokenVerifier } from './token-verifier';

const ADMIN_ONLY = 'hongbao:admin-only';
/** Marks a route as needing `role: "admin"` in the token. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

type AuthedRequest = FastifyRequest & { principal?: Principal };

/**
 * Admission to /v1: a client IP (or the global budget) already blocked is refused from memory
 * first, so floods cost no token verification; then a valid token; then every rate limit (IP,
 * global, user) counted at once. Admin routes also need the
 * admin role (403 otherwise). The user id comes only from the verified token: no route takes a
 * user id from the body, query or path, so a token acts only for its own user.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly soldOut: SoldOutEdge,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = this.reflector.get<RateLimitedRoute | undefined>(RATE_LIMIT_ROUTE, ctx.getHandler());
    const anonymous = { ip: req.ip, global: 'all' };
    // A client IP (or the global budget) already over its limit is refused from memory before
    // any token work; every rule is then counted in one pipelined Redis round trip.
    this.limiter.refuseIfBlocked(route, anonymous, reply);
    try {
      req.principal = await this.verifier.verify(req.headers.authorization);
    } catch (err) {
      // Bad tokens count against the IP too, so a flood of them gets blocked.
      await this.limiter.consume(route, anonymous, reply);
      throw err;
    }
    // A well-formed grab of an envelope this gateway knows is sold out gets its final answer
    // from memory before anything is counted in Redis: the answer costs less than the count.
    if (route === 'grab' && isEmptyBody(req.body)) this.soldOut.check((req.params as { id?: string }).id ?? '', req.principal.userId);
    await this.limiter.consume(route, { ...anonymous, user: req.principal.userId }, reply);
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [ctx.getHandler(), ctx.getClass()]);
    if (adminOnly && !req.principal.admin) throw new AppError(ErrorCode.AuthForbidden, 'this route needs an admin token');
    return true;
  }
}

/** A grab's only valid bodies (the controller's `empty` schema): none, null, or `{}`. */
function isEmptyBody(b: unknown): boolean {
  return b === undefined || b === null || (typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0);
}

/** The authenticated caller: `@CurrentUser() user: Principal`. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal!;
});
