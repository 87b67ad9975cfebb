import { AppError, ErrorCode } from '@hongbao/contracts';
import { loadConfig } from '@hongbao/config';
import { createServer, Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { gatewayConfigSchema, GatewayConfig } from '../config';
import { TokenVerifier } from './token-verifier';

const SECRET = 's'.repeat(40);
const verifier = new TokenVerifier(loadConfig(gatewayConfigSchema, { JWT_SECRET: SECRET, JWT_CLOCK_SKEW_SECONDS: '5' }) as GatewayConfig);
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: Record<string, unknown>, opts: { alg?: string; secret?: Uint8Array } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).sign(opts.secret ?? key);
}

async function rejection(header: string | undefined): Promise<AppError> {
  try {
    await verifier.verify(header);
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected the token to be refused');
}

describe('TokenVerifier (HS256)', () => {
  it('accepts a valid token and reads the admin role', async () => {
    expect(await verifier.verify(`Bearer ${await sign({ sub: '42', exp: now() + 60 })}`)).toEqual({ userId: '42', admin: false });
    expect(await verifier.verify(`Bearer ${await sign({ sub: '1', exp: now() + 60, role: 'admin' })}`)).toEqual({ userId: '1', admin: true });
  });

  it('tolerates a few seconds of clock skew, not more', async () => {
    expect((await verifier.verify(`Bearer ${await sign({ sub: '42', exp: now() - 3 })}`)).userId).toBe('42');
    expect((await rejection(`Bearer ${await sign({ sub: '42', exp: now() - 30 })}`)).code).toBe(ErrorCode.AuthUnauthenticated);
  });

  it.each([
    ['no header', undefined],
    ['not bearer', 'Basic abc'],
    ['garbage', 'Bearer not.a.token'],
  ])('refuses %s', async (_, header) => {
    const err = await rejection(header);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(ErrorCode.AuthUnauthenticated);
  });

  it('refuses a token without exp, with a non-numeric sub, or signed with another secret', async () => {
    expect((await rejection(`Bearer ${await sign({ sub: '42' })}`)).code).toBe(ErrorCode.AuthUnauthenticated);
    expect((await rejection(`Bearer ${await sign({ sub: 'alice', exp: now() + 60 })}`)).message).toContain('decimal user id');
    expect((await rejection(`Bearer ${await sign({ sub: '1'.repeat(21), exp: now() + 60 })}`)).code).toBe(ErrorCode.AuthUnauthenticated);
    const other = new TextEncoder().encode('o'.repeat(40));
    expect((await rejection(`Bearer ${await sign({ sub: '42', exp: now() + 60 }, { secret: other })}`)).code).toBe(ErrorCode.AuthUnauthenticated);
  });

  it('refuses alg none and algorithms other than the pinned one', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ sub: '42', exp: now() + 60 })}.`;
    expect((await rejection(`Bearer ${none}`)).code).toBe(ErrorCode.AuthUnauthenticated);
    const hs512 = await sign({ sub: '42', exp: now() + 60 }, { alg: 'HS512', secret: new TextEncoder().encode('s'.repeat(64)) });
    expect((await rejection(`Bearer ${hs512}`)).code).toBe(ErrorCode.AuthUnauthenticated);
  });
});

describe('TokenVerifier cache of verified tokens', () => {
  it('answers a repeated token from the cache until exp (plus skew), then refuses it', async () => {
    const v = new TokenVerifier(loadConfig(gatewayConfigSchema, { JWT_SECRET: SECRET, JWT_CLOCK_SKEW_SECONDS: '0' }) as GatewayConfig);
    const token = `Bearer ${await sign({ sub: '77', exp: now() + 2, role: 'admin' })}`;
    // Synchronously known only once it has verified.
    expect(v.cached(token)).toBeUndefined();
    expect(await v.verify(token)).toEqual({ userId: '77', admin: true });
    expect(v.cached(token)).toEqual({ userId: '77', admin: true });
    expect(await v.verify(token)).toEqual({ userId: '77', admin: true });
    await new Promise((r) => setTimeout(r, 3100));
    expect(v.cached(token)).toBeUndefined();
    const err = await v.verify(token).then(
      () => undefined,
      (e: AppError) => e,
    );
    expect(err?.code).toBe(ErrorCode.AuthUnauthenticated);
  });

  it('never caches a refused token, nor mixes up two tokens', async () => {
    const v = new TokenVerifier(loadConfig(gatewayConfigSchema, { JWT_SECRET: SECRET }) as GatewayConfig);
    const good = await sign({ sub: '1', exp: now() + 60 });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${'A'.repeat(43)}`;
    expect((await v.verify(`Bearer ${good}`)).userId).toBe('1');
    for (let i = 0; i < 2; i++) await expect(v.verify(`Bearer ${forged}`)).rejects.toMatchObject({ code: ErrorCode.AuthUnauthenticated });
    expect(v.cached(`Bearer ${forged}`)).toBeUndefined();
    // Without the cache lookup: the signature is checked again, a forged one still refused.
    await expect(v.verifyUncached(`Bearer ${forged}`)).rejects.toMatchObject({ code: ErrorCode.AuthUnauthenticated });
    expect(await v.verifyUncached(`Bearer ${good}`)).toEqual({ userId: '1', admin: false });
    await expect(v.verifyUncached(undefined)).rejects.toMatchObject({ code: ErrorCode.AuthUnauthenticated });
    expect(v.cached(good)).toBeUndefined(); // only the whole header, with its Bearer scheme
    expect((await v.verify(`Bearer ${await sign({ sub: '2', exp: now() + 60 })}`)).userId).toBe('2');
  });
});

describe('TokenVerifier (RS256 from a JWKS URL)', () => {
  let server: Server;
  let url: string;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('accepts RS256 tokens signed with a published key and refuses HS256 ones, even with the old secret', async () => {
    const v = new TokenVerifier(loadConfig(gatewayConfigSchema, { JWT_JWKS_URL: url }) as GatewayConfig);
    const rs = await new SignJWT({ sub: '42', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);
    expect(await v.verify(`Bearer ${rs}`)).toEqual({ userId: '42', admin: false });
    await expect(v.verify(`Bearer ${await sign({ sub: '42', exp: now() + 60 })}`)).rejects.toMatchObject({ code: ErrorCode.AuthUnauthenticated });
    const other = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ sub: '42', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(other.privateKey);
    await expect(v.verify(`Bearer ${foreign}`)).rejects.toMatchObject({ code: ErrorCode.AuthUnauthenticated });
  });
});
