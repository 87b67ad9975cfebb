import { SignJWT } from 'jose';

/** The HS256 secret every test system uses. */
export const TEST_JWT_SECRET = 'test-only-hongbao-secret-0123456789abcdef';

/** Signs a token like the real issuer would; options let tests forge bad ones. */
export async function signToken(
  userId: string,
  opts: { admin?: boolean; expiresInSeconds?: number; secret?: string; omitExp?: boolean; claims?: Record<string, unknown> } = {},
): Promise<string> {
  let jwt = new SignJWT({ ...(opts.admin ? { role: 'admin' } : {}), ...(opts.claims ?? {}) }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt();
  if (!opts.omitExp) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));
}

/** An unsigned `alg: none` token, which the gateway must refuse. */
export function unsignedToken(userId: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: userId, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}
