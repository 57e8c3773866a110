//! The embedded nats-server of `trader run`: `nats/dev.conf` (compiled into the
//! binary, written next to the store) with the store under the data dir.

use std::path::Path;

use anyhow::Context;
use natsproc::{NatsServer, ServerOptions};

const DEV_CONF: &str = include_str!("../../../nats/dev.conf");

/// The single-node server (`nats/dev.conf`).
pub async fn start(
    data_dir: &Path,
    port: u16,
    monitor_port: u16,
    show_logs: bool,
) -> anyhow::Result<NatsServer> {
    start_with_conf(
        data_dir,
        "dev.conf",
        DEV_CONF,
        port,
        monitor_port,
        show_logs,
    )
    .await
}

/// A server from config `text`, written to `<data-dir>/nats/<file>`, with its
/// store in `<data-dir>/nats/jetstream` (the edge's leaf node uses this too).
pub async fn start_with_conf(
    data_dir: &Path,
    file: &str,
    text: &str,
    port: u16,
    monitor_port: u16,
    show_logs: bool,
) -> anyhow::Result<NatsServer> {
    let nats_dir = data_dir.join("nats");
    std::fs::create_dir_all(&nats_dir)
        .with_context(|| format!("cannot create {}", nats_dir.display()))?;
    let conf = nats_dir.join(file);
    std::fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))?;
    let server = NatsServer::start_with(ServerOptions {
        config: Some(conf),
        port: Some(port),
        store_dir: Some(nats_dir.join("jetstream")),
        monitor_port: Some(monitor_port),
        show_logs,
        ..Default::default()
    })
    .await
    .with_context(|| format!("cannot start the embedded nats-server on port {port} (another server there? use --nats-port or --nats-url)"))?;
    Ok(server)
}
