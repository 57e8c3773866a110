// REST client: the credential (an API key or a JWT from the login) and JSON
// requests to /api/v1. The key comes from the URL `trader run` prints
// (`/?key=...`) once: it is kept in sessionStorage (this tab only) and removed
// from the address bar, so it is not left in the history or shared by a copy.

const STORE = 'trader.token';

export function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const key = url.searchParams.get('key') || url.searchParams.get('token');
  if (key) {
    sessionStorage.setItem(STORE, key);
    url.searchParams.delete('key');
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + (url.search ? url.search : '') + url.hash);
  }
}

export const token = () => sessionStorage.getItem(STORE);
export const setToken = (t) => sessionStorage.setItem(STORE, t);
export const clearToken = () => sessionStorage.removeItem(STORE);

/** An error reply: HTTP status and the service's JSON error body. */
export class ApiError extends Error {
  constructor(status, body) {
    const text = body && (body.message || body.error || body.description);
    super(text ? `${status}: ${text}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

let onUnauthorized = () => {};
export const whenUnauthorized = (f) => { onUnauthorized = f; };

/** `api('GET', '/symbols')`, `api('POST', '/backtests', {...})`. */
export async function api(method, path, body, query) {
  let url = '/api/v1' + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data;
}

export async function login(username, password) {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  setToken(data.token);
  return data;
}
