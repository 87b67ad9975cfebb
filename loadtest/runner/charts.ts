/**
 * Small SVG chart drawing for the self-contained HTML report: line charts (linear or log y,
 * gaps for missing points, vertical markers) and stacked bar charts. No dependencies, no
 * scripts: the SVG is written into the page, so it opens offline and prints.
 */

export interface Series {
  name: string;
  color: string;
  /** [x, y]; y null = gap */
  points: [number, number | null][];
  dash?: boolean;
  width?: number;
  /** fill under the line */
  area?: boolean;
}

export interface Marker {
  x: number;
  label: string;
}

export interface LineChartOptions {
  title: string;
  yLabel: string;
  xLabel?: string;
  series: Series[];
  log?: boolean;
  markers?: Marker[];
  width?: number;
  height?: number;
  /** force the y range to include 0 (linear only; default true) */
  zero?: boolean;
  /** x range; defaults to the data's */
  xMax?: number;
  note?: string;
}

export interface StackedBarsOptions {
  title: string;
  yLabel: string;
  xLabel?: string;
  /** one stack per x */
  xs: number[];
  layers: { name: string; color: string; values: number[] }[];
  markers?: Marker[];
  width?: number;
  height?: number;
  xMax?: number;
}

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values (1, 2, 5 × 10^n) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** hi rounded up to the tick step niceTicks would use, so the axis ends on a labelled tick. */
export function niceCeil(lo: number, hi: number, count = 5): number {
  if (!(hi > lo)) return lo + 1;
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? 10 * mag;
  return Number((Math.ceil(hi / step) * step).toPrecision(12));
}

export function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return `${Math.round(v)}`;
  if (a >= 10) return `${+v.toFixed(1)}`;
  if (a >= 1) return `${+v.toFixed(2)}`;
  return `${+v.toPrecision(2)}`;
}

const M = { l: 64, r: 16, t: 44, b: 40 };

function frame(title: string, w: number, h: number, legend: { name: string; color: string; dash?: boolean }[], note?: string): string[] {
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" class="chart" font-family="system-ui, sans-serif" font-size="12">`];
  out.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="#fff"/>`);
  out.push(`<text x="${M.l}" y="16" font-size="14" font-weight="600" fill="#222">${esc(title)}</text>`);
  let x = M.l;
  for (const s of legend) {
    out.push(`<line x1="${x}" y1="31" x2="${x + 18}" y2="31" stroke="${s.color}" stroke-width="3"${s.dash ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${x + 22}" y="35" fill="#333">${esc(s.name)}</text>`);
    x += 30 + s.name.length * 6.8;
  }
  if (note) out.push(`<text x="${w - M.r}" y="16" text-anchor="end" fill="#777">${esc(note)}</text>`);
  return out;
}

function xAxis(out: string[], xs: (v: number) => number, lo: number, hi: number, w: number, h: number, label?: string): void {
  const y = h - M.b;
  out.push(`<line x1="${M.l}" y1="${y}" x2="${w - M.r}" y2="${y}" stroke="#999"/>`);
  for (const t of niceTicks(lo, hi, Math.max(4, Math.floor((w - M.l - M.r) / 90)))) {
    if (t < lo || t > hi) continue;
    out.push(`<line x1="${xs(t)}" y1="${y}" x2="${xs(t)}" y2="${y + 4}" stroke="#999"/><text x="${xs(t)}" y="${y + 16}" text-anchor="middle" fill="#555">${fmt(t)}</text>`);
  }
  if (label) out.push(`<text x="${(M.l + w - M.r) / 2}" y="${h - 6}" text-anchor="middle" fill="#555">${esc(label)}</text>`);
}

