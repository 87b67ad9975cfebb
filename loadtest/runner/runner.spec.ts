import { evaluateThresholds, Metrics } from './metrics.ts';
import { parseProm, quantileFromBuckets } from './settlement.ts';
import { lineChart, niceCeil, niceTicks, stackedBars } from './charts.ts';

describe('runner metrics evaluate k6 thresholds', () => {
  const m = new Metrics();
  for (let i = 1; i <= 100; i++) m.trend('http_req_duration', i, { type: i <= 50 ? 'grab' : 'wallet' });
  for (let i = 0; i < 10; i++) m.rate('http_req_failed', i === 0, { type: 'grab' });
  m.counter('grab_won', 7);
  m.declareCounter('grab_other');
  m.durationSeconds = 7;

  it('trends, rates and counters, with and without tags', () => {
    const r = evaluateThresholds(
      m,
      {
        'http_req_duration{type:grab}': ['p(50)<30', 'max<=50'],
        http_req_duration: ['p(99)<99', 'avg==50.5'],
        http_req_failed: ['rate<0.2'],
        grab_won: ['count==7', 'rate==1'],
        grab_other: ['count==0'],
        'http_req_duration{type:send}': ['p(95)<1'],
      },
      'k6',
    );
    const byExpr = Object.fromEntries(r.map((t) => [`${t.metric} ${t.expression}`, t]));
    expect(byExpr['http_req_duration{type:grab} p(50)<30'].ok).toBe(true);
    expect(byExpr['http_req_duration{type:grab} max<=50'].ok).toBe(true);
    expect(byExpr['http_req_duration p(99)<99'].ok).toBe(false);
    expect(byExpr['http_req_duration avg==50.5'].ok).toBe(true);
    expect(byExpr['http_req_failed rate<0.2'].actual).toBeCloseTo(0.1);
    expect(byExpr['grab_won count==7'].ok).toBe(true);
    expect(byExpr['grab_won rate==1'].ok).toBe(true);
    expect(byExpr['grab_other count==0'].ok).toBe(true);
    // no data: skipped, as k6 does
    expect(byExpr['http_req_duration{type:send} p(95)<1']).toMatchObject({ ok: true, noData: true });
  });
});

describe('Prometheus text and histogram quantiles', () => {
  const text = (counts: number[], sum: number) => `# HELP hongbao_settlement_lag_seconds lag
# TYPE hongbao_settlement_lag_seconds histogram
hongbao_settlement_lag_seconds_bucket{le="0.1",service="wallet"} ${counts[0]}
hongbao_settlement_lag_seconds_bucket{le="1",service="wallet"} ${counts[1]}
hongbao_settlement_lag_seconds_bucket{le="+Inf",service="wallet"} ${counts[2]}
hongbao_settlement_lag_seconds_sum{service="wallet"} ${sum}
hongbao_settlement_lag_seconds_count{service="wallet"} ${counts[2]}
hongbao_settlement_credits_total{kind="grab",service="wallet"} 42
`;

  it('parses series with labels', () => {
    const p = parseProm(text([1, 2, 3], 1.5));
    expect(p.get('hongbao_settlement_credits_total')).toEqual([{ labels: { kind: 'grab', service: 'wallet' }, value: 42 }]);
    expect(p.get('hongbao_settlement_lag_seconds_bucket')?.length).toBe(3);
  });

  it('takes quantiles of the difference between two scrapes', () => {
    const b = (c: number[]) => new Map([[0.1, c[0]], [1, c[1]], [Infinity, c[2]]]);
    // between the scrapes: 10 observations <= 0.1 s, 10 more <= 1 s
    expect(quantileFromBuckets(b([5, 5, 5]), b([15, 25, 25]), 0.5)).toBeCloseTo(0.1);
    expect(quantileFromBuckets(b([5, 5, 5]), b([15, 25, 25]), 0.75)).toBeCloseTo(0.55);
    expect(quantileFromBuckets(b([5, 5, 5]), b([5, 5, 5]), 0.5)).toBeNull();
  });
});

describe('charts', () => {
  it('nice ticks', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 7, 5)).toEqual([0, 2, 4, 6]);
    expect(niceCeil(0, 7, 5)).toBe(8);
    expect(niceCeil(0, 1234, 4)).toBe(1500);
  });

  it('draws self-contained SVG', () => {
    const svg = lineChart({ title: 'a <b>', yLabel: 'ms', log: true, series: [{ name: 'p99', color: '#f00', points: [[0, 1], [1, null], [2, 100]] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(stackedBars({ title: 't', yLabel: 'n', xs: [0, 1], layers: [{ name: 'won', color: '#0f0', values: [1, 2] }] })).toContain('<rect');
    expect(lineChart({ title: 'empty', yLabel: '', series: [] })).toContain('no data');
  });
});
