//! Config text of a hub (JetStream domain, leaf node listener) and of a leaf
//! (its own domain, one remote, subjects kept off the link): `trader run
//! --edge` and the tests' hub and leaf servers render the same text.

/// Config of a hub: accepts leaf connections on `leaf_port`.
#[derive(Debug, Clone)]
pub struct HubConf {
    pub server_name: String,
    pub domain: String,
    pub leaf_port: u16,
    /// `sync_interval: always` (the shipped configs) instead of the default.
    pub fsync_always: bool,
}

impl HubConf {
    pub fn render(&self) -> String {
        format!(
            "server_name: {name}\nmax_payload: 8MB\n{js}\nleafnodes {{\n  listen: \"127.0.0.1:{port}\"\n}}\n",
            name = self.server_name,
            js = jetstream_block(&self.domain, self.fsync_always),
            port = self.leaf_port,
        )
    }
}

/// Config of a leaf node: its own JetStream domain and one remote (the hub).
#[derive(Debug, Clone)]
pub struct LeafConf {
    pub server_name: String,
    pub domain: String,
    /// `nats-leaf://host:port` of the hub's leaf node listener.
    pub hub_url: String,
    /// Subjects this server never sends to the hub.
    pub deny_exports: Vec<String>,
    /// Subjects this server never takes from the hub.
    pub deny_imports: Vec<String>,
    pub fsync_always: bool,
}

impl LeafConf {
    pub fn render(&self) -> String {
        format!(
            "server_name: {name}\nmax_payload: 8MB\n{js}\nleafnodes {{\n  reconnect: \"1s\"\n  remotes: [\n    {{\n      url: \"{url}\"\n      deny_exports: {exports}\n      deny_imports: {imports}\n    }}\n  ]\n}}\n",
            name = self.server_name,
            js = jetstream_block(&self.domain, self.fsync_always),
            url = self.hub_url,
            exports = conf_list(&self.deny_exports),
            imports = conf_list(&self.deny_imports),
        )
    }
}

fn jetstream_block(domain: &str, fsync_always: bool) -> String {
    let sync = if fsync_always {
        "\n  sync_interval: always"
    } else {
        ""
    };
    format!("jetstream {{\n  domain: {domain}\n  max_file_store: 32GB{sync}\n}}")
}

fn conf_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}
