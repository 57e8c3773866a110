// Risk: each account's trading state (ACTIVE / REDUCING / HALTED), its exposure,
// and for admins halt, reduce, resume and the limits editor. A card is built
// once per account and updated in place, so an alert arriving while someone
// types a limit does not throw the typing away.
import { api } from './api.js';
import { payload } from './live.js';
import { $, el, money, say, errorText } from './util.js';

const LIMITS = [
  ['max_order_qty', 'max order qty'], ['max_order_notional', 'max order notional'], ['max_position', 'max position'],
  ['max_gross_exposure', 'max gross exposure'], ['max_open_orders', 'max open orders', 'int'],
  ['max_orders_per_second', 'max orders / s', 'int'], ['daily_loss_limit', 'daily loss limit'],
  ['allowed_symbols', 'allowed symbols', 'list'],
];

const fmtLimit = (v) => (v == null ? '' : Array.isArray(v) ? v.join(',') : String(v));

export class Risk {
  constructor(state, live) {
    this.state = state;
    this.status = new Map();
    this.cards = new Map(); // account -> {root, head, msg, reason, form, limits}
    live.on('alerts', (d) => {
      const a = payload(d);
      if (a && a.account && this.state.accounts.includes(a.account)) this.load(a.account).catch(() => {});
    });
    state.on('accounts', () => this.loadAll());
    state.on('role', () => { this.cards.clear(); this.render(); });
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

  card(account) {
    let c = this.cards.get(account);
    if (c) return c;
    const admin = this.state.role === 'admin';
    c = { root: el('div', { class: 'risk-card', dataset: { account } }), head: el('div', {}) };
    c.root.append(c.head);
    if (admin) {
      c.msg = el('span', { class: 'msg', dataset: { testid: 'risk-msg' } });
      c.reason = el('input', { name: 'reason', placeholder: 'reason', size: 10 });
      const act = (what) => async () => {
        try {
          const reason = c.reason.value.trim() || 'from the dashboard';
          const rec = await api('POST', `/accounts/${encodeURIComponent(account)}/${what}`, what === 'resume' ? {} : { reason });
          say(c.msg, `${what}: ${rec.state}`);
          await this.load(account);
        } catch (e) { say(c.msg, errorText(e), true); }
      };
      c.root.append(el('div', {}, c.reason, ' ',
        el('button', { type: 'button', class: 'danger', onclick: act('halt') }, 'halt'), ' ',
        el('button', { type: 'button', onclick: act('reduce') }, 'reduce'), ' ',
        el('button', { type: 'button', onclick: act('resume') }, 'resume'), ' ', c.msg));
      c.form = el('form', { class: 'limits' }, LIMITS.map(([k, label]) => el('label', {}, label,
        el('input', { name: k, size: 8, oninput: (e) => { e.target.dataset.dirty = 'true'; } }))),
      el('button', {}, 'save limits'));
      c.form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const limits = {};
        for (const [k, , kind] of LIMITS) {
          const v = c.form[k].value.trim();
          if (v === '') continue;
          limits[k] = kind === 'int' ? Number(v) : kind === 'list' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v;
        }
        try {
          const saved = await api('PUT', `/accounts/${encodeURIComponent(account)}/limits`, { limits });
          for (const input of c.form.querySelectorAll('input')) delete input.dataset.dirty;
          say(c.msg, `limits saved (revision ${saved.revision})`);
          await this.load(account);
        } catch (err) { say(c.msg, errorText(err), true); }
      });
      c.root.append(c.form);
    } else {
      c.limits = el('div', { class: 'dim' });
      c.root.append(c.limits);
    }
    this.cards.set(account, c);
    return c;
  }

  render() {
    const root = $('#risk');
    const cards = this.state.accounts.map((account) => {
      const c = this.card(account);
      const s = this.status.get(account);
      if (!s) {
        c.head.replaceChildren(el('b', {}, account), ' …');
      } else if (s.error) {
        c.head.replaceChildren(el('b', {}, account), ' ', el('span', { class: 'error' }, s.error));
      } else {
        const st = s.state.state;
        c.root.dataset.state = st;
        c.head.replaceChildren(el('b', {}, account), ' ', el('span', { class: `state-${st}`, dataset: { testid: 'risk-state' } }, st),
          s.state.reason ? ` — ${s.state.reason}` : '',
          ` · open orders ${s.view.open_orders} · exposure ${money(s.view.gross_exposure)} · daily P&L ${money(s.view.daily_pnl)}`);
        if (c.form) {
          // What the server has, except where someone is typing.
          for (const [k] of LIMITS) {
            const input = c.form[k];
            if (!input.dataset.dirty && document.activeElement !== input) input.value = fmtLimit(s.limits[k]);
          }
        } else {
          const set = LIMITS.filter(([k]) => s.limits[k] != null).map(([k, label]) => `${label} ${fmtLimit(s.limits[k])}`);
          c.limits.textContent = set.length ? set.join(' · ') : 'no limits';
        }
      }
      return c.root;
    });
    // Only re-attach when the set of accounts changed (keeps focus and typing).
    const same = cards.length === root.children.length && cards.every((c, i) => root.children[i] === c);
    if (!same) root.replaceChildren(...cards);
  }
}
