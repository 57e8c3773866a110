// Backtests and sweeps: the form (parameters from the strategy kinds), a
// progress bar, the results table, and the analytics report of a result
// (a self-contained page shown in a sandboxed frame).
import { api } from './api.js';
import { $, el, table, money, say, errorText } from './util.js';
import { paramInputs, paramValues } from './strategies.js';

const COLUMNS = [
  ['return_pct', 'return %'], ['buy_hold_return_pct', 'buy & hold %'], ['sharpe_ratio', 'sharpe'],
  ['sortino_ratio', 'sortino'], ['max_drawdown_pct', 'max DD %'], ['win_rate_pct', 'win %'],
  ['trades', 'trades'], ['equity_final', 'final equity'],
];

const fmt = (v) => (v == null ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : money(v));

export class Backtests {
  constructor(state) {
    this.state = state;
    const form = $('#backtest-form');
    form.kind.addEventListener('change', () => this.params());
    form.addEventListener('submit', (e) => { e.preventDefault(); this.run(); });
    $('#run-sweep').addEventListener('click', () => this.sweep());
    state.on('kinds', () => {
      form.kind.replaceChildren(...state.kinds.map((k) => el('option', {}, k.kind)));
      this.params();
    });
    state.on('symbols', () => {
      const keep = form.symbol.value;
      form.symbol.replaceChildren(...state.symbols.map((s) => el('option', {}, s.symbol)));
      const daily = state.symbols.find((s) => (s.series || []).some((x) => x.timeframe === '1d'));
      form.symbol.value = keep || (daily ? daily.symbol : form.symbol.value);
    });
  }

  params() {
    const form = $('#backtest-form');
    paramInputs($('#backtest-params'), this.state.kinds.find((k) => k.kind === form.kind.value), 'b_');
  }

  spec() {
    const f = $('#backtest-form');
    const data = { symbol: f.symbol.value, timeframe: f.timeframe.value.trim() || '1d' };
    if (f.from.value.trim()) data.from = f.from.value.trim();
    if (f.to.value.trim()) data.to = f.to.value.trim();
    return { kind: f.kind.value, params: paramValues(f, 'b_'), data, cash: f.cash.value.trim() || '10000', commission: f.commission.value.trim() || '0' };
  }

  progress(value, max) {
    const bar = $('#backtest-progress');
    bar.hidden = false;
    if (value == null) bar.removeAttribute('value');
    else { bar.max = Math.max(1, max); bar.value = value; }
  }

  async run() {
    const s = this.spec();
    const run = { strategy: { kind: s.kind, params: s.params }, data: s.data, cash: s.cash, commission: s.commission, include_equity: false };
    const msg = $('#backtest-msg');
    say(msg, `backtesting ${s.kind} on ${s.data.symbol}…`);
    this.progress(null);
    try {
      const report = await api('POST', '/backtests', run);
      this.progress(1, 1);
      say(msg, `${s.kind} on ${s.data.symbol}: ${report.stats.trades} trades, return ${fmt(report.stats.return_pct)} %`);
      this.results([{ label: paramText(s.params), stats: report.stats, source: { backtest: { ...run, include_equity: true } } }]);
      await this.report({ backtest: { ...run, include_equity: true } });
    } catch (e) {
      $('#backtest-progress').hidden = true;
      say(msg, errorText(e), true);
    }
  }

  async sweep() {
    const s = this.spec();
    const f = $('#backtest-form');
    const grid = {};
    for (const part of f.grid.value.split(';')) {
      const [name, values] = part.split('=');
      if (!name || !values) continue;
      grid[name.trim()] = values.split(',').map((v) => Number(v.trim())).filter((v) => Number.isFinite(v));
    }
    const msg = $('#backtest-msg');
    if (!Object.keys(grid).length) { say(msg, 'a grid, e.g. fast=5,10;slow=20,30', true); return; }
    try {
      const accepted = await api('POST', '/sweeps', { kind: s.kind, data: s.data, search: { grid }, objective: f.objective.value, cash: s.cash, commission: s.commission });
      say(msg, `sweep ${accepted.job_id}: ${accepted.tasks} runs`);
      this.progress(0, accepted.tasks);
      for (;;) {
        const job = await api('GET', `/jobs/${encodeURIComponent(accepted.job_id)}`, undefined, { top: 20 });
        this.progress(job.done, job.tasks);
        this.results((job.best || []).map((r) => ({ label: paramText(r.params), objective: r.objective, stats: r.stats,
          source: { sweep_result: { job_id: job.job_id, index: r.index } } })), job.objective);
        say(msg, `sweep ${job.job_id}: ${job.done}/${job.tasks} ${job.state}`);
        if (job.state !== 'running' && job.state !== 'pending' && job.state !== 'queued') break;
        await new Promise((r) => setTimeout(r, 700));
      }
    } catch (e) {
      say(msg, errorText(e), true);
    }
  }

  results(rows, objective) {
    const headers = ['parameters', ...(objective ? [`objective: ${objective.replace(/_/g, ' ')}`] : []), ...COLUMNS.map(([, l]) => l), ''];
    table($('#backtest-results'), headers, rows.map((r) => el('tr', {},
      el('td', {}, r.label), ...(objective ? [el('td', { class: 'num' }, fmt(r.objective))] : []),
      ...COLUMNS.map(([k]) => el('td', { class: 'num', dataset: { stat: k } }, fmt(r.stats[k]))),
      el('td', {}, el('button', { type: 'button', dataset: { report: r.label }, onclick: () => this.report(r.source) }, 'report')))));
  }

  async report(source) {
    const frame = $('#report');
    try {
      const rep = await api('POST', '/analytics/report', { source, format: 'html' });
      frame.srcdoc = rep.html;
      frame.hidden = false;
      frame.dataset.title = rep.title;
    } catch (e) {
      say($('#backtest-msg'), `report: ${errorText(e)}`, true);
    }
  }
}

const paramText = (p) => Object.entries(p || {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'defaults';
