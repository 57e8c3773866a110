//! nats-server's own view through its HTTP monitoring port: `/varz`
//! (name, version, client connections, cluster), `/routez` (cluster peers; a
//! route pool holds several connections per peer, shown once) and `/leafz`
//! (leaf node links). The HTTP client is [`bus::observe::get`].

use bus::api::monitor::{LeafLink, RoutePeer, ServerView};
use serde_json::Value;

async fn get_json(base: &str, path: &str) -> Result<Value, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let (status, body) = bus::observe::get(&url).await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("{url} answered HTTP {status}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url}: not JSON: {e}"))
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
