//! nats-server's own view through its HTTP monitoring port: `/varz`
//! (name, version, client connections, cluster), `/routez` (cluster peers; a
//! route pool holds several connections per peer, shown once) and `/leafz`
//! (leaf node links), over a minimal HTTP/1.1 client (one GET per
//! connection; nats-server answers large pages chunked).

use std::time::Duration;

use bus::api::monitor::{LeafLink, RoutePeer, ServerView};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Larger pages are refused (a big /routez is tens of kB).
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

async fn get_json(base: &str, path: &str) -> Result<Value, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let (status, body) = tokio::time::timeout(HTTP_TIMEOUT, http_get(&url))
        .await
        .map_err(|_| format!("{url}: timed out"))?
        .map_err(|e| format!("{url}: {e}"))?;
    if status != 200 {
        return Err(format!("{url} answered HTTP {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
}

/// `GET url` (`http://host:port/path`): status and body, chunked or not.
async fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (host, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let mut stream = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    (&mut stream)
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| e.to_string())?;
    if raw.len() > MAX_RESPONSE {
        return Err("response too large".into());
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed response")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = &raw[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed status line")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body).ok_or("malformed chunked body")?
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// The body of a `Transfer-Encoding: chunked` response.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn address(v: &Value) -> String {
    format!("{}:{}", str_of(&v["ip"]), v["port"].as_u64().unwrap_or(0))
}

/// The view of the server at `url`; `reachable: false` (with the reason) when
/// `/varz` does not answer. `/routez` and `/leafz` failing leave their lists empty.
pub async fn view(url: &str) -> ServerView {
    let mut view = ServerView {
        url: url.to_string(),
        reachable: false,
        error: None,
        server_name: String::new(),
        version: String::new(),
        connections: 0,
        cluster: None,
        cluster_peers: Vec::new(),
        leaf_links: Vec::new(),
    };
    let (varz, routez, leafz) = tokio::join!(
        get_json(url, "/varz"),
        get_json(url, "/routez"),
        get_json(url, "/leafz")
    );
    let varz = match varz {
        Ok(v) => v,
        Err(e) => {
            view.error = Some(e);
            return view;
        }
    };
    view.reachable = true;
    view.server_name = str_of(&varz["server_name"]);
    view.version = str_of(&varz["version"]);
    view.connections = varz["connections"].as_u64().unwrap_or(0);
    view.cluster = varz["cluster"]["name"].as_str().map(str::to_string);
    if let Ok(routez) = routez {
        for route in routez["routes"].as_array().into_iter().flatten() {
            let name = route["remote_name"]
                .as_str()
                .or_else(|| route["remote_id"].as_str())
                .unwrap_or_default()
                .to_string();
            if !view.cluster_peers.iter().any(|p| p.name == name) {
                view.cluster_peers.push(RoutePeer {
                    name,
                    address: address(route),
                });
            }
        }
        view.cluster_peers.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if let Ok(leafz) = leafz {
        for leaf in leafz["leafs"].as_array().into_iter().flatten() {
            view.leaf_links.push(LeafLink {
                name: str_of(&leaf["name"]),
                address: address(leaf),
                account: str_of(&leaf["account"]),
            });
        }
        view.leaf_links.sort_by(|a, b| a.name.cmp(&b.name));
    }
    view
}

#[cfg(test)]
mod tests {
    #[test]
    fn dechunks() {
        let body = b"4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n";
        assert_eq!(super::dechunk(body).unwrap(), b"{\"a\":1}");
        assert!(super::dechunk(b"5\r\nab").is_none());
        assert!(super::dechunk(b"zz\r\n").is_none());
    }
}
