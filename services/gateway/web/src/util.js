// DOM and number helpers. Money arrives as decimal strings; it is shown as
// given (rounded for display only) and never added up here except for charts.

/** `el('td', {class: 'num'}, '12.5')`: an element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** A table: header row and rows of cells (strings, numbers or nodes). */
export function table(node, headers, rows) {
  node.replaceChildren(
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows),
  );
}

export const num = (v) => (v === null || v === undefined || v === '' ? NaN : Number(v));

/** A decimal string for display: at most `dp` decimals, thousands grouped. */
export function money(v, dp = 2) {
  let n = num(v);
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) < 0.5 * 10 ** -dp) n = 0; // no "-0.00"
  return n.toLocaleString('en-US', { minimumFractionDigits: dp, maximumFractionDigits: dp });
}

export function price(v) {
  const n = num(v);
  if (!Number.isFinite(n)) return '–';
  const dp = Math.abs(n) >= 1000 ? 2 : Math.abs(n) >= 1 ? 2 : 5;
  return n.toLocaleString('en-US', { minimumFractionDigits: dp, maximumFractionDigits: dp });
}

/** A number cell, green when positive, red when negative (for P&L). */
export function pnlCell(v) {
  const n = num(v);
  return el('td', { class: 'num ' + (n > 0 ? 'pos' : n < 0 ? 'neg' : '') }, money(v));
}

export const numCell = (text) => el('td', { class: 'num' }, text);

/** UTC nanoseconds (number) -> seconds. */
export const secs = (ns) => num(ns) / 1e9;

export function time(ns) {
  const d = new Date(num(ns) / 1e6);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace('T', ' ').slice(0, 19);
}

/** '1s', '5m', '1d' -> seconds. */
export function tfSeconds(tf) {
  const m = /^(\d+)([smhdw])$/.exec(tf || '');
  if (!m) return 60;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
}

export function errorText(e) {
  return e && e.message ? e.message : String(e);
}

/** Shows `text` in a message node, red when `error`. */
export function say(node, text, error = false) {
  node.textContent = text;
  node.classList.toggle('error', !!error);
}

/** A client order id that is unique enough for one person clicking. */
export const clientId = (prefix = 'ui') => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
