// Charts on uPlot (vendored, MIT): candlesticks drawn by a draw hook with SMA
// overlays and signal and fill markers; equity and drawdown per account.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { num } from './util.js';

const UP = '#26a269';
const DOWN = '#e5484d';
const MAX_BARS = 600;

/** Simple moving average of `closes` over `n` (null until n values). */
export function sma(closes, n) {
  const out = new Array(closes.length).fill(null);
  let sum = 0;
  for (let i = 0; i < closes.length; i++) {
    sum += closes[i];
    if (i >= n) sum -= closes[i - n];
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

function candles(u) {
  const ctx = u.ctx;
  const [xs, o, h, l, c] = u.data;
  const [i0, i1] = [u.series[0].idxs?.[0] ?? 0, u.series[0].idxs?.[1] ?? xs.length - 1];
  const visible = Math.max(1, i1 - i0 + 1);
  const width = Math.max(1, Math.min(14, (u.bbox.width / visible) * 0.7));
  ctx.save();
  for (let i = i0; i <= i1; i++) {
    if (o[i] == null) continue;
    const x = Math.round(u.valToPos(xs[i], 'x', true));
    const yo = u.valToPos(o[i], 'y', true);
    const yc = u.valToPos(c[i], 'y', true);
    const yh = u.valToPos(h[i], 'y', true);
    const yl = u.valToPos(l[i], 'y', true);
    const color = c[i] >= o[i] ? UP : DOWN;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x + 0.5, yh);
    ctx.lineTo(x + 0.5, yl);
    ctx.stroke();
    const top = Math.min(yo, yc);
    ctx.fillRect(x - width / 2, top, width, Math.max(1, Math.abs(yc - yo)));
  }
  ctx.restore();
}

function markers(u, list) {
  const ctx = u.ctx;
  const [xmin, xmax] = [u.scales.x.min, u.scales.x.max];
  ctx.save();
  for (const m of list) {
    if (m.ts < xmin || m.ts > xmax) continue;
    const x = u.valToPos(m.ts, 'x', true);
    const y = u.valToPos(m.price, 'y', true);
    const s = 6 * devicePixelRatio;
    ctx.beginPath();
    if (m.kind === 'fill') {
      ctx.fillStyle = m.side === 'buy' ? '#5eb1ff' : '#ffb347';
      ctx.strokeStyle = '#000';
      ctx.arc(x, y, s * 0.7, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    } else {
      ctx.fillStyle = m.direction === 'long' ? UP : m.direction === 'short' ? DOWN : '#aaa';
      const dy = m.direction === 'short' ? -1 : 1;
      // below the price for long, above for short
      const yy = y + dy * s * 1.6;
      ctx.moveTo(x, yy - dy * s);
      ctx.lineTo(x - s, yy + dy * s * 0.6);
      ctx.lineTo(x + s, yy + dy * s * 0.6);
      ctx.closePath();
      ctx.fill();
    }
  }
  ctx.restore();
}

/** A candlestick chart of one symbol and timeframe, fed bars as they come. */
export class CandleChart {
  constructor(node, { fast = 10, slow = 20 } = {}) {
    this.node = node;
    this.fast = fast;
    this.slow = slow;
    this.bars = [];      // {t (s), o, h, l, c}
    this.marks = [];     // {ts (s), price, kind, side|direction}
    this.plot = null;
  }

  build(title) {
    if (this.plot) this.plot.destroy();
    this.node.replaceChildren(); // an earlier error message
    const self = this;
    const opts = {
      title,
      width: Math.max(300, this.node.clientWidth),
      height: 320,
      cursor: { points: { show: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#8a96a6', grid: { stroke: '#1d2530' } },
        { stroke: '#8a96a6', grid: { stroke: '#1d2530' }, size: 70 },
      ],
      series: [
        {},
        { label: 'open', paths: () => null, points: { show: false }, stroke: UP },
        { label: 'high', paths: () => null, points: { show: false }, stroke: UP },
        { label: 'low', paths: () => null, points: { show: false }, stroke: DOWN },
        { label: 'close', paths: () => null, points: { show: false }, stroke: DOWN },
        { label: `SMA ${this.fast}`, stroke: '#f5c211', width: 1.5, points: { show: false } },
        { label: `SMA ${this.slow}`, stroke: '#c061cb', width: 1.5, points: { show: false } },
      ],
      hooks: {
        draw: [(u) => { candles(u); markers(u, self.marks); }],
        setCursor: [(u) => self.readout(u.cursor.idx)],
      },
    };
    this.plot = new uPlot(opts, this.data(), this.node);
  }

  /** O/H/L/C and the SMAs of the bar under the cursor (else the last). */
  readout(idx) {
    const node = document.getElementById('readout');
    if (!node) return;
    const i = idx ?? this.bars.length - 1;
    const b = this.bars[i];
    if (!b) { node.textContent = ''; return; }
    const d = this.plot ? this.plot.data : this.data();
    const f = (v) => (v == null ? '–' : v.toFixed(v >= 1000 ? 2 : Math.abs(v) >= 1 ? 2 : 5));
    node.replaceChildren(...[
      new Date(b.t * 1000).toISOString().replace('T', ' ').slice(0, 19),
      `O ${f(b.o)}`, `H ${f(b.h)}`, `L ${f(b.l)}`, `C ${f(b.c)}`,
      `SMA ${this.fast} ${f(d[5][i])}`, `SMA ${this.slow} ${f(d[6][i])}`,
    ].map((t) => { const e = document.createElement('b'); e.textContent = t; return e; }));
  }

  data() {
    const b = this.bars;
    const closes = b.map((x) => x.c);
    return [b.map((x) => x.t), b.map((x) => x.o), b.map((x) => x.h), b.map((x) => x.l), closes,
      sma(closes, this.fast), sma(closes, this.slow)];
  }

  /** Replaces every bar (from REST). */
  load(bars, title) {
    this.bars = bars.map(toBar).slice(-MAX_BARS);
    this.marks = [];
    this.build(title);
  }

  /** A live bar: a new one, or the update of the last. */
  push(bar) {
    const b = toBar(bar);
    const last = this.bars[this.bars.length - 1];
    if (last && b.t < last.t) return;
    if (last && b.t === last.t) this.bars[this.bars.length - 1] = b;
    else this.bars.push(b);
    if (this.bars.length > MAX_BARS) this.bars.shift();
    this.redraw();
  }

  mark(m) {
    this.marks.push(m);
    if (this.marks.length > 500) this.marks.shift();
    this.redraw();
  }

  setSma(fast, slow) {
    this.fast = fast;
    this.slow = slow;
    if (this.plot) this.build(this.plot.title);
  }

  redraw() {
    if (!this.plot) return;
    this.plot.setData(this.data());
    if (this.plot.cursor.idx == null) this.readout(null);
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(300, this.node.clientWidth), height: 320 });
  }
}

function toBar(b) {
  return { t: num(b.ts) / 1e9, o: num(b.open), h: num(b.high), l: num(b.low), c: num(b.close) };
}

const PALETTE = ['#3b82f6', '#26a269', '#f5c211', '#c061cb', '#ff7800', '#2ec27e', '#e01b24', '#62a0ea'];

/** Equity (left axis) and drawdown % (right axis) of every account over time:
 * its history from the analytics account report, then every portfolio update. */
export class EquityChart {
  constructor(node) {
    this.node = node;
    this.series = new Map(); // account -> {t: [], eq: [], dd: [], peak}
    this.plot = null;
    this.pending = false;
  }

  build() {
    if (this.plot) this.plot.destroy();
    const series = [{}];
    [...this.series.keys()].forEach((a, i) => {
      const color = PALETTE[i % PALETTE.length];
      series.push({ label: `${a} equity`, stroke: color, width: 1.5, scale: 'eq', points: { show: false }, spanGaps: true });
      series.push({ label: `${a} drawdown %`, stroke: color, fill: color + '33', width: 1, dash: [4, 3], scale: 'dd', points: { show: false }, spanGaps: true });
    });
    this.plot = new uPlot({
      width: Math.max(300, this.node.clientWidth),
      height: 200,
      scales: { x: { time: true }, dd: { range: (u, min) => [Math.min(min ?? 0, -1), 0] } },
      axes: [
        { stroke: '#8a96a6', grid: { stroke: '#1d2530' } },
        { scale: 'eq', stroke: '#8a96a6', grid: { stroke: '#1d2530' }, size: 84,
          values: (u, vals) => vals.map((v) => (v == null ? '' : v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 1e5 ? 0 : 2 }))) },
        { scale: 'dd', side: 1, stroke: '#8a96a6', grid: { show: false }, size: 50 },
      ],
      series,
    }, this.data(), this.node);
    this.node.dataset.accounts = [...this.series.keys()].join(',');
  }

  data() {
    const tables = [...this.series.values()].map((s) => [s.t, s.eq, s.dd]);
    if (!tables.length) return [[]];
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }

  line(account) {
    let s = this.series.get(account);
    if (!s) {
      s = { t: [], eq: [], dd: [], peak: -Infinity };
      this.series.set(account, s);
      this.plot = null;
    }
    return s;
  }

  add(s, t, e) {
    const last = s.t[s.t.length - 1];
    if (last !== undefined && t < last) return;
    s.peak = Math.max(s.peak, e);
    const dd = s.peak > 0 ? (e / s.peak - 1) * 100 : 0;
    if (last !== undefined && t - last < 0.5) {
      s.eq[s.eq.length - 1] = e;
      s.dd[s.dd.length - 1] = dd;
    } else {
      s.t.push(t); s.eq.push(e); s.dd.push(dd);
      if (s.t.length > 5000) { s.t.shift(); s.eq.shift(); s.dd.shift(); }
    }
  }

  /** History before the page opened: `[{ts (ns), equity}]`, oldest first. */
  seed(account, points) {
    const s = this.line(account);
    const first = s.t[0];
    const older = points.map((p) => [num(p.ts) / 1e9, num(p.equity)]).filter(([t, e]) => Number.isFinite(e) && (first === undefined || t < first));
    const live = { t: s.t, eq: s.eq };
    s.t = []; s.eq = []; s.dd = []; s.peak = -Infinity;
    for (const [t, e] of older) this.add(s, t, e);
    live.t.forEach((t, i) => this.add(s, t, live.eq[i]));
    this.render();
  }

  /** The equity of `account` at market time `ts` (ns; wall clock when absent). */
  point(account, equity, ts) {
    const e = num(equity);
    if (!Number.isFinite(e)) return;
    const t = num(ts) > 0 ? num(ts) / 1e9 : Date.now() / 1000;
    this.add(this.line(account), t, e);
    this.render();
  }

  render() {
    // One redraw per frame however many updates arrive.
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (!this.plot) this.build();
      else this.plot.setData(this.data());
      this.node.dataset.points = String([...this.series.values()].reduce((n, s) => n + s.t.length, 0));
    });
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(300, this.node.clientWidth), height: 200 });
  }
}
