import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, ErrorCode } from '@hongbao/contracts';
import type { FastifyRequest } from 'fastify';
import { Principal, TokenVerifier } from './token-verifier';

const ADMIN_ONLY = 'hongbao:admin-only';
/** Marks a route as needing `role: "admin"` in the token. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

type AuthedRequest = FastifyRequest & { principal?: Principal };

/** Every /v1 route needs a valid token; admin routes also need the admin role (403 otherwise). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    req.principal = await this.verifier.verify(req.headers.authorization);
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [ctx.getHandler(), ctx.getClass()]);
    if (adminOnly && !req.principal.admin) throw new AppError(ErrorCode.AuthForbidden, 'this route needs an admin token');
    return true;
  }
}

/** The authenticated caller: `@CurrentUser() user: Principal`. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthedRequest>().principal!;
});
