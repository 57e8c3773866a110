// Strategies: every strategy on the platform with its parameters, owner
// instance, position, signal count and last signal (live from the signals
// channel), start (a form built from the kinds' parameter specs) and stop.
import { api } from './api.js';
import { payload } from './live.js';
import { $, el, table, num, price, time, say, errorText } from './util.js';

/** Inputs for a kind's parameters, defaults filled in. */
export function paramInputs(node, kind, prefix) {
  node.replaceChildren(...(kind ? kind.params : []).map((p) => el('label', { title: p.description },
    p.name, el('input', { name: `${prefix}${p.name}`, value: String(p.default), size: 5, inputmode: 'decimal', dataset: { param: p.name, kind: p.kind } }))));
}

/** The values of those inputs as the request's `params`. */
export function paramValues(form, prefix) {
  const params = {};
  for (const input of form.querySelectorAll(`input[name^="${prefix}"]`)) {
    if (input.value.trim() === '') continue;
    const v = Number(input.value);
    params[input.dataset.param] = input.dataset.kind === 'int' ? Math.round(v) : v;
  }
  return params;
}

export class Strategies {
  constructor(state, live) {
    this.state = state;
    this.live = live;
    this.list = new Map(); // id -> StrategyStatus
    live.on('signals', (d) => this.onSignal(payload(d)));
    const form = $('#strategy-form');
    form.kind.addEventListener('change', () => this.params());
    form.addEventListener('submit', (e) => { e.preventDefault(); this.start(); });
    state.on('kinds', () => {
      form.kind.replaceChildren(...state.kinds.map((k) => el('option', { title: k.description }, k.kind)));
      this.params();
    });
    state.on('symbols', () => {
      if (!form.symbols.value && state.symbols.length) {
        const live = state.symbols.find((s) => (s.series || []).some((x) => x.timeframe === '1s')) || state.symbols[0];
        form.symbols.value = live.symbol;
      }
    });
  }

  params() {
    const form = $('#strategy-form');
    paramInputs($('#strategy-params'), this.state.kinds.find((k) => k.kind === form.kind.value), 'p_');
  }

  async load() {
    const res = await api('GET', '/strategies');
    this.list = new Map((res.strategies || []).map((s) => [s.record.id, s]));
    for (const s of this.list.values()) {
      const account = s.record.paper && s.record.paper.account;
      if (account) this.state.addAccount(account, false);
    }
    this.render();
  }

  onSignal(ev) {
    if (!ev || !ev.strategy_id) return;
    const s = this.list.get(ev.strategy_id);
    if (!s) { this.load().catch(() => {}); return; }
    s.signals = num(s.signals) + 1;
    s.last_signal = ev.signal;
    this.render();
  }

  render() {
    const rows = [...this.list.values()].sort((a, b) => a.record.id.localeCompare(b.record.id)).map((s) => {
      const r = s.record;
      const last = s.last_signal;
      const running = r.state === 'running';
      return el('tr', { dataset: { strategy: r.id, state: r.state } },
        el('td', {}, r.id), el('td', {}, r.kind),
        el('td', {}, Object.entries(r.params || {}).map(([k, v]) => `${k}=${v}`).join(' ')),
        el('td', {}, (r.symbols || []).join(',')), el('td', {}, r.timeframe),
        el('td', {}, r.mode + (r.paper ? ` → ${r.paper.account}` : '')),
        el('td', { class: running ? 'pos' : 'dim' }, r.state), el('td', {}, s.owner || '–'),
        el('td', { class: 'num' }, s.signals ?? 0),
        el('td', {}, last ? `${last.direction} ${last.symbol} @ ${price(last.price)} ${time(last.ts)}` : '–'),
        el('td', {}, running
          ? el('button', { type: 'button', class: 'danger', dataset: { stop: r.id }, onclick: () => this.stop(r.id) }, 'stop')
          : el('button', { type: 'button', dataset: { restart: r.id }, onclick: () => this.restart(r) }, 'start')));
    });
    table($('#strategies'), ['id', 'kind', 'parameters', 'symbols', 'tf', 'mode', 'state', 'owner', 'signals', 'last signal', ''], rows);
  }

  async start() {
    const f = $('#strategy-form');
    const mode = f.mode.value;
    const body = {
      id: f.id.value.trim(),
      kind: f.kind.value,
      params: paramValues(f, 'p_'),
      symbols: f.symbols.value.split(',').map((s) => s.trim()).filter(Boolean),
      timeframe: f.timeframe.value.trim(),
      mode,
    };
    if (mode === 'paper') {
      body.account = f.account.value;
      body.sizing = { rule: 'fixed_qty', qty: f.qty.value.trim() };
    }
    await this.send(body);
  }

  async restart(r) {
    const body = { id: r.id, kind: r.kind, params: r.params, symbols: r.symbols, timeframe: r.timeframe, mode: r.mode };
    if (r.paper) { body.account = r.paper.account; body.sizing = r.paper.sizing; }
    await this.send(body);
  }

  async send(body) {
    const msg = $('#strategy-msg');
    say(msg, `starting ${body.id}…`);
    try {
      const rec = await api('POST', '/strategies', body);
      say(msg, `${rec.id} ${rec.state}`);
      if (rec.paper) this.state.addAccount(rec.paper.account, false);
      await this.load();
    } catch (e) {
      say(msg, errorText(e), true);
    }
  }

  async stop(id) {
    const msg = $('#strategy-msg');
    try {
      await api('POST', `/strategies/${encodeURIComponent(id)}/stop`, {});
      say(msg, `${id} stopped`);
      await this.load();
    } catch (e) {
      say(msg, errorText(e), true);
    }
  }
}
