#!/usr/bin/env node
// `npm test`: everything a change must pass, on real MariaDB and Redis. Installs dependencies
// if missing, makes sure MariaDB/Redis are up, lints every project, builds the services, runs
// unit + integration specs of every project, then the end-to-end specs (the built services
// as processes) one at a time, and prints one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
mkdirSync('tmp', { recursive: true });

function step(what, cmd, args, { allowFail = false } = {}) {
  console.log(`\n▶ ${what}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0 && !allowFail) {
    console.error(`✖ ${what} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}

if (!existsSync('node_modules/.package-lock.json')) step('installing dependencies (npm ci)', 'npm', ['ci', '--no-audit', '--no-fund']);
step('checking MariaDB and Redis', 'bash', ['scripts/local-deps.sh']);
step('lint (every project, module boundaries enforced)', 'npx', ['nx', 'run-many', '-t', 'lint', '--output-style=static']);
step('build the four services', 'npx', ['nx', 'run-many', '-t', 'build', '-p', 'gateway', 'envelope', 'wallet', 'ledger', '--output-style=static']);

const suites = [
  ['unit and integration specs', ['jest', '-c', 'jest.config.cjs', '--ignoreProjects', 'e2e', '--maxWorkers=2'], 'tmp/jest-unit.json'],
  ['end-to-end specs (services as processes)', ['jest', '-c', 'jest.config.cjs', '--selectProjects', 'e2e', '--runInBand'], 'tmp/jest-e2e.json'],
];
let passed = 0;
let failed = 0;
let code = 0;
for (const [what, args, out] of suites) {
  const status = step(what, 'npx', [...args, '--json', `--outputFile=${out}`], { allowFail: true });
  if (status !== 0) code = 1;
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  } else failed++;
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(code || (failed ? 1 : 0));

