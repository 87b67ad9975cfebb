/** One sample line of Prometheus' text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The samples named exactly `name` whose labels include every pair of `labels` (comments skipped). */
export function promSamples(text: string, name: string, labels: Record<string, string> = {}): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = LINE.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) have[l[1]] = l[2];
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) out.push({ name, labels: have, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include every pair of `labels` (0 when none). */
export function promSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return promSamples(text, name, labels).reduce((s, x) => s + x.value, 0);
}

/** A service's `/metrics` text, from its HTTP port on 127.0.0.1 or a full URL. */
export async function scrapeMetrics(target: number | string): Promise<string> {
  const url = typeof target === 'number' ? `http://127.0.0.1:${target}/metrics` : target;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url} answered ${r.status}`);
  return r.text();
}
