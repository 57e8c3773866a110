//! Server lists and bad URLs, as a user types them: a comma-separated list
//! works for `trader run` and for client commands; a malformed URL or refused
//! credentials end the command at once with a message, while an unreachable
//! server is retried.

use std::process::Stdio;
use std::time::Duration;

use testkit::NatsServer;

const TRADER: &str = env!("CARGO_BIN_EXE_trader");

/// Runs a command that must end by itself; its exit status and stderr.
async fn run_to_end(args: &[&str], envs: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut cmd = tokio::process::Command::new(TRADER);
    cmd.args(args)
        .env_remove("NATS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("trader {args:?} did not end within 20 s"))
        .unwrap();
    (out.status, String::from_utf8_lossy(&out.stderr).to_string())
}

#[tokio::test]
async fn a_malformed_url_fails_at_once_for_run_and_client_commands() {
    let list = "nats://127.0.0.1:4122,nats://127.0.0.1:99999";
    for args in [
        vec!["run", "--nats-url", list],
        vec!["orders", "--nats-url", list],
        vec![
            "order",
            "--nats-url",
            list,
            "--symbol",
            "A",
            "--side",
            "buy",
            "--qty",
            "1",
        ],
        vec!["services", "--nats-url", "nats://host:port"],
    ] {
        let (status, stderr) = run_to_end(&args, &[]).await;
        assert!(!status.success(), "{args:?} succeeded");
        assert!(stderr.contains("malformed NATS URL"), "{args:?}: {stderr}");
    }
    // The same through the environment.
    let (status, stderr) = run_to_end(&["orders"], &[("NATS_URL", "nats://h:p")]).await;
    assert!(!status.success());
    assert!(stderr.contains("malformed NATS URL"), "{stderr}");
}

#[tokio::test]
async fn a_server_list_works_for_client_commands() {
    let server = NatsServer::start().await;
    // The first entry is dead: the client moves on to the live one.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let list = format!("nats://127.0.0.1:{dead},{}", server.url());
    let (status, stderr) = run_to_end(&["services", "--nats-url", &list], &[]).await;
    assert!(status.success(), "{stderr}");
}

#[tokio::test]
async fn refused_credentials_fail_at_once() {
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "authorization { users: [ { user: alice, password: right } ] }\n",
    )
    .unwrap();
    let server = NatsServer::start_with(testkit::ServerOptions {
        config: Some(conf.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();
    let (status, stderr) = run_to_end(
        &["services", "--nats-url", server.url()],
        &[("NATS_USER", "alice"), ("NATS_PASSWORD", "wrong")],
    )
    .await;
    assert!(!status.success());
    // Final, not the retry loop giving up: the message says so.
    assert!(stderr.contains("not retried"), "{stderr}");
    let (status, stderr) = run_to_end(
        &["services", "--nats-url", server.url()],
        &[("NATS_USER", "alice"), ("NATS_PASSWORD", "right")],
    )
    .await;
    assert!(status.success(), "{stderr}");
}
