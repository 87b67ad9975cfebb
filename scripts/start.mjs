#!/usr/bin/env node
// `npm start`: the whole system on this machine in one command. Installs dependencies if
// missing, makes sure MariaDB/Redis and the app's DB user are there, builds the four services,
// applies every shard's migrations, starts gateway, envelope, wallet and ledger as separate
// processes, waits until all are ready, and prints where to go. Ctrl-C stops them all.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDotEnv } from './lib/env.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const skipBuild = process.argv.includes('--no-build');

function run(cmd, args, what) {
  console.log(`\n▶ ${what}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`✖ ${what} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}


if (!existsSync('node_modules/.package-lock.json')) run('npm', ['ci', '--no-audit', '--no-fund'], 'installing dependencies (npm ci)');
run('bash', ['scripts/local-deps.sh'], 'checking MariaDB and Redis');
if (!skipBuild) run('npx', ['nx', 'run-many', '-t', 'build', '-p', 'gateway', 'envelope', 'wallet', 'ledger', '--output-style=static'], 'building the four services');

const { file: envFile, env } = loadDotEnv();
console.log(`▶ configuration from ${envFile}`);
for (const svc of ['wallet', 'envelope', 'ledger']) {
  console.log(`\n▶ migrating ${svc} shards`);
  const r = spawnSync(process.execPath, [`dist/apps/${svc}/main.js`, 'migrate'], { env, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const services = [
  ['ledger', 3003],
  ['wallet', 3002],
  ['envelope', 3001],
  ['gateway', 3000],
];
const children = [];
let stopping = false;
for (const [svc, port] of services) {
  const child = spawn(process.execPath, [`dist/apps/${svc}/main.js`], { env: { ...env, PORT: String(env[`${svc.toUpperCase()}_PORT`] ?? port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `${svc.padEnd(8)}|`;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        console.log(prefix, buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`✖ ${svc} exited (code ${code}); stopping everything`);
      stop(1);
    }
  });
  children.push(child);
}

function stop(code = 0) {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const deadline = Date.now() + 60_000;
for (const [svc, port] of services) {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      console.error(`✖ ${svc} did not become ready on port ${port}`);
      stop(1);
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
const token = spawnSync(process.execPath, ['scripts/token.mjs', '1001'], { env, encoding: 'utf8' }).stdout.trim();
console.log(`
✔ Hongbao is running: gateway at http://localhost:3000   (Ctrl-C stops everything)

  Try it (a token for user 1001; make more with: npm run token -- <userId> [--admin]):

  TOKEN=${token}
  curl -s -XPOST localhost:3000/v1/wallet/topups -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -H 'idempotency-key: demo-topup-1' -d '{"amount":10000}'
  curl -s -XPOST localhost:3000/v1/envelopes -H "authorization: Bearer $TOKEN" \\
       -H 'content-type: application/json' -H 'idempotency-key: demo-send-1' -d '{"amount":1000,"count":5,"mode":"random"}'
  curl -s -XPOST localhost:3000/v1/envelopes/<envelopeId>/grab -H "authorization: Bearer $(npm run -s token -- 1002)"
  curl -s localhost:3000/v1/admin/audit -H "authorization: Bearer $(npm run -s token -- 1 --admin)"
`);
