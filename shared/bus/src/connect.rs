//! Connecting. A service that cannot reach NATS keeps trying and says so; a
//! malformed URL, refused credentials or a TLS failure fail at once (retrying
//! cannot fix them). Once connected, disconnects and reconnects are logged (the
//! client reconnects by itself).
//!
//! [`NatsConfig`] is where to connect and as whom: a server list
//! (`nats://a:4222,nats://b:4222`, as `NATS_URL` or a flag) and credentials
//! from the environment: `NATS_USER` + `NATS_PASSWORD` (or
//! `NATS_PASSWORD_FILE`), `NATS_CREDS` (a creds file), `NATS_NKEY_SEED_FILE`,
//! and TLS with `NATS_TLS_CA`, `NATS_TLS_CERT` + `NATS_TLS_KEY`. Secrets are
//! never logged: [`NatsConfig`]'s `Debug` shows which kind of auth, not its value.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event, ServerAddr};

use crate::BusError;

/// How a client proves who it is.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    UserPassword {
        user: String,
        password: String,
    },
    /// A `.creds` file (JWT + nkey seed).
    CredsFile(PathBuf),
    /// A file holding an nkey seed (`SU...`).
    NkeySeedFile(PathBuf),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => write!(f, "none"),
            Auth::UserPassword { user, .. } => write!(f, "user {user} with password"),
            Auth::CredsFile(p) => write!(f, "creds file {}", p.display()),
            Auth::NkeySeedFile(p) => write!(f, "nkey seed file {}", p.display()),
        }
    }
}

/// TLS files (PEM). A CA alone verifies the server; a cert and key as well
/// authenticate the client.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// Where to connect and as whom.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    pub servers: Vec<ServerAddr>,
    pub auth: Auth,
    pub tls: Tls,
}

impl NatsConfig {
    /// A server list without credentials; fails at once on a malformed URL.
    pub fn new(urls: &str) -> Result<Self, BusError> {
        Ok(NatsConfig {
            servers: parse_servers(urls)?,
            auth: Auth::None,
            tls: Tls::default(),
        })
    }

