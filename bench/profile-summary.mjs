#!/usr/bin/env node
// Self time of a V8 .cpuprofile (node --cpu-prof) by package and by function:
//   node bench/profile-summary.mjs FILE.cpuprofile [--top 25]
// "Package" is the node_modules package of the function's script, `node:` for Node's own code,
// `(gc)`/`(program)`/`(idle)` for V8's pseudo-frames, and `ours` for the workspace's dist code.
// Samples under module loading (require) are left out: they are start-up, not the load.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 25;
const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--top');
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [...] [--top N]');
  process.exit(2);
}

function packageOf(url, fn) {
  if (!url) return fn.startsWith('(') ? fn : 'node:(native)';
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  return 'ours';
}

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const loading = new Map();
  const isLoading = (id) => {
    if (id === undefined) return false;
    if (loading.has(id)) return loading.get(id);
    const fn = byId.get(id).callFrame.functionName;
    const v = fn === 'Module._load' || fn === 'Module.require' || isLoading(parent.get(id));
    loading.set(id, v);
    return v;
  };
  let startup = 0;
  const self = new Map();
  // samples[i] is the node id running during timeDeltas[i] (µs)
  for (let i = 0; i < p.samples.length; i++) {
    if (isLoading(p.samples[i])) startup += p.timeDeltas[i] ?? 0;
    else self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const pkg = new Map();
  const fns = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    total += us;
    if (name === '(idle)') continue;
    const k = packageOf(url, name);
    pkg.set(k, (pkg.get(k) ?? 0) + us);
    const f = `${name} ${url ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}` : ''}`;
    fns.set(f, (fns.get(f) ?? 0) + us);
  }
  const idle = [...self].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busy = total - idle;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(`\n${file}: ${((total + startup) / 1e6).toFixed(1)} s sampled (${(startup / 1e6).toFixed(1)} s module loading left out), busy ${((100 * busy) / total).toFixed(0)}% of the rest; shares of busy time:`);
  console.log('  by package:');
  for (const [k, us] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
  console.log('  by function:');
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
}
