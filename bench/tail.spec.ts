import { Histogram, Registry } from 'prom-client';
import { between, countAbove, quantile, readHistogram } from './tail';

const BUCKETS = [0.001, 0.01, 0.1];

/** A registry with one labelled histogram, as the services expose theirs (default labels included). */
function registry() {
  const reg = new Registry();
  reg.setDefaultLabels({ service: 'gateway' });
  const h = new Histogram({ name: 'lat_seconds', help: 'h', labelNames: ['route', 'status'], buckets: BUCKETS, registers: [reg] });
  return { reg, h };
}

describe('bench/tail: histograms between two scrapes', () => {
  it('reads the matching series from prom-client exposition text, summing across the unmatched labels', async () => {
    const { reg, h } = registry();
    h.labels('/grab', '200').observe(0.0005);
    h.labels('/grab', '200').observe(0.05);
    h.labels('/grab', '409').observe(0.005);
    h.labels('/other', '200').observe(5);
    const text = await reg.metrics();

    const grab200 = readHistogram(text, 'lat_seconds', { route: '/grab', status: '200' });
    expect(grab200.le).toEqual([0.001, 0.01, 0.1, Infinity]);
    expect(grab200.cumulative).toEqual([1, 1, 2, 2]);
    expect(grab200.count).toBe(2);
    expect(grab200.sum).toBeCloseTo(0.0505, 10);

    const grab = readHistogram(text, 'lat_seconds', { route: '/grab' });
    expect(grab.cumulative).toEqual([1, 2, 3, 3]);
    expect(readHistogram(text, 'lat_seconds').cumulative).toEqual([1, 2, 3, 4]);
    expect(readHistogram(text, 'lat_seconds', { route: '/none' }).cumulative).toEqual([]);
    // a metric whose name only starts with the one asked for is not read
    expect(readHistogram(text, 'lat').count).toBe(0);
  });

  it('counts only what was observed between the two scrapes', async () => {
    const { reg, h } = registry();
    for (let i = 0; i < 10; i++) h.labels('/grab', '200').observe(0.0005);
    const before = readHistogram(await reg.metrics(), 'lat_seconds');
    for (let i = 0; i < 3; i++) h.labels('/grab', '200').observe(0.05);
    const w = between(before, readHistogram(await reg.metrics(), 'lat_seconds'));
    expect(w.cumulative).toEqual([0, 0, 3, 3]);
    expect(w.count).toBe(3);
    expect(w.sum).toBeCloseTo(0.15, 10);
    expect(countAbove(w, 0.01)).toBe(3);
    expect(countAbove(w, 0.1)).toBe(0);
  });

  it('estimates quantiles as histogram_quantile does: linear inside the bucket, the last finite bound above it', () => {
    const h = { le: [0.001, 0.01, 0.1, Infinity], cumulative: [50, 90, 100, 100], sum: 0, count: 100 };
    expect(quantile(h, 0.5)).toBeCloseTo(0.001, 12); // rank 50: the top of the first bucket
    expect(quantile(h, 0.25)).toBeCloseTo(0.0005, 12); // rank 25: half way through [0, 1 ms]
    expect(quantile(h, 0.7)).toBeCloseTo(0.0055, 12); // rank 70: half way through (1 ms, 10 ms]
    expect(quantile(h, 0.99)).toBeCloseTo(0.091, 12); // rank 99: 9/10 through (10 ms, 100 ms]
    expect(quantile({ ...h, cumulative: [0, 0, 0, 10] }, 0.99)).toBe(0.1);
    expect(quantile({ ...h, cumulative: [0, 0, 0, 0] }, 0.99)).toBeNaN();
  });
});
