// Service health (instances, requests, req/s, errors, processing time, and the
// durable consumers' lag when the monitor runs) from /api/v1/services,
// refreshed every 5 s and on each SYSTEM_HEALTH event, and the alerts feed.
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
    const { instances, consumers } = normalize(res);
    const now = Date.now() / 1000;
    const rows = instances.map((i) => {
      const prev = this.prev.get(i.id);
      const rate = prev && now > prev.at ? (i.requests - prev.requests) / (now - prev.at) : null;
      this.prev.set(i.id, { requests: i.requests, at: now });
      return el('tr', { dataset: { service: i.name } }, el('td', { title: `${i.name} ${i.version}` }, i.name),
        el('td', { title: i.id }, String(i.id).slice(-6)),
        el('td', { class: 'num' }, i.requests), el('td', { class: 'num' }, rate == null ? '–' : rate.toFixed(1)),
        el('td', { class: 'num ' + (i.errors ? 'neg' : '') }, i.errors),
        el('td', { class: 'num' }, i.requests ? duration(i.avgNs) : '–'));
    });
    rows.sort((a, b) => a.dataset.service.localeCompare(b.dataset.service));
    table($('#services'), ['service', 'instance', 'requests', 'req/s', 'errors', 'avg'], rows);
    $('#services').dataset.source = res.source;
    if (consumers.length) {
      $('#services').append(el('tbody', {}, el('tr', {}, el('th', { colspan: 6 }, 'durable consumers: pending / unacked / redelivered')),
        consumers.map((c) => el('tr', { dataset: { consumer: c.consumer, lag: c.pending } }, el('td', { colspan: 3 }, `${c.stream} / ${c.consumer}`),
          el('td', { colspan: 3, class: 'num ' + (c.pending > 1000 ? 'neg' : '') }, `${c.pending} / ${c.ack_pending} / ${c.redelivered}`)))));
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

/**
 * Instances and durable consumers from `/api/v1/services`, whichever answered:
 * the monitor (`monitor.status`: services with their instances, JetStream
 * streams with their consumers) or `$SRV` discovery (INFO and STATS replies).
 */
export function normalize(res) {
  const instances = [];
  const consumers = [];
  if (res.source === 'monitor') {
    for (const status of res.services || []) {
      for (const svc of status.services || []) {
        for (const i of svc.instances || []) {
          instances.push({ name: svc.name, version: i.version || '', id: i.id, requests: i.requests || 0,
            errors: i.errors || 0, avgNs: i.average_processing_ns || 0 });
        }
      }
      for (const stream of (status.jetstream && status.jetstream.streams) || []) {
        for (const c of stream.consumers || []) {
          consumers.push({ stream: stream.name, consumer: c.name, pending: c.pending ?? c.lag ?? 0,
            ack_pending: c.ack_pending ?? 0, redelivered: c.redelivered ?? 0 });
        }
      }
    }
  } else {
    const stats = new Map((res.stats || []).map((s) => [s.id, s]));
    for (const info of res.services || []) {
      const endpoints = (stats.get(info.id) || {}).endpoints || [];
      const requests = endpoints.reduce((n, e) => n + (e.num_requests || 0), 0);
      const ns = endpoints.reduce((n, e) => n + (e.processing_time || 0), 0);
      instances.push({ name: info.name, version: info.version || '', id: info.id || '', requests,
        errors: endpoints.reduce((n, e) => n + (e.num_errors || 0), 0), avgNs: requests ? ns / requests : 0 });
    }
  }
  return { instances, consumers };
}

/** Nanoseconds as µs, ms or s. */
function duration(ns) {
  if (ns < 1e6) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
