// The WebSocket /ws: subscriptions that survive reconnects (re-sent on every
// open), reconnect with exponential back-off and jitter (0.5 s doubling to
// 15 s), and one handler list per channel.
import { token } from './api.js';

export class Live {
  constructor(onState) {
    this.subs = new Map();      // JSON of the subscription -> subscription
    this.handlers = new Map();  // channel -> [fn(data, message)]
    this.noticeHandlers = [];
    this.onState = onState || (() => {});
    this.delay = 500;
    this.ws = null;
    this.stopped = false;
  }

  connect() {
    if (this.stopped) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    // The credential goes in a sub-protocol (`bearer.<token>`), not in the URL,
    // so it stays out of proxy and server logs; `trader` is the one echoed back.
    const ws = new WebSocket(`${proto}//${location.host}/ws`, ['trader', `bearer.${token() || ''}`]);
    this.ws = ws;
    this.onState('connecting');
    ws.onopen = () => {
      this.delay = 500;
      this.onState('open');
      for (const s of this.subs.values()) ws.send(JSON.stringify({ op: 'subscribe', ...s }));
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.channel) {
        for (const h of this.handlers.get(msg.channel) || []) {
          try { h(msg.data, msg); } catch (e) { console.error(msg.channel, e); }
        }
      } else if (msg.notice) {
        for (const h of this.noticeHandlers) h(msg);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.onState('closed');
      if (this.stopped) return;
      const wait = this.delay * (0.75 + Math.random() * 0.5);
      this.delay = Math.min(this.delay * 2, 15000);
      setTimeout(() => this.connect(), wait);
    };
    ws.onerror = () => ws.close();
  }

  on(channel, fn) {
    if (!this.handlers.has(channel)) this.handlers.set(channel, []);
    this.handlers.get(channel).push(fn);
  }

  onNotice(fn) { this.noticeHandlers.push(fn); }

  /** `subscribe({channel:'quotes', symbol:'SIM-A'})`; idempotent. */
  subscribe(sub) {
    const clean = Object.fromEntries(Object.entries(sub).filter(([, v]) => v !== undefined && v !== null));
    const key = JSON.stringify(clean);
    if (this.subs.has(key)) return;
    this.subs.set(key, clean);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: 'subscribe', ...clean }));
  }

  unsubscribe(sub) {
    const clean = Object.fromEntries(Object.entries(sub).filter(([, v]) => v !== undefined && v !== null));
    const key = JSON.stringify(clean);
    if (!this.subs.delete(key)) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: 'unsubscribe', ...clean }));
  }
}

/** The payload of an event as the gateway forwards it (envelope or bare). */
export const payload = (data) => (data && typeof data === 'object' && 'data' in data && 'type' in data ? data.data : data);
