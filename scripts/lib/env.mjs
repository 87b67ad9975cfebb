import { existsSync, readFileSync } from 'node:fs';

/** Variables from .env (or, when absent, .env.example) under the real environment, which wins. */
export function loadDotEnv() {
  const file = existsSync('.env') ? '.env' : '.env.example';
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return { file, env: { ...env, ...process.env } };
}