    /// A server list with credentials and TLS from the environment.
    pub fn from_env(urls: &str) -> Result<Self, BusError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = |name: &str| var(name).map(PathBuf::from);
        let auth = if let Some(creds) = path("NATS_CREDS") {
            Auth::CredsFile(creds)
        } else if let Some(seed) = path("NATS_NKEY_SEED_FILE") {
            Auth::NkeySeedFile(seed)
        } else if let Some(user) = var("NATS_USER") {
            let password = match (var("NATS_PASSWORD"), path("NATS_PASSWORD_FILE")) {
                (Some(p), _) => p,
                (None, Some(file)) => read_secret(&file)?,
                (None, None) => {
                    return Err(config_error(
                        urls,
                        "NATS_USER is set but neither NATS_PASSWORD nor NATS_PASSWORD_FILE",
                    ))
                }
            };
            Auth::UserPassword { user, password }
        } else {
            Auth::None
        };
        Ok(NatsConfig {
            servers: parse_servers(urls)?,
            auth,
            tls: Tls {
                ca: path("NATS_TLS_CA"),
                cert: path("NATS_TLS_CERT"),
                key: path("NATS_TLS_KEY"),
            },
        })
    }

    /// The servers as given, for messages.
    pub fn display_servers(&self) -> String {
        self.servers
            .iter()
            .map(|s| s.as_url_str().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    async fn options(&self, name: &str) -> Result<ConnectOptions, BusError> {
        let mut options =
            match &self.auth {
                Auth::None => ConnectOptions::new(),
                Auth::UserPassword { user, password } => {
                    ConnectOptions::with_user_and_password(user.clone(), password.clone())
                }
                Auth::CredsFile(path) => ConnectOptions::with_credentials_file(path)
                    .await
                    .map_err(|e| {
                        config_error(
                            &self.display_servers(),
                            &format!("creds file {}: {e}", path.display()),
                        )
                    })?,
                Auth::NkeySeedFile(path) => ConnectOptions::with_nkey(read_secret(path)?),
            };
        if let Some(ca) = &self.tls.ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        match (&self.tls.cert, &self.tls.key) {
            (Some(cert), Some(key)) => {
                options = options
                    .add_client_certificate(cert.clone(), key.clone())
                    .require_tls(true)
            }
            (None, None) => {}
            _ => {
                return Err(config_error(
                    &self.display_servers(),
                    "NATS_TLS_CERT and NATS_TLS_KEY go together",
                ))
            }
        }
        // Counts reconnections, not the first connection.
        let was_down = Arc::new(AtomicBool::new(false));
        Ok(options
            .name(name)
            .connection_timeout(Duration::from_secs(3))
            .max_reconnects(None)
            .event_callback(move |event| {
                let was_down = was_down.clone();
                async move {
                    match event {
                        Event::Disconnected => {
                            was_down.store(true, Ordering::Relaxed);
                            tracing::warn!("disconnected from NATS; reconnecting")
                        }
                        Event::Connected => {
                            if was_down.swap(false, Ordering::Relaxed) {
                                crate::metrics::nats_reconnected();
                            }
                            tracing::info!("connected to NATS")
                        }
                        Event::SlowConsumer(sid) => {
                            tracing::warn!(sid, "slow consumer: messages dropped")
                        }
                        Event::LameDuckMode => {
                            tracing::warn!("NATS server entering lame duck mode")
                        }
                        Event::ServerError(e) => tracing::warn!(error = %e, "NATS server error"),
                        other => tracing::debug!(event = %other, "NATS client event"),
                    }
                }
            }))
    }
}

/// Splits a comma-separated server list and checks every entry.
pub fn parse_servers(urls: &str) -> Result<Vec<ServerAddr>, BusError> {
    let servers = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            ServerAddr::from_str(u)
                .map_err(|e| config_error(urls, &format!("malformed NATS URL {u:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if servers.is_empty() {
        return Err(config_error(urls, "no NATS server URL given"));
    }
    Ok(servers)
}

fn read_secret(path: &std::path::Path) -> Result<String, BusError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| BusError::Connect {
            url: String::new(),
            message: format!("cannot read {}: {e}", path.display()),
            retryable: false,
        })
}

fn config_error(url: &str, message: &str) -> BusError {
    BusError::Connect {
        url: url.to_string(),
        message: message.to_string(),
        retryable: false,
    }
}

/// Connects to `url` (comma-separated for several servers) with credentials
/// from the environment; see [`connect_with`].
pub async fn connect(
    url: &str,
    name: &str,
    give_up_after: Option<Duration>,
) -> Result<Client, BusError> {
    connect_with(&NatsConfig::from_env(url)?, name, give_up_after).await
}

/// Connects, retrying unreachable servers with back-off until it succeeds or
/// `give_up_after` passes (`None`: forever). Refused credentials, TLS errors
/// and malformed URLs fail at once.
pub async fn connect_with(
    config: &NatsConfig,
    name: &str,
    give_up_after: Option<Duration>,
) -> Result<Client, BusError> {
    let url = config.display_servers();
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let options = config.options(name).await?;
        match options.connect(config.servers.clone()).await {
            Ok(client) => {
                if attempt > 1 {
                    tracing::info!(url, attempt, "connected to NATS after retrying");
                }
                return Ok(client);
            }
            Err(e) => {
                let retryable = matches!(
                    e.kind(),
                    ConnectErrorKind::Io | ConnectErrorKind::TimedOut | ConnectErrorKind::Dns
                );
                if !retryable {
                    return Err(BusError::Connect {
                        url,
                        message: format!("{e} ({:?}; not retried)", e.kind()),
                        retryable: false,
                    });
                }
                if give_up_after.is_some_and(|limit| started.elapsed() >= limit) {
                    return Err(BusError::Connect {
                        url,
                        message: e.to_string(),
                        retryable: true,
                    });
                }
                tracing::warn!(url, attempt, error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot reach NATS; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lists_split_on_commas() {
        let servers =
            parse_servers("nats://127.0.0.1:4122, nats://127.0.0.1:4222,nats://127.0.0.1:4322")
                .unwrap();
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[1].port(), 4222);
    }

    #[test]
    fn malformed_urls_are_not_retried() {
        for bad in ["nats://127.0.0.1:99999", "nats://host:port", "", " , "] {
            match parse_servers(bad) {
                Err(BusError::Connect { retryable, .. }) => assert!(!retryable, "{bad}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let auth = Auth::UserPassword {
            user: "risk".into(),
            password: "s3cret".into(),
        };
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("risk") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
