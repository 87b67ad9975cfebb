import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

/** The dev secret's source, like scripts/token.mjs: JWT_SECRET, else .env, else .env.example. */
export function secretFromEnvFiles(root: string): string | undefined {
  if (process.env['JWT_SECRET']) return process.env['JWT_SECRET'];
  for (const f of ['.env', '.env.example']) {
    const p = join(root, f);
    if (!existsSync(p)) continue;
    const m = /^JWT_SECRET=(.+)$/m.exec(readFileSync(p, 'utf8'));
    if (m) return m[1].trim();
  }
  return undefined;
}

/** HS256 JWTs like the real issuer's (sub, iat, exp, role for admins), cached per user. */
export class Tokens {
  private readonly cache = new Map<string, string>();
  private readonly header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

  constructor(
    private readonly secret: string,
    private readonly ttlSeconds = 6 * 3600,
  ) {}

  get(sub: string, admin = false): string {
    const key = admin ? `admin:${sub}` : sub;
    let t = this.cache.get(key);
    if (!t) {
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub, iat: now, exp: now + this.ttlSeconds, ...(admin ? { role: 'admin' } : {}) };
      const input = `${this.header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      t = `${input}.${createHmac('sha256', this.secret).update(input).digest('base64url')}`;
      this.cache.set(key, t);
    }
    return t;
  }
}

export interface ApiResponse {
  status: number;
  /** raw body text ('' on transport errors) */
  text: string;
  /** set when no HTTP answer came: "timeout", "ECONNREFUSED", ... */
  error?: string;
  /** ms from sending to the whole body received */
  ms: number;
  /** performance.now() at the end */
  end: number;
}

/** A keep-alive HTTP/1.1 pool to the gateway (or the edge / Ingress in front of it). */
export class Api {
  readonly pool: Pool;
  private readonly prefix: string;

  constructor(
    baseUrl: string,
    readonly tokens: Tokens,
    opts: { connections: number; timeoutMs: number },
  ) {
    const u = new URL(baseUrl);
    this.prefix = u.pathname.replace(/\/+$/, '');
    this.pool = new Pool(u.origin, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: { timeout: Math.min(10_000, opts.timeoutMs) },
    });
  }

  async call(method: 'GET' | 'POST', path: string, opts: { user?: string; admin?: boolean; body?: unknown; idempotencyKey?: string; timeoutMs?: number } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = {};
    if (opts.user) headers['authorization'] = `Bearer ${this.tokens.get(opts.user, opts.admin)}`;
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const start = performance.now();
    try {
      const res = await this.pool.request({
        method,
        path: this.prefix + path,
        headers,
        body,
        ...(opts.timeoutMs ? { headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs } : {}),
      });
      const text = await res.body.text();
      const end = performance.now();
      return { status: res.statusCode, text, ms: end - start, end };
    } catch (e) {
      const end = performance.now();
      const err = e as { code?: string; name?: string; message?: string };
      const code = err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : (err.code ?? err.name ?? 'error');
      return { status: 0, text: '', error: code, ms: end - start, end };
    }
  }

  /** Parses JSON, or returns undefined. */
  static json<T>(r: ApiResponse): T | undefined {
    if (!r.text) return undefined;
    try {
      return JSON.parse(r.text) as T;
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
