//! The embedded nats-server of `trader run`: `nats/dev.conf` (compiled into the
//! binary, written next to the store) with the store under the data dir.

use std::path::Path;

use anyhow::Context;
use testkit::{NatsServer, ServerOptions};

const DEV_CONF: &str = include_str!("../../../nats/dev.conf");

pub async fn start(
    data_dir: &Path,
    port: u16,
    monitor_port: u16,
    show_logs: bool,
) -> anyhow::Result<NatsServer> {
    let nats_dir = data_dir.join("nats");
    std::fs::create_dir_all(&nats_dir)
        .with_context(|| format!("cannot create {}", nats_dir.display()))?;
    let conf = nats_dir.join("dev.conf");
    std::fs::write(&conf, DEV_CONF).with_context(|| format!("cannot write {}", conf.display()))?;
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
