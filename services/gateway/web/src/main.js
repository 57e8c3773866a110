// The dashboard: one page a trader keeps open. Every panel reads REST once and
// then follows the WebSocket; the accounts it shows are those it sees in
// events and strategies, plus any added by hand (kept in localStorage).
import { takeTokenFromUrl, token, setToken, clearToken, login, api, whenUnauthorized } from './api.js';
import { Live } from './live.js';
import { Market } from './market.js';
import { Accounts } from './accounts.js';
import { Strategies } from './strategies.js';
import { Risk } from './risk.js';
import { Backtests } from './backtest.js';
import { Health } from './health.js';
import { $, say, errorText } from './util.js';

const ACCOUNTS = 'trader.accounts';

class State {
  constructor() {
    this.symbols = [];
    this.kinds = [];
    this.role = null;
    this.marks = new Map();
    this.fills = []; // recent fills, newest first (accounts panel and chart markers)
    this.listeners = new Map();
    let saved = [];
    try { saved = JSON.parse(localStorage.getItem(ACCOUNTS) || '[]'); } catch { saved = []; }
    this.accounts = [...new Set(['paper', ...saved])];
    this.pending = null;
  }

  on(what, fn) {
    if (!this.listeners.has(what)) this.listeners.set(what, []);
    this.listeners.get(what).push(fn);
  }

  emit(what) {
    for (const fn of this.listeners.get(what) || []) {
      try { const r = fn(); if (r && r.catch) r.catch((e) => console.error(what, e)); } catch (e) { console.error(what, e); }
    }
  }

  /** Follows one more account (`remember`: keep it for the next visit). */
  addAccount(account, remember = true) {
    if (!account) return;
    if (remember) {
      let saved = [];
      try { saved = JSON.parse(localStorage.getItem(ACCOUNTS) || '[]'); } catch { saved = []; }
      if (!saved.includes(account)) localStorage.setItem(ACCOUNTS, JSON.stringify([...saved, account]));
    }
    if (this.accounts.includes(account)) return;
    this.accounts.push(account);
    // Several new accounts in one burst of events: one reload.
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.emit('accounts'), 50);
  }
}

/** admin, trader or viewer: what the credential may do (the UI hides what it may not). */
async function probeRole(state) {
  try {
    await api('GET', '/keys');
    state.role = 'admin';
  } catch (e) {
    state.role = e.status === 403 ? 'trader-or-viewer' : null;
  }
  $('#who').textContent = state.role === 'admin' ? 'admin' : '';
  state.emit('role');
}

function showLogin(message) {
  $('#login').hidden = false;
  if (message) say($('#login-error'), message, true);
}

async function start() {
  takeTokenFromUrl();
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      if (f.key.value.trim()) setToken(f.key.value.trim());
      else await login(f.username.value, f.password.value);
      location.reload();
    } catch (err) {
      say($('#login-error'), errorText(err), true);
    }
  });
  if (!token()) { showLogin(); return; }
  whenUnauthorized(() => { clearToken(); showLogin('The key or session is not valid (any more): sign in again.'); });

  const state = new State();
  let wasOpen = false;
  let resync = null;
  // Events missed while away (a reconnect) or dropped for a slow tab: read
  // the state again over REST, once per burst.
  const catchUp = () => {
    clearTimeout(resync);
    resync = setTimeout(() => { state.emit('accounts'); state.emit('resync'); }, 300);
  };
  const live = new Live((s) => {
    const pill = $('#ws-state');
    pill.textContent = s === 'open' ? 'live' : s;
    pill.className = 'pill ' + s;
    document.body.dataset.ws = s;
    if (s === 'open' && wasOpen) catchUp();
    if (s === 'open') wasOpen = true;
  });
  let dropped = 0;
  live.onNotice((n) => {
    if (n.notice === 'dropped') {
      dropped += n.count || 0;
      $('#ws-state').title = `${dropped} events dropped (this tab was slow); state re-read`;
      catchUp();
    } else if (n.notice === 'error') {
      console.warn('ws', n.message);
    }
  });
  window.trader = { state, live }; // for people poking around in the console

  const market = new Market(state, live);
  const accounts = new Accounts(state, live);
  const strategies = new Strategies(state, live);
  new Risk(state, live);
  const backtests = new Backtests(state);
  const health = new Health(state, live);
  void backtests;
  live.connect();

  const results = await Promise.allSettled([
    market.load(),
    api('GET', '/strategy-kinds').then((r) => { state.kinds = r.kinds || []; state.emit('kinds'); }),
    strategies.load(),
    probeRole(state),
  ]);
  for (const r of results) if (r.status === 'rejected') console.error(r.reason);
  state.emit('accounts');
  health.start();
  setInterval(() => strategies.load().catch(() => {}), 10000);
  state.on('resync', () => strategies.load());
  void accounts;
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  console.error(e);
  document.body.dataset.error = errorText(e);
});
