//! A nats-server with the committed auth config (`nats/secure.conf`, users from
//! `nats/auth/users.conf`, dev passwords from `nats/auth/dev.env`), and clients
//! that log in as one of its users and record every permissions violation the
//! server reports to them.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use testkit::{paths::repo_root, NatsServer, ServerOptions};

/// `(variable, password)` of every user, from `nats/auth/dev.env`.
pub fn dev_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("nats/auth/dev.env")).unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The dev password of `user`.
pub fn password(user: &str) -> String {
    let var = bus::permissions::password_var(user);
    dev_env()
        .into_iter()
        .find(|(k, _)| *k == var)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{var} not in nats/auth/dev.env"))
}

/// A private server started from `config` (relative to the repository root)
/// with the dev passwords in its environment.
pub async fn server_with(config: &str, current_dir: Option<PathBuf>) -> NatsServer {
    NatsServer::start_with(ServerOptions {
        config: Some(repo_root().join(config)),
        // secure.conf's fixed monitoring port would collide between tests.
        monitor_port: Some(0),
        env: dev_env(),
        current_dir,
        // NATS_LOGS=1 shows the server's log (it names every refused subject).
        show_logs: std::env::var_os("NATS_LOGS").is_some(),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A private server with `nats/secure.conf`.
pub async fn secure_server() -> NatsServer {
    server_with("nats/secure.conf", None).await
}

/// Permissions violations (and other server errors) one client was told of.
#[derive(Clone, Default)]
pub struct Violations(Arc<Mutex<Vec<String>>>);

impl Violations {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until a violation mentioning `subject` arrives.
    pub async fn wait_for(&self, subject: &str) -> String {
        testkit::wait_until(
            &format!("a permissions violation on {subject}"),
            Duration::from_secs(5),
            || async {
                self.all().into_iter().find(|v| {
                    v.to_lowercase().contains("permissions violation") && v.contains(subject)
                })
            },
        )
        .await
    }
}

/// The options every test client uses: logs in as `user`, records violations.
pub fn options(user: &str, violations: &Violations) -> ConnectOptions {
    let seen = violations.clone();
    ConnectOptions::with_user_and_password(user.to_string(), password(user))
        .name(user)
        .event_callback(move |event| {
            let seen = seen.clone();
            async move {
                if let Event::ServerError(e) = event {
                    seen.0.lock().unwrap().push(e.to_string());
                }
            }
        })
}

/// A client logged in as `user`, and what the server refused it.
pub async fn login(server: &NatsServer, user: &str) -> (async_nats::Client, Violations) {
    let violations = Violations::default();
    let client = options(user, &violations)
        .connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"));
    (client, violations)
}
