// Market panel: the live quote strip (every symbol), one candlestick chart at a
// time (a tab per symbol) with SMA overlays and the signals and fills of that
// symbol as markers.
import { api } from './api.js';
import { payload } from './live.js';
import { CandleChart } from './chart.js';
import { $, el, num, price, tfSeconds, errorText } from './util.js';

export class Market {
  constructor(state, live) {
    this.state = state;
    this.live = live;
    this.chart = new CandleChart($('#chart'));
    this.current = null; // {symbol, timeframe}
    this.last = new Map(); // symbol -> last price
    this.quoteNodes = new Map();
    live.on('quotes', (d) => this.onQuote(payload(d)));
    live.on('bars', (d) => this.onBar(payload(d)));
    live.on('signals', (d) => this.onSignal(payload(d)));
    live.on('fills', (d) => this.onFill(payload(d)));
    state.on('fills', () => this.fillMarks());
    const sma = () => this.chart.setSma(Math.max(1, num($('#sma-fast').value) || 10), Math.max(2, num($('#sma-slow').value) || 20));
    $('#timeframe').addEventListener('change', (e) => { if (this.current) this.show(this.current.symbol, e.target.value); });
    $('#sma-fast').addEventListener('change', sma);
    $('#sma-slow').addEventListener('change', sma);
    window.addEventListener('resize', () => this.chart.resize());
  }

  async load() {
    const res = await api('GET', '/symbols');
    const symbols = (res.symbols || []).sort((a, b) => String(a.symbol).localeCompare(String(b.symbol)));
    this.state.symbols = symbols;
    const tabs = $('#symbol-tabs');
    tabs.replaceChildren(...symbols.map((s) => el('button', {
      type: 'button', dataset: { symbol: s.symbol }, onclick: () => this.show(s.symbol),
    }, s.symbol)));
    for (const s of symbols) {
      this.quote(s.symbol, s.last, null);
      this.live.subscribe({ channel: 'quotes', symbol: s.symbol });
    }
    this.live.subscribe({ channel: 'signals' });
    this.live.subscribe({ channel: 'fills' });
    // Prefer a live series (the simulator's) for the first chart.
    const liveFirst = symbols.find((s) => (s.series || []).some((x) => tfSeconds(x.timeframe) < 86400)) || symbols[0];
    if (!this.current && liveFirst) await this.show(liveFirst.symbol);
    this.state.emit('symbols');
  }

  quote(symbol, last, prev) {
    let node = this.quoteNodes.get(symbol);
    if (!node) {
      node = el('span', { class: 'quote', dataset: { symbol }, onclick: () => this.show(symbol) },
        el('b', {}, symbol), el('span', { class: 'px' }, ''));
      this.quoteNodes.set(symbol, node);
      $('#quotes').append(node);
    }
    if (last == null) return;
    node.querySelector('.px').textContent = price(last);
    node.classList.toggle('up', prev != null && num(last) > num(prev));
    node.classList.toggle('down', prev != null && num(last) < num(prev));
    node.dataset.last = last;
    node.dataset.updates = String(Number(node.dataset.updates || 0) + 1);
  }

  onQuote(q) {
    if (!q || !q.symbol) return;
    const prev = this.last.get(q.symbol);
    this.last.set(q.symbol, q.last);
    this.quote(q.symbol, q.last, prev);
    this.state.marks.set(q.symbol, num(q.last));
  }

  onBar(bar) {
    if (!bar || !this.current) return;
    if (bar.symbol !== this.current.symbol || bar.timeframe !== this.current.timeframe) return;
    this.chart.push(bar);
    $('#chart').dataset.bars = String(this.chart.bars.length);
  }

  onSignal(ev) {
    const s = ev && (ev.signal || ev);
    if (!s || !this.current || s.symbol !== this.current.symbol) return;
    this.chart.mark({ kind: 'signal', ts: num(s.ts) / 1e9, price: num(s.price), direction: s.direction });
  }

  /** Markers for the fills of the shown symbol the page already knows. */
  fillMarks() {
    if (!this.current) return;
    const shown = new Set(this.chart.marks.filter((m) => m.kind === 'fill').map((m) => m.key));
    for (const f of this.state.fills) {
      const key = f.fill_id || f.order_id;
      if (f.symbol !== this.current.symbol || shown.has(key)) continue;
      this.chart.mark({ kind: 'fill', key, ts: num(f.market_ts) / 1e9, price: num(f.price), side: f.side });
    }
  }

  onFill(ev) {
    const f = ev && (ev.fill || ev);
    if (!f || !this.current || f.symbol !== this.current.symbol) return;
    this.chart.mark({ kind: 'fill', key: f.fill_id, ts: num(f.market_ts) / 1e9, price: num(f.price), side: f.side });
  }

  /** The chart of `symbol` in `timeframe` (default: its shortest stored series). */
  async show(symbol, wanted) {
    const info = (this.state.symbols || []).find((s) => s.symbol === symbol);
    const series = ((info && info.series) || []).slice().sort((a, b) => tfSeconds(a.timeframe) - tfSeconds(b.timeframe));
    const pick = series.find((s) => s.timeframe === wanted) || series[0];
    const timeframe = pick ? pick.timeframe : '1d';
    $('#timeframe').replaceChildren(...(series.length ? series : [{ timeframe }]).map((s) => el('option', {}, s.timeframe)));
    $('#timeframe').value = timeframe;
    if (this.current) this.live.unsubscribe({ channel: 'bars', symbol: this.current.symbol });
    this.current = { symbol, timeframe };
    for (const b of $('#symbol-tabs').children) b.classList.toggle('active', b.dataset.symbol === symbol);
    const chart = $('#chart');
    chart.dataset.symbol = symbol;
    this.live.subscribe({ channel: 'bars', symbol });
    try {
      const lastNs = pick ? num(pick.last_ts) : Date.now() * 1e6;
      const from = new Date((lastNs / 1e6) - tfSeconds(timeframe) * 1000 * 400).toISOString();
      const res = await api('GET', `/bars/${encodeURIComponent(symbol)}`, undefined, { timeframe, from, limit: 1000 });
      if (!this.current || this.current.symbol !== symbol) return;
      this.chart.load(res.bars || [], `${symbol} ${timeframe}`);
      this.fillMarks();
      chart.dataset.bars = String(this.chart.bars.length);
    } catch (e) {
      chart.textContent = `bars of ${symbol}: ${errorText(e)}`;
    }
  }
}
