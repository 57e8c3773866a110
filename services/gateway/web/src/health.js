// Service health (instances, requests, errors, processing time and consumer
// lag from /api/v1/services, refreshed every 5 s and on health events) and
// the alerts feed.
import { api } from './api.js';
import { payload } from './live.js';
import { $, el, table, time, errorText } from './util.js';

export class Health {
  constructor(state, live) {
    this.state = state;
    this.prev = new Map(); // instance id -> {requests, at}
    live.on('health', () => this.load().catch(() => {}));
    live.on('alerts', (d, msg) => this.alert(payload(d), msg.data));
    live.subscribe({ channel: 'alerts' });
    live.subscribe({ channel: 'health' });
  }

  start() {
    this.load().catch(() => {});
    setInterval(() => this.load().catch(() => {}), 5000);
  }

  async load() {
    let res;
    try { res = await api('GET', '/services'); } catch (e) {
      table($('#services'), ['error'], [el('tr', {}, el('td', { class: 'error' }, errorText(e)))]);
      return;
    }
    const stats = new Map((res.stats || []).map((s) => [s.id, s]));
    const now = Date.now() / 1000;
    // Discovery lists `$SRV.INFO` replies; a monitor's one answer lists them inside.
    const first = (res.services || [])[0] || {};
    const infos = res.source === 'monitor' ? (first.services || first.instances || []) : (res.services || []);
    const rows = infos.map((info) => {
      const st = stats.get(info.id) || info.stats || {};
      const endpoints = st.endpoints || [];
      const requests = endpoints.reduce((n, e) => n + (e.num_requests || 0), 0);
      const errors = endpoints.reduce((n, e) => n + (e.num_errors || 0), 0);
      const ns = endpoints.reduce((n, e) => n + (e.processing_time || 0), 0);
      const prev = this.prev.get(info.id);
      const rate = prev && now > prev.at ? (requests - prev.requests) / (now - prev.at) : null;
      this.prev.set(info.id, { requests, at: now });
      const lag = lagText(info, st);
      return el('tr', { dataset: { service: info.name } }, el('td', { title: `${info.name} ${info.version || ''}` }, info.name),
        el('td', { title: info.id }, String(info.id || '').slice(-6)),
        el('td', { class: 'num' }, requests), el('td', { class: 'num' }, rate == null ? '–' : rate.toFixed(1)),
        el('td', { class: 'num ' + (errors ? 'neg' : '') }, errors),
        el('td', { class: 'num' }, requests ? duration(ns / requests) : '–'),
        el('td', {}, lag));
    });
    rows.sort((a, b) => a.dataset.service.localeCompare(b.dataset.service));
    table($('#services'), ['service', 'instance', 'requests', 'req/s', 'errors', 'avg', 'consumer lag'], rows);
    $('#services').dataset.source = res.source;
    // Durable consumers' lag, when the gateway reports it.
    const consumers = res.consumers || first.consumers || [];
    if (consumers.length) {
      $('#services').append(el('tbody', {}, el('tr', {}, el('th', { colspan: 7 }, 'consumer lag (pending / unacked / redelivered)')),
        consumers.map((c) => el('tr', { dataset: { consumer: c.consumer } }, el('td', { colspan: 4 }, `${c.stream} / ${c.consumer}`),
          el('td', { colspan: 3, class: 'num' }, `${c.pending ?? c.num_pending ?? 0} / ${c.ack_pending ?? c.num_ack_pending ?? 0} / ${c.redelivered ?? c.num_redelivered ?? 0}`)))));
    }
  }

  alert(a, envelope) {
    if (!a) return;
    const severity = a.severity || (envelope && envelope.type) || 'info';
    const ts = (envelope && envelope.ts) || a.ts;
    const text = a.message || a.reason || JSON.stringify(a);
    const li = el('li', { class: String(severity).toLowerCase() }, el('time', {}, time(ts)),
      a.account ? el('b', {}, `${a.account} `) : '', text);
    const feed = $('#alerts');
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastChild.remove();
  }
}

/** Consumer lag as the runner reports it in a service's stats or metadata, if any. */
function lagText(info, st) {
  const lag = st.consumer_lag || (st.data && st.data.consumers) || (info.metadata && info.metadata.consumer_lag);
  if (!lag) return '–';
  const list = Array.isArray(lag) ? lag : Object.entries(lag).map(([consumer, v]) => ({ consumer, ...(typeof v === 'object' ? v : { pending: v }) }));
  return list.map((c) => `${c.consumer || c.name}: ${c.pending ?? c.num_pending ?? 0} pending${c.ack_pending ? `, ${c.ack_pending} unacked` : ''}`).join('; ');
}

/** Nanoseconds as µs, ms or s. */
function duration(ns) {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
