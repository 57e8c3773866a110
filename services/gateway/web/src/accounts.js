// Accounts: summaries with equity and P&L, the equity and drawdown chart,
// positions (realized and unrealized P&L), open orders with cancel, recent
// fills and the paper order ticket, for every account the dashboard follows.
import { api } from './api.js';
import { payload } from './live.js';
import { EquityChart } from './chart.js';
import { $, el, table, num, money, price, pnlCell, numCell, time, say, errorText, clientId, tfSeconds } from './util.js';

const MAX_FILLS = 100;

export class Accounts {
  constructor(state, live) {
    this.state = state;
    this.live = live;
    this.summaries = new Map();  // account -> Summary
    this.positions = new Map();  // account -> [Position]
    this.orders = new Map();     // order id -> Order (open ones)
    this.fills = state.fills;    // newest first, shared with the chart's markers
    this.seeded = new Set();     // accounts whose equity history was read
    this.equity = new EquityChart($('#equity'));
    live.on('positions', (d) => this.onUpdate(payload(d)));
    live.on('orders', (d) => this.onOrder(payload(d)));
    live.on('fills', (d) => this.onFillEvent(payload(d)));
    live.subscribe({ channel: 'positions' });
    live.subscribe({ channel: 'orders' });
    $('#ticket').addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    $('#ticket [name=type]').addEventListener('change', () => this.ticketFields());
    $('#add-account').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = e.target.account.value.trim();
      if (name) { this.state.addAccount(name); e.target.account.value = ''; }
    });
    state.on('accounts', () => this.loadAll());
    state.on('symbols', () => this.symbolOptions());
    window.addEventListener('resize', () => this.equity.resize());
    this.ticketFields();
  }

  ticketFields() {
    const type = $('#ticket [name=type]').value;
    $('#ticket [name=limit_price]').disabled = !(type === 'limit' || type === 'stop_limit');
    $('#ticket [name=stop_price]').disabled = !(type === 'stop' || type === 'stop_limit');
  }

  symbolOptions() {
    const select = $('#ticket [name=symbol]');
    const keep = select.value;
    const symbols = this.state.symbols || [];
    select.replaceChildren(...symbols.map((s) => el('option', {}, s.symbol)));
    // Paper orders fill on live bars: a symbol with a live (sub-daily) series first.
    const live = symbols.find((s) => (s.series || []).some((x) => tfSeconds(x.timeframe) < 86400));
    if (keep) select.value = keep;
    else if (live) select.value = live.symbol;
  }

  accountOptions() {
    for (const select of document.querySelectorAll('select[name=account]')) {
      const keep = select.value;
      select.replaceChildren(...this.state.accounts.map((a) => el('option', {}, a)));
      if (keep && this.state.accounts.includes(keep)) select.value = keep;
    }
  }

  async loadAll() {
    this.accountOptions();
    await Promise.all(this.state.accounts.map((a) => this.load(a)));
  }

  async load(account) {
    const [summary, positions, orders] = await Promise.allSettled([
      api('GET', `/accounts/${encodeURIComponent(account)}`),
      api('GET', `/accounts/${encodeURIComponent(account)}/positions`),
      api('GET', `/accounts/${encodeURIComponent(account)}/orders`, undefined, { limit: 100 }),
    ]);
    if (summary.status === 'fulfilled') {
      this.summaries.set(account, summary.value);
      this.equity.point(account, summary.value.equity, summary.value.market_ts);
      if (num(summary.value.fills) > 0) this.history(account);
    } else {
      this.summaries.set(account, { account, error: errorText(summary.reason) });
    }
    if (positions.status === 'fulfilled') this.positions.set(account, positions.value.positions || []);
    if (orders.status === 'fulfilled') {
      for (const o of orders.value.orders || []) {
        if (isOpen(o.status)) this.orders.set(o.id, o);
        else this.orders.delete(o.id);
        if (num(o.filled_qty) > 0 && !this.fills.some((f) => f.order_id === o.id)) {
          this.fills.push({ order_id: o.id, account: o.account, symbol: o.symbol, side: o.side, qty: o.filled_qty,
            price: o.avg_fill_price, commission: o.commission, market_ts: o.last_fill_bar_ts || o.updated_ts, seed: true });
        }
      }
      this.fills.sort((a, b) => num(b.market_ts) - num(a.market_ts));
      this.fills.splice(MAX_FILLS);
      this.state.emit('fills');
    }
    this.render();
  }

  /** The equity curve before the page opened, from the analytics account report
   * (none for an account without fills yet). */
  async history(account) {
    if (this.seeded.has(account)) return;
    this.seeded.add(account);
    try {
      const rep = await api('POST', '/analytics/report', { source: { account: { account } }, format: 'json' });
      this.equity.seed(account, (rep.backtest && rep.backtest.equity) || []);
    } catch {
      this.seeded.delete(account); // no history yet: try again on the next load
    }
  }

  onUpdate(u) {
    if (!u || !u.summary) return;
    const account = u.summary.account;
    this.state.addAccount(account, false);
    this.summaries.set(account, u.summary);
    this.positions.set(account, u.positions || []);
    this.equity.point(account, u.summary.equity, u.summary.market_ts);
    this.render();
  }

  onOrder(ev) {
    if (!ev || !ev.event) return;
    const order = ev.order;
    if (order) {
      this.state.addAccount(order.account, false);
      if (isOpen(order.status)) this.orders.set(order.id, order);
      else this.orders.delete(order.id);
    } else if (ev.order_id && (ev.event === 'order_canceled' || ev.event === 'order_expired')) {
      this.orders.delete(ev.order_id);
    }
    this.renderOrders();
  }

  onFillEvent(ev) {
    const f = ev && (ev.fill || ev);
    if (!f || !f.fill_id) return;
    if (this.fills.some((x) => x.fill_id === f.fill_id)) return;
    const seeded = this.fills.findIndex((x) => x.seed && x.order_id === f.order_id);
    if (seeded >= 0) this.fills.splice(seeded, 1);
    this.fills.unshift(f);
    this.fills.splice(MAX_FILLS);
    const open = this.orders.get(f.order_id);
    if (open) {
      if (isOpen(f.status)) this.orders.set(f.order_id, { ...open, status: f.status, filled_qty: f.cum_qty });
      else this.orders.delete(f.order_id);
    }
    this.renderFills();
    this.renderOrders();
  }

  render() {
    this.renderSummaries();
    this.renderPositions();
    this.renderOrders();
    this.renderFills();
  }

  renderSummaries() {
    table($('#summaries'), ['account', 'equity', 'cash', 'realized', 'unrealized', 'daily', 'positions'],
      this.state.accounts.map((a) => {
        const s = this.summaries.get(a);
        if (!s || s.error) return el('tr', { dataset: { account: a } }, el('td', {}, a), el('td', { colspan: 6, class: 'dim' }, s ? s.error : '…'));
        return el('tr', { dataset: { account: a } }, el('td', {}, a), numCell(money(s.equity)), numCell(money(s.cash)),
          pnlCell(s.realized_pnl), pnlCell(s.unrealized_pnl), pnlCell(s.daily_pnl), numCell(s.open_positions));
      }));
  }

  renderPositions() {
    const rows = [];
    for (const [account, list] of this.positions) {
      for (const p of list) {
        if (num(p.qty) === 0 && num(p.realized_pnl) === 0) continue;
        const mark = num(p.last_price);
        const unrealized = (mark - num(p.avg_price)) * num(p.qty);
        rows.push(el('tr', { dataset: { account, symbol: p.symbol } }, el('td', {}, account), el('td', {}, p.symbol),
          numCell(p.qty), numCell(price(p.avg_price)), numCell(price(p.last_price)),
          pnlCell(p.unrealized_pnl ?? unrealized), pnlCell(p.realized_pnl),
          el('td', {}, [p.stop_loss && `SL ${p.stop_loss}`, p.take_profit && `TP ${p.take_profit}`].filter(Boolean).join(' '))));
      }
    }
    table($('#positions'), ['account', 'symbol', 'qty', 'avg', 'last', 'unrealized', 'realized', 'protection'], rows);
  }

  renderOrders() {
    const rows = [...this.orders.values()].sort((a, b) => num(b.created_ts) - num(a.created_ts)).map((o) =>
      el('tr', { dataset: { order: o.id, status: o.status } }, el('td', {}, o.account), el('td', {}, o.symbol), el('td', {}, o.side),
        el('td', {}, o.type), numCell(o.qty), numCell(o.filled_qty), numCell(o.limit_price ?? o.stop_price ?? ''), el('td', {}, o.tif),
        el('td', {}, o.status),
        el('td', {}, el('button', { type: 'button', class: 'danger', dataset: { cancel: o.id }, onclick: (e) => this.cancel(o.id, e.target) }, 'cancel'))));
    table($('#orders'), ['account', 'symbol', 'side', 'type', 'qty', 'filled', 'price', 'tif', 'status', ''], rows);
  }

  renderFills() {
    table($('#fills'), ['time', 'account', 'symbol', 'side', 'qty', 'price', 'commission'],
      this.fills.map((f) => el('tr', { dataset: { order: f.order_id, symbol: f.symbol } }, el('td', {}, time(f.market_ts)), el('td', {}, f.account),
        el('td', {}, f.symbol), el('td', { class: f.side === 'buy' ? 'pos' : 'neg' }, f.side), numCell(f.qty), numCell(price(f.price)),
        numCell(money(f.commission, 4)))));
  }

  async cancel(id, button) {
    button.disabled = true;
    try {
      const order = await api('DELETE', `/orders/${encodeURIComponent(id)}`);
      if (!isOpen(order.status)) this.orders.delete(id);
      this.renderOrders();
    } catch (e) {
      button.disabled = false;
      say($('#ticket-msg'), `cancel ${id}: ${errorText(e)}`, true);
    }
  }

  async submit() {
    const f = $('#ticket');
    const account = f.account.value;
    const type = f.type.value;
    const body = {
      client_order_id: clientId('ui'),
      symbol: f.symbol.value,
      side: f.side.value,
      type,
      qty: f.qty.value.trim(),
      tif: f.tif.value,
      reduce_only: f.reduce_only.checked,
    };
    if (type === 'limit' || type === 'stop_limit') body.limit_price = f.limit_price.value.trim();
    if (type === 'stop' || type === 'stop_limit') body.stop_price = f.stop_price.value.trim();
    const msg = $('#ticket-msg');
    say(msg, 'sending…');
    try {
      const order = await api('POST', `/accounts/${encodeURIComponent(account)}/orders`, body);
      if (isOpen(order.status)) this.orders.set(order.id, order);
      this.renderOrders();
      msg.dataset.order = order.id;
      const why = order.reason ? ` (${order.reason})` : '';
      say(msg, `${order.id}: ${order.status}${why}`, order.status === 'rejected');
    } catch (e) {
      say(msg, errorText(e), true);
    }
  }
}

export const isOpen = (status) => status === 'new' || status === 'accepted' || status === 'partially_filled';
