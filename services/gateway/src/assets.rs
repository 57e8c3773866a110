//! Static files of the dashboard, embedded in the binary (no CDN, no network
//! at run time). `/` is `index.html`; `/assets/<file>` the rest.
//!
//! Placeholder: a minimal page until the dashboard lands (it replaces this file).

const INDEX: &[u8] = br#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trader</title></head>
<body><h1>trader gateway</h1>
<p>REST API: <a href="/api/docs">/api/docs</a> (<a href="/api/openapi.json">OpenAPI</a>); WebSocket: <code>/ws</code>.</p>
</body></html>
"#;

/// The embedded file at `path` (`/`, `/index.html`, `/assets/...`): its MIME
/// type and bytes. Anything else, including `..` tricks, is `None` (404).
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    match path {
        "/" | "/index.html" => Some(("text/html; charset=utf-8", INDEX)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_no_traversal() {
        assert!(asset("/").is_some());
        assert!(asset("/assets/../Cargo.toml").is_none());
        assert!(asset("/../../etc/passwd").is_none());
    }
}
