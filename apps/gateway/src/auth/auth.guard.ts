import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RATE_LIMIT_ROUTE } from '../governance/rate-limiter';
import type { RateLimitedRoute } from '../governance/rate-limit-rules';
import { Gate } from './gate';
import type { Principal } from './token-verifier';

const ADMIN_ONLY = 'hongbao:admin-only';
/** Marks a route as needing `role: "admin"` in the token. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

type AuthedRequest = FastifyRequest & { principal?: Principal };

/** Runs the {@link Gate} for every Nest route of /v1 (the grab route runs it itself: see GrabRoute). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly gate: Gate,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = this.reflector.get<RateLimitedRoute | undefined>(RATE_LIMIT_ROUTE, ctx.getHandler());
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [ctx.getHandler(), ctx.getClass()]) ?? false;
    req.principal = await this.gate.admit(req, reply, route, { adminOnly });
    return true;
  }
}

/** The authenticated caller: `@CurrentUser() user: Principal`. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal!;
});
