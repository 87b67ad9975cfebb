// Worker thread of bench/load.ts's constantRate: runs openLoop over the requests the parent built,
// in its own heap and event loop, and posts the stats back. Loads load.ts through ts-node like
// bench/run.mjs does (load.ts needs no path aliases).
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

require('ts-node').register({ project: join(__dirname, 'tsconfig.json'), transpileOnly: true, compilerOptions: { module: 'commonjs', noEmit: false } });
const { openLoop } = require('./load.ts');

const { origin, reqs, o } = workerData;
openLoop(origin, (k) => reqs[k], o).then(
  (stats) => parentPort.postMessage(stats),
  (err) => {
    throw err;
  },
);
