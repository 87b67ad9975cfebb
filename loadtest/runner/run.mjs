#!/usr/bin/env node
// `npm run loadtest -- --scenario NAME [...]`: the k6-free load runner (loadtest/runner/main.ts),
// run through ts-node in transpile-only mode with the workspace's path aliases, so `--system`
// can start the same private TestSystem the e2e specs use. Type-checking: loadtest/check-k6-types.sh.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
require('ts-node').register({
  project: join(here, 'tsconfig.json'),
  transpileOnly: true,
  compilerOptions: { module: 'commonjs', noEmit: false, allowImportingTsExtensions: false },
});
require('tsconfig-paths').register({ baseUrl: root, paths: require(join(root, 'tsconfig.base.json')).compilerOptions.paths });

const { main } = require('./main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(3);
  },
);
