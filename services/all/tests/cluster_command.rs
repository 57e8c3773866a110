//! The README's cluster commands, exactly: `scripts/cluster.sh start`, `trader run`
//! on the three nodes with three replicas, `trader services`, then stop. The
//! ports are fixed (4122/4222/4322), so this test is alone in its binary and
//! takes a machine-wide lock; its stores go to a temporary directory.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

const URLS: &str = "nats://127.0.0.1:4122,nats://127.0.0.1:4222,nats://127.0.0.1:4322";
const SERVICES: [&str; 9] = [
    "market-data",
    "strategy",
    "risk",
    "execution",
    "portfolio",
    "backtest",
    "analytics",
    "monitor",
    "notify",
];

fn cluster_sh() -> PathBuf {
    testkit::paths::repo_root().join("scripts/cluster.sh")
}

/// Holds the fixed cluster ports for this process (released when it dies,
/// however it dies): other checkouts on this machine run the same test.
fn lock_cluster_ports() -> std::fs::File {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::create(std::env::temp_dir().join("trader-cluster-4122.lock"))
        .expect("a lock file in the temp dir");
    // SAFETY: flock on a file descriptor we own; it blocks until the lock is ours.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock: {}", std::io::Error::last_os_error());
    file
}

/// Runs `scripts/cluster.sh stop` on drop, so a failing test leaves no nodes.
struct Cluster<'a> {
    dir: &'a std::path::Path,
}

impl Cluster<'_> {
    fn command(&self, action: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(cluster_sh());
        cmd.arg(action).env("TRADER_CLUSTER_DIR", self.dir).env(
            "NATS_SERVER_BIN",
            testkit::server::nats_server_bin().unwrap(),
        );
        cmd
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        let _ = self.command("stop").stdout(Stdio::null()).status();
    }
}

#[tokio::test]
async fn the_readme_cluster_runs_every_service_with_three_replicas() {
    let _lock = lock_cluster_ports();
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let cluster = Cluster { dir: dir.path() };

    let out = cluster.command("start").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scripts/cluster.sh start: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l == URLS),
        "prints the URL list: {text}"
    );
    assert!(
        dir.path().join("data/cluster/n1").is_dir(),
        "stores under data/cluster"
    );

    let mut trader = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(["run", "--nats-url", URLS, "--replicas", "3"])
        .env("TRADER_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let listed = testkit::wait_until(
        "every service in `trader services`",
        Duration::from_secs(90),
        || async {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
                .arg("services")
                .output()
                .await
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            SERVICES
                .iter()
                .all(|s| text.lines().any(|l| l.starts_with(&format!("{s} "))))
                .then_some(text)
        },
    )
    .await;
    assert!(listed.contains("md.quote.get"), "{listed}");

    // The streams it provisioned have three replicas.
    let client = async_nats::connect(URLS.split(',').collect::<Vec<_>>())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let mut market = js.get_stream("MARKET").await.unwrap();
    assert_eq!(market.info().await.unwrap().config.num_replicas, 3);

    let pid = trader.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), trader.wait())
        .await
        .expect("trader stops within 30 s")
        .unwrap();
    assert!(status.success(), "clean exit, got {status}");

    let out = cluster.command("stop").output().unwrap();
    assert!(out.status.success());
    let out = cluster.command("status").output().unwrap();
    assert!(!out.status.success(), "every node stopped");
}