function yAxisLinear(out: string[], ys: (v: number) => number, lo: number, hi: number, w: number, h: number, label: string): void {
  for (const t of niceTicks(lo, hi, Math.max(3, Math.floor((h - M.t - M.b) / 45)))) {
    if (t < lo || t > hi) continue;
    out.push(`<line x1="${M.l}" y1="${ys(t)}" x2="${w - M.r}" y2="${ys(t)}" stroke="#eee"/><text x="${M.l - 6}" y="${ys(t) + 4}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  yLabel(out, label, h);
}

function yLabel(out: string[], label: string, h: number): void {
  const cy = (M.t + h - M.b) / 2;
  out.push(`<text x="14" y="${cy}" transform="rotate(-90 14 ${cy})" text-anchor="middle" fill="#555">${esc(label)}</text>`);
}

function markers(out: string[], ms: Marker[] | undefined, xs: (v: number) => number, lo: number, hi: number, h: number): void {
  (ms ?? []).forEach((m, i) => {
    if (m.x < lo || m.x > hi) return;
    const x = xs(m.x);
    // labels left of the line when near the right edge; stagger several markers vertically
    const right = x > xs(lo + (hi - lo) * 0.85);
    out.push(`<line x1="${x}" y1="${M.t}" x2="${x}" y2="${h - M.b}" stroke="#888" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${right ? x - 4 : x + 4}" y="${M.t + 10 + i * 13}" text-anchor="${right ? 'end' : 'start'}" fill="#666">${esc(m.label)}</text>`);
  });
}

