import { Inject, Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '@hongbao/contracts';
import { createRemoteJWKSet, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { GATEWAY_CONFIG, GatewayConfig } from '../config';

export interface Principal {
  userId: string;
  admin: boolean;
}

const USER_ID = /^[0-9]{1,20}$/;

/**
 * Verifies bearer tokens with jose: the algorithm is pinned (HS256 with the shared secret, or
 * RS256 from a JWKS URL), `exp` is required, a small clock skew is allowed, and `sub` must be a
 * decimal user id. Tokens are never logged.
 */
@Injectable()
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];
  /** token -> its principal and expiry (ms), for tokens that verified; see {@link verify} */
  private readonly verified?: LRUCache<string, { principal: Principal; expiresAtMs: number }>;

  constructor(@Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig) {
    if (config.JWT_JWKS_URL) {
      this.key = createRemoteJWKSet(new URL(config.JWT_JWKS_URL));
      this.algorithms = ['RS256'];
    } else {
      this.key = new TextEncoder().encode(config.JWT_SECRET);
      this.algorithms = ['HS256'];
    }
    if (config.TOKEN_CACHE_SIZE > 0) this.verified = new LRUCache({ max: config.TOKEN_CACHE_SIZE });
  }

  /**
   * The caller of a token that already verified and has not expired, synchronously (no promise),
   * or undefined: then {@link verify} decides. A token that verified once is the same bytes with
   * the same signature until it expires, so a flash-sale client's repeated requests skip the
   * signature check (the cache key is the whole token; an entry is dropped as soon as exp, plus
   * the allowed skew, has passed).
   */
  cached(authorization: string | undefined): Principal | undefined {
    if (!this.verified || !authorization || !authorization.startsWith('Bearer ')) return undefined;
    const token = authorization.slice(7).trim();
    const hit = this.verified.get(token);
    if (!hit) return undefined;
    if (Date.now() < hit.expiresAtMs) return hit.principal;
    this.verified.delete(token);
    return undefined;
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    return this.cached(authorization) ?? this.verifyUncached(authorization);
  }

  /** {@link verify} without the cache lookup, for a caller that has just looked ({@link cached}) and missed. */
  async verifyUncached(authorization: string | undefined): Promise<Principal> {
    if (!authorization || !authorization.startsWith('Bearer ')) throw unauthenticated('missing bearer token');
    const token = authorization.slice(7).trim();
    let payload: JWTPayload;
    try {
      const opts = {
        algorithms: this.algorithms,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.config.JWT_CLOCK_SKEW_SECONDS,
        ...(this.config.JWT_ISSUER ? { issuer: this.config.JWT_ISSUER } : {}),
        ...(this.config.JWT_AUDIENCE ? { audience: this.config.JWT_AUDIENCE } : {}),
      };
      payload =
        this.key instanceof Uint8Array ? (await jwtVerify(token, this.key, opts)).payload : (await jwtVerify(token, this.key, opts)).payload;
    } catch (err) {
      throw unauthenticated(`invalid token: ${(err as { code?: string }).code ?? 'malformed'}`);
    }
    if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) throw unauthenticated('token subject must be a decimal user id');
    const principal = { userId: payload.sub, admin: payload['role'] === 'admin' };
    // Only tokens already valid (nbf passed) get here; exp is required by jwtVerify.
    this.verified?.set(token, { principal, expiresAtMs: (payload.exp! + this.config.JWT_CLOCK_SKEW_SECONDS) * 1000 });
    return principal;
  }
}

function unauthenticated(message: string): AppError {
  return new AppError(ErrorCode.AuthUnauthenticated, message);
}
