// Risk: each account's trading state (ACTIVE / REDUCING / HALTED), its exposure,
// and for admins halt, reduce, resume and the limits editor.
import { api } from './api.js';
import { payload } from './live.js';
import { $, el, money, say, errorText } from './util.js';

const LIMITS = [
  ['max_order_qty', 'max order qty'], ['max_order_notional', 'max order notional'], ['max_position', 'max position'],
  ['max_gross_exposure', 'max gross exposure'], ['max_open_orders', 'max open orders', 'int'],
  ['max_orders_per_second', 'max orders / s', 'int'], ['daily_loss_limit', 'daily loss limit'],
  ['allowed_symbols', 'allowed symbols', 'list'],
];

export class Risk {
  constructor(state, live) {
    this.state = state;
    this.status = new Map();
    this.notes = new Map(); // account -> what the last action did (kept across re-renders)
    live.on('alerts', (d) => {
      const a = payload(d);
      if (a && a.account && this.state.accounts.includes(a.account)) this.load(a.account).catch(() => {});
    });
    state.on('accounts', () => this.loadAll());
    state.on('role', () => this.render());
  }

  loadAll() { return Promise.all(this.state.accounts.map((a) => this.load(a).catch(() => {}))); }

  async load(account) {
    try {
      this.status.set(account, await api('GET', `/accounts/${encodeURIComponent(account)}/risk`));
    } catch (e) {
      this.status.set(account, { account, error: errorText(e) });
    }
    this.render();
  }

  render() {
    const admin = this.state.role === 'admin';
    $('#risk').replaceChildren(...this.state.accounts.map((account) => {
      const s = this.status.get(account);
      if (!s) return el('div', { class: 'risk-card' }, account, ' …');
      if (s.error) return el('div', { class: 'risk-card' }, el('b', {}, account), ' ', el('span', { class: 'error' }, s.error));
      const st = s.state.state;
      const card = el('div', { class: 'risk-card', dataset: { account, state: st } },
        el('div', {}, el('b', {}, account), ' ', el('span', { class: `state-${st}`, dataset: { testid: 'risk-state' } }, st),
          s.state.reason ? ` — ${s.state.reason}` : '',
          ` · open orders ${s.view.open_orders} · exposure ${money(s.view.gross_exposure)} · daily P&L ${money(s.view.daily_pnl)}`));
      if (admin) {
        const note = this.notes.get(account);
        const msg = el('span', { class: 'msg' + (note && note.error ? ' error' : ''), dataset: { testid: 'risk-msg' } }, note ? note.text : '');
        const tell = (text, error = false) => { this.notes.set(account, { text, error }); say(msg, text, error); };
        const reasonInput = el('input', { name: 'reason', placeholder: 'reason', size: 10 });
        const act = (what) => async () => {
          try {
            const reason = what === 'resume' ? undefined : (reasonInput.value.trim() || 'from the dashboard');
            const rec = await api('POST', `/accounts/${encodeURIComponent(account)}/${what}`, reason ? { reason } : {});
            tell(`${what}: ${rec.state}`);
            await this.load(account);
          } catch (e) { tell(errorText(e), true); }
        };
        card.append(el('div', {}, reasonInput, ' ',
          el('button', { type: 'button', class: 'danger', onclick: act('halt') }, 'halt'), ' ',
          el('button', { type: 'button', onclick: act('reduce') }, 'reduce'), ' ',
          el('button', { type: 'button', onclick: act('resume') }, 'resume'), ' ', msg));
        const form = el('form', { class: 'limits' }, LIMITS.map(([k, label]) => el('label', {}, label,
          el('input', { name: k, size: 8, value: fmtLimit(s.limits[k]) }))),
        el('button', {}, 'save limits'));
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const limits = {};
          for (const [k, , kind] of LIMITS) {
            const v = form[k].value.trim();
            if (v === '') continue;
            limits[k] = kind === 'int' ? Number(v) : kind === 'list' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
          }
          try {
            const saved = await api('PUT', `/accounts/${encodeURIComponent(account)}/limits`, { limits });
            tell(`limits saved (revision ${saved.revision})`);
            await this.load(account);
          } catch (err) { tell(errorText(err), true); }
        });
        card.append(form);
      } else {
        const set = LIMITS.filter(([k]) => s.limits[k] != null).map(([k, label]) => `${label} ${fmtLimit(s.limits[k])}`);
        card.append(el('div', { class: 'dim' }, set.length ? set.join(' · ') : 'no limits'));
      }
      return card;
    }));
  }
}

const fmtLimit = (v) => (v == null ? '' : Array.isArray(v) ? v.join(',') : String(v));
