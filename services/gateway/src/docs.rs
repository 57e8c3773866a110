//! `/api/docs`: a page that reads `/api/openapi.json` and lists every route
//! with its parameters and schemas. Plain HTML and script, no CDN.

pub const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trader API</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.5em}
.op{margin:.6em 0;border:1px solid #ddd;border-radius:4px}
.op summary{cursor:pointer;padding:.4em .6em;font-family:monospace}
.m{display:inline-block;width:4.5em;font-weight:bold}
.get{color:#0a6}.post{color:#06c}.put{color:#a60}.delete{color:#c22}
.role{float:right;color:#777;font-family:system-ui}
pre{background:#f6f6f6;padding:.6em;overflow:auto;margin:0 .6em .6em}
p{margin:.3em .6em}
</style></head>
<body><h1 id="title">trader API</h1>
<p>Credentials: <code>Authorization: Bearer &lt;API key or token&gt;</code>. Errors:
<code>{"code","kind","message","details"}</code> with the HTTP status of <code>code</code>.
Document: <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<div id="ops">loading…</div>
<script>
fetch('/api/openapi.json').then(r => r.json()).then(doc => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[(op.tags || ['other'])[0]] ||= []).push([method, path, op]);
    }
  }
  const out = document.getElementById('ops');
  out.textContent = '';
  const text = (tag, t, cls) => { const e = document.createElement(tag); e.textContent = t; if (cls) e.className = cls; return e; };
  const resolve = s => { const seen = new Set(); const walk = v => {
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') {
        if (v.$ref && !seen.has(v.$ref)) { seen.add(v.$ref); const name = v.$ref.split('/').pop(); const r = walk(doc.components.schemas[name] || {}); seen.delete(v.$ref); return r; }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      }
      return v; }; return walk(s); };
  for (const [tag, ops] of Object.entries(byTag)) {
    out.appendChild(text('h2', tag));
    for (const [method, path, op] of ops) {
      const d = document.createElement('details'); d.className = 'op';
      const s = document.createElement('summary');
      s.appendChild(text('span', method.toUpperCase(), 'm ' + method));
      s.appendChild(document.createTextNode(path + '  '));
      s.appendChild(text('span', op['x-role'] ? 'role: ' + op['x-role'] : 'no auth', 'role'));
      d.appendChild(s);
      d.appendChild(text('p', op.summary + (op['x-nats-subject'] ? '  (NATS ' + op['x-nats-subject'] + ')' : '')));
      if (op.parameters) d.appendChild(text('p', 'parameters: ' + op.parameters.map(p => p.name + ' (' + p.in + ')').join(', ')));
      const body = op.requestBody && op.requestBody.content['application/json'].schema;
      if (body) { d.appendChild(text('p', 'request body')); d.appendChild(text('pre', JSON.stringify(resolve(body), null, 1))); }
      const ok = op.responses['200'] && op.responses['200'].content && op.responses['200'].content['application/json'];
      if (ok) { d.appendChild(text('p', 'response')); d.appendChild(text('pre', JSON.stringify(resolve(ok.schema), null, 1))); }
      out.appendChild(d);
    }
  }
});
</script></body></html>
"#;
