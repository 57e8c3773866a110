//! Hub and leaf (edge) nats-servers, and a link between them that a test can cut.
//!
//! - [`HubConf`] / [`LeafConf`]: the config text of a hub (JetStream domain, leaf
//!   node listener) and of a leaf (its own domain, one remote, subjects kept off
//!   the link). `trader run --edge` writes its embedded server's config with
//!   [`LeafConf`] too, so tests and the product run the same config.
//! - [`Hub::start`] / [`Leaf::start`]: private servers on free loopback ports.
//!   The leaf reaches the hub through a [`LinkProxy`], a TCP relay on its own
//!   port: [`Leaf::cut_link`] drops the connection and refuses new ones (a
//!   network failure; the hub and the other leaves stay up), [`Leaf::restore_link`]
//!   lets the leaf reconnect. [`Hub::restart`] cuts every link at once (the hub
//!   goes down and comes back on the same ports and store).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub use natsproc::conf::{HubConf, LeafConf};

use crate::server::{NatsServer, ServerError, ServerOptions};

/// A free loopback TCP port (bound and released: another process may take it
/// in between, which a test would notice as a server that does not start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Writes `text` to `name` in a fresh temp dir kept alive by the returned handle.
fn write_conf(name: &str, text: &str) -> Result<(tempfile::TempDir, PathBuf), ServerError> {
    let dir = tempfile::Builder::new()
        .prefix("nats-conf-")
        .tempdir()
        .map_err(|e| ServerError::Spawn(e.to_string()))?;
    let path = dir.path().join(name);
    std::fs::write(&path, text).map_err(|e| ServerError::Spawn(e.to_string()))?;
    Ok((dir, path))
}

/// A hub server: JetStream domain `domain`, leaf node listener on a free port,
/// its store in a directory of its own so [`Hub::restart`] keeps it.
pub struct Hub {
    pub server: NatsServer,
    pub domain: String,
    pub leaf_port: u16,
    store: tempfile::TempDir,
    conf: PathBuf,
    _conf_dir: tempfile::TempDir,
}

impl Hub {
    /// Starts a hub. Panics with a clear message when it cannot: meant for tests.
    pub async fn start(domain: &str) -> Hub {
        let leaf_port = free_port();
        let conf = HubConf {
            server_name: format!("hub-{domain}"),
            domain: domain.to_string(),
            leaf_port,
            fsync_always: false,
        };
        let (conf_dir, conf) =
            write_conf("hub.conf", &conf.render()).unwrap_or_else(|e| panic!("{e}"));
        let store = tempfile::Builder::new()
            .prefix("nats-hub-")
            .tempdir()
            .unwrap_or_else(|e| panic!("hub store: {e}"));
        let server = Hub::start_server(&conf, None, store.path()).await;
        Hub {
            server,
            domain: domain.to_string(),
            leaf_port,
            store,
            conf,
            _conf_dir: conf_dir,
        }
    }

    async fn start_server(conf: &Path, port: Option<u16>, store: &Path) -> NatsServer {
        NatsServer::start_with(ServerOptions {
            config: Some(conf.to_path_buf()),
            port,
            store_dir: Some(store.join("jetstream")),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("hub: {e}"))
    }

    /// Stops the hub (SIGTERM), runs `while_down`, and starts it again on the
    /// same client and leaf ports with the same store: every leaf loses its
    /// link meanwhile and reconnects by itself.
    pub async fn restart<F: std::future::Future<Output = ()>>(self, while_down: F) -> Hub {
        let port = self
            .server
            .url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the hub's client port");
        let Hub {
            server,
            domain,
            leaf_port,
            store,
            conf,
            _conf_dir,
        } = self;
        server.stop(Duration::from_secs(10)).await;
        while_down.await;
        let server = Hub::start_server(&conf, Some(port), store.path()).await;
        Hub {
            server,
            domain,
            leaf_port,
            store,
            conf,
            _conf_dir,
        }
    }

    /// `nats-leaf://127.0.0.1:<leaf port>`.
    pub fn leaf_url(&self) -> String {
        format!("nats-leaf://127.0.0.1:{}", self.leaf_port)
    }
}

/// A leaf server with its own JetStream domain, linked to a hub through a
/// [`LinkProxy`] the test can cut.
pub struct Leaf {
    pub server: NatsServer,
    pub domain: String,
    pub link: LinkProxy,
    _conf: tempfile::TempDir,
}

impl Leaf {
    /// Starts a leaf of `hub` with domain `domain`; `deny` is kept off the link
    /// in both directions (exports and imports).
    pub async fn start(hub: &Hub, domain: &str, deny: &[&str]) -> Leaf {
        let link = LinkProxy::start(hub.leaf_port).await;
        let deny: Vec<String> = deny.iter().map(|s| s.to_string()).collect();
        let conf = LeafConf {
            server_name: format!("leaf-{domain}"),
            domain: domain.to_string(),
            hub_url: format!("nats-leaf://127.0.0.1:{}", link.port()),
            deny_exports: deny.clone(),
            deny_imports: deny,
            fsync_always: false,
        };
        let (dir, path) = write_conf("leaf.conf", &conf.render()).unwrap_or_else(|e| panic!("{e}"));
        let server = NatsServer::start_with(ServerOptions {
            config: Some(path),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("leaf {domain}: {e}"));
        Leaf {
            server,
            domain: domain.to_string(),
            link,
            _conf: dir,
        }
    }

    /// Drops the link to the hub and refuses to carry a new one.
    pub fn cut_link(&self) {
        self.link.cut();
    }

    /// Lets the leaf reconnect (it retries every second).
    pub fn restore_link(&self) {
        self.link.restore();
    }

    /// Waits until the hub's JetStream answers through the link (the leaf
    /// connection is up and carries `$JS.<hub domain>.API`).
    pub async fn wait_linked(&self, hub_domain: &str) {
        wait_linked(&self.server.client().await, hub_domain).await;
    }
}

/// Waits (30 s at most) until `$JS.<hub_domain>.API.INFO` answers on `client`.
pub async fn wait_linked(client: &async_nats::Client, hub_domain: &str) {
    let subject = format!("$JS.{hub_domain}.API.INFO");
    crate::wait_until("the leaf link", Duration::from_secs(30), || async {
        tokio::time::timeout(
            Duration::from_millis(500),
            client.request(subject.clone(), "".into()),
        )
        .await
        .ok()?
        .ok()
        .map(|_| ())
    })
    .await;
}

/// A TCP relay from a port of its own to `127.0.0.1:<target>`; while cut it
/// drops the connections it carries and every new one.
pub struct LinkProxy {
    port: u16,
    up: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl LinkProxy {
    pub async fn start(target: u16) -> LinkProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the link proxy");
        let port = listener.local_addr().expect("its address").port();
        let (up, _) = watch::channel(true);
        let accept = tokio::spawn(accept_loop(listener, target, up.clone()));
        LinkProxy { port, up, accept }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: u16, up: watch::Sender<bool>) {
    while let Ok((inbound, _)) = listener.accept().await {
        if !*up.borrow() {
            continue; // dropped: the leaf sees the connection fail and retries
        }
        tokio::spawn(relay(inbound, target, up.subscribe()));
    }
}

/// Carries one connection until either side closes it or the link is cut.
async fn relay(mut inbound: TcpStream, target: u16, mut up: watch::Receiver<bool>) {
    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}