export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 1100;
  const h = o.height ?? 280;
  const out = frame(o.title, w, h, o.series, o.note);
  const pts = o.series.flatMap((s) => s.points.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1])));
  if (pts.length === 0) {
    out.push(`<text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#999">no data</text></svg>`);
    return out.join('');
  }
  const xLo = Math.min(0, ...pts.map((p) => p[0]));
  const xHi = Math.max(o.xMax ?? 0, ...pts.map((p) => p[0]), xLo + 1);
  const xs = (v: number) => M.l + ((v - xLo) / (xHi - xLo)) * (w - M.l - M.r);
  let ys: (v: number) => number;
  if (o.log) {
    const pos = pts.map((p) => p[1]).filter((v) => v > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...pos, 1))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...pos, lo * 10))));
    const l0 = Math.log10(lo);
    const l1 = Math.log10(hi);
    ys = (v: number) => h - M.b - ((Math.log10(Math.max(v, lo)) - l0) / (l1 - l0)) * (h - M.t - M.b);
    for (let e = l0; e <= l1; e++) {
      for (const m of [1, 2, 5]) {
        const v = m * Math.pow(10, e);
        if (v > hi) continue;
        out.push(`<line x1="${M.l}" y1="${ys(v)}" x2="${w - M.r}" y2="${ys(v)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`);
        if (m === 1 || l1 - l0 <= 2) out.push(`<text x="${M.l - 6}" y="${ys(v) + 4}" text-anchor="end" fill="#555">${fmt(v)}</text>`);
      }
    }
    yLabel(out, o.yLabel, h);
  } else {
    const vals = pts.map((p) => p[1]);
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (o.zero !== false) lo = Math.min(0, lo);
    if (hi <= lo) hi = lo + 1;
    hi = niceCeil(lo, hi, Math.max(3, Math.floor((h - M.t - M.b) / 45)));
    ys = (v: number) => h - M.b - ((v - lo) / (hi - lo)) * (h - M.t - M.b);
    yAxisLinear(out, ys, lo, hi, w, h, o.yLabel);
  }
  xAxis(out, xs, xLo, xHi, w, h, o.xLabel ?? 'seconds since the load started');
  markers(out, o.markers, xs, xLo, xHi, h);
  for (const s of o.series) {
    let d = '';
    let pen = false;
    const segs: [number, number][][] = [];
    let cur: [number, number][] = [];
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        if (cur.length) segs.push(cur);
        cur = [];
        continue;
      }
      d += `${pen ? 'L' : 'M'}${xs(x).toFixed(1)},${ys(y).toFixed(1)}`;
      pen = true;
      cur.push([x, y]);
    }
    if (cur.length) segs.push(cur);
    if (s.area)
      for (const sg of segs) {
        const base = ys(o.log ? 0 : 0);
        const a = sg.map(([x, y]) => `${xs(x).toFixed(1)},${ys(y).toFixed(1)}`).join(' L');
        out.push(`<path d="M${xs(sg[0][0]).toFixed(1)},${base.toFixed(1)} L${a} L${xs(sg[sg.length - 1][0]).toFixed(1)},${base.toFixed(1)} Z" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`);
      }
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.8}"${s.dash ? ' stroke-dasharray="5 3"' : ''} stroke-linejoin="round"/>`);
    for (const sg of segs) if (sg.length === 1) out.push(`<circle cx="${xs(sg[0][0]).toFixed(1)}" cy="${ys(sg[0][1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  out.push('</svg>');
  return out.join('');
}

export function stackedBars(o: StackedBarsOptions): string {
  const w = o.width ?? 1100;
  const h = o.height ?? 260;
  const layers = o.layers.filter((l) => l.values.some((v) => v > 0));
  const out = frame(o.title, w, h, layers);
  if (o.xs.length === 0 || layers.length === 0) {
    out.push(`<text x="${w / 2}" y="${h / 2}" text-anchor="middle" fill="#999">no data</text></svg>`);
    return out.join('');
  }
  const xLo = Math.min(...o.xs);
  const xHi = Math.max(o.xMax ?? 0, Math.max(...o.xs) + 1);
  const xs = (v: number) => M.l + ((v - xLo) / (xHi - xLo)) * (w - M.l - M.r);
  const totals = o.xs.map((_, i) => layers.reduce((a, l) => a + (l.values[i] ?? 0), 0));
  const hi0 = Math.max(1, ...totals);
  const hi = niceCeil(0, hi0, Math.max(3, Math.floor((h - M.t - M.b) / 45)));
  const ys = (v: number) => h - M.b - (v / hi) * (h - M.t - M.b);
  yAxisLinear(out, ys, 0, hi, w, h, o.yLabel);
  xAxis(out, xs, xLo, xHi, w, h, o.xLabel ?? 'seconds since the load started');
  const bw = Math.max(1, (w - M.l - M.r) / (xHi - xLo) - 1);
  o.xs.forEach((x, i) => {
    let acc = 0;
    for (const l of layers) {
      const v = l.values[i] ?? 0;
      if (v <= 0) continue;
      out.push(`<rect x="${xs(x).toFixed(1)}" y="${ys(acc + v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(ys(acc) - ys(acc + v)).toFixed(1)}" fill="${l.color}"><title>${x}s ${esc(l.name)}: ${v}</title></rect>`);
      acc += v;
    }
  });
  markers(out, o.markers, xs, xLo, xHi, h);
  out.push('</svg>');
  return out.join('');
}

/** One horizontal 100% bar per row (the outcome mix of each request type). */
export function mixBars(title: string, rows: { label: string; parts: { name: string; color: string; value: number }[] }[], width = 1100): string {
  const rowH = 30;
  const names = new Map<string, string>();
  for (const r of rows) for (const p of r.parts) if (p.value > 0) names.set(p.name, p.color);
  const h = M.t + rows.length * rowH + 16;
  const out = frame(
    title,
    width,
    h,
    [...names].map(([name, color]) => ({ name, color })),
  );
  const x0 = 130;
  const x1 = width - 90;
  rows.forEach((r, i) => {
    const y = M.t + i * rowH + 4;
    const total = r.parts.reduce((a, p) => a + p.value, 0);
    out.push(`<text x="${x0 - 8}" y="${y + 15}" text-anchor="end" fill="#333">${esc(r.label)}</text>`);
    let acc = 0;
    for (const p of r.parts) {
      if (p.value <= 0) continue;
      const a = x0 + (acc / total) * (x1 - x0);
      const b = x0 + ((acc + p.value) / total) * (x1 - x0);
      const pct = (100 * p.value) / total;
      out.push(`<rect x="${a.toFixed(1)}" y="${y}" width="${Math.max(0.5, b - a).toFixed(1)}" height="20" fill="${p.color}"><title>${esc(r.label)} ${esc(p.name)}: ${p.value} (${pct.toFixed(2)}%)</title></rect>`);
      if (b - a > 44) out.push(`<text x="${((a + b) / 2).toFixed(1)}" y="${y + 14}" text-anchor="middle" fill="#fff" font-size="11">${pct >= 10 ? pct.toFixed(0) : pct.toFixed(1)}%</text>`);
      acc += p.value;
    }
    out.push(`<text x="${x1 + 8}" y="${y + 15}" fill="#555">${total}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
