#!/usr/bin/env node
// `npm run migrate`: applies every shard's migrations for wallet, envelope and ledger, using
// the built services' own `migrate` command (the same one the compose/k8s job runs).
import { spawnSync } from 'node:child_process';
import { loadDotEnv } from './lib/env.mjs';

const { env } = loadDotEnv();
for (const svc of ['wallet', 'envelope', 'ledger']) {
  const r = spawnSync(process.execPath, [`dist/apps/${svc}/main.js`, 'migrate'], { env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
