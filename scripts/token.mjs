#!/usr/bin/env node
// Prints a signed HS256 token for local use: npm run token -- <userId> [--admin] [--ttl SECONDS]
// The secret comes from JWT_SECRET, else .env, else .env.example (the dev secret).
import { readFileSync, existsSync } from 'node:fs';
import { SignJWT } from 'jose';

function secretFromFiles() {
  for (const f of ['.env', '.env.example']) {
    if (!existsSync(f)) continue;
    const m = /^JWT_SECRET=(.+)$/m.exec(readFileSync(f, 'utf8'));
    if (m) return m[1].trim();
  }
  return undefined;
}

const args = process.argv.slice(2);
const ttlIdx = args.indexOf('--ttl');
const ttl = ttlIdx >= 0 ? Number(args[ttlIdx + 1]) : 86_400;
const positional = args.filter((a, i) => !a.startsWith("--") && (ttlIdx < 0 || i !== ttlIdx + 1));
const userId = positional[0];
const admin = args.includes('--admin');
if (!userId || !/^[0-9]{1,20}$/.test(userId) || !Number.isInteger(ttl) || ttl <= 0) {
  console.error('usage: npm run token -- <userId: 1-20 digits> [--admin] [--ttl SECONDS]');
  process.exit(2);
}
const secret = process.env.JWT_SECRET ?? secretFromFiles();
if (!secret) {
  console.error('no JWT_SECRET in the environment, .env or .env.example');
  process.exit(2);
}
const jwt = await new SignJWT(admin ? { role: 'admin' } : {})
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(userId)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
  .sign(new TextEncoder().encode(secret));
console.log(jwt);
