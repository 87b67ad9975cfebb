#!/usr/bin/env node
// `npm run bench [-- --json FILE] [--reps 3] [--quick]`: same-run benchmarks (bench/main.ts), run through
// ts-node (transpile only) with the workspace's path aliases, like loadtest/runner/run.mjs.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(import.meta.url);
require('ts-node').register({ project: join(here, 'tsconfig.json'), transpileOnly: true, compilerOptions: { module: 'commonjs', noEmit: false } });
require('tsconfig-paths').register({ baseUrl: root, paths: require(join(root, 'tsconfig.base.json')).compilerOptions.paths });

const { main } = require('./main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
