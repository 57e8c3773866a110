//! The gateway in `trader run` (on by default, loopback), and `trader keys`
//! (create, list, revoke API keys through the gateway's NATS endpoints).

use std::path::Path;
use std::time::Duration;

use bus::api::gateway::{
    KeyCreateRequest, KeyCreated, KeyRevokeRequest, KeysList, ListRequest, Role,
};
use bus::{request, subjects, RequestOptions};
use tokio::sync::watch;

use crate::Connection;

/// File under the data dir holding the admin key made at the first start.
pub const ADMIN_KEY_FILE: &str = "gateway-admin.key";

#[derive(clap::Args, Debug, Clone)]
pub struct GatewayArgs {
    /// HTTP address of the gateway (REST, WebSocket, dashboard). Default
    /// 127.0.0.1:8080 (if taken, a warning and no gateway). Beyond loopback
    /// only behind a TLS proxy: without TLS it warns loudly.
    #[arg(long, env = "TRADER_GATEWAY_ADDR")]
    gateway_addr: Option<String>,
    /// Do not run the gateway.
    #[arg(long)]
    no_gateway: bool,
}

/// Starts the gateway unless asked not to; on the first start, makes the
/// admin key and returns the line that shows the dashboard URL with it.
pub async fn start(
    args: &GatewayArgs,
    client: &async_nats::Client,
    data_dir: &Path,
    replicas: usize,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<(tokio::task::JoinHandle<anyhow::Result<()>>, String)>> {
    if args.no_gateway {
        return Ok(None);
    }
    let addr = args
        .gateway_addr
        .clone()
        .unwrap_or_else(|| gateway_service::DEFAULT_ADDR.to_string());
    // A taken default port (a second `trader run`) is not fatal; a given one is.
    if let Err(e) = std::net::TcpListener::bind(&addr) {
        if args.gateway_addr.is_some() {
            anyhow::bail!("cannot listen on {addr} for the gateway: {e}");
        }
        tracing::warn!(%addr, error = %e, "no gateway: its port is taken (pass --gateway-addr)");
        return Ok(None);
    }
    let key_file = data_dir.join(ADMIN_KEY_FILE);
    let new_key = gateway_service::bootstrap_admin_key(client, &key_file, replicas).await?;
    let config = gateway_service::Config {
        addr: addr.clone(),
        replicas,
        ..Default::default()
    };
    let client = client.clone();
    let default_addr = args.gateway_addr.is_none();
    let task = tokio::spawn(async move {
        let mut stop_run = stop.clone();
        let shutdown = async move {
            let _ = stop_run.wait_for(|s| *s).await;
        };
        match gateway_service::run(config, client, shutdown).await {
            // Taken between the probe and the bind (another process): as above.
            Err(e @ gateway_service::Error::Bind { .. }) if default_addr => {
                tracing::warn!(error = %e, "no gateway: its port is taken (pass --gateway-addr)");
                let mut stop = stop;
                let _ = stop.wait_for(|s| *s).await;
                Ok(())
            }
            other => other.map_err(anyhow::Error::from),
        }
    });
    let line = match new_key {
        Some(key) => format!(
            "  dashboard  http://{addr}/?key={key}\n             (admin key shown once; it is in {})",
            key_file.display()
        ),
        None => format!(
            "  dashboard  http://{addr}/  (admin key in {})",
            key_file.display()
        ),
    };
    Ok(Some((task, line)))
}

#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand, Debug)]
enum KeysCommand {
    /// Create an API key; it is printed once.
    Create {
        #[command(flatten)]
        connection: Connection,
        /// viewer, trader or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Accounts the key may touch (repeat or comma-separate); none: all.
        #[arg(long = "account", value_delimiter = ',')]
        accounts: Vec<String>,
        /// A note (who or what uses it).
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (ids, roles, accounts; never secrets).
    List {
        #[command(flatten)]
        connection: Connection,
    },
    /// Revoke a key by id.
    Revoke {
        #[command(flatten)]
        connection: Connection,
        id: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| format!("unknown role {s:?}: viewer, trader or admin"))
}

async fn connect(c: &Connection) -> anyhow::Result<async_nats::Client> {
    Ok(bus::connect::connect(&c.nats_url, "trader-cli", Some(Duration::from_secs(5))).await?)
}

pub async fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let options = || RequestOptions::timeout(Duration::from_secs(10));
    match args.command {
        KeysCommand::Create {
            connection,
            role,
            accounts,
            name,
        } => {
            let client = connect(&connection).await?;
            let req = KeyCreateRequest {
                role,
                accounts,
                name,
            };
            let created: KeyCreated =
                request(&client, subjects::gateway::KEYS_CREATE, &req, options()).await?;
            println!("{}", created.key);
            eprintln!(
                "key {} ({:?}, accounts: {}): shown once, keep it",
                created.info.id,
                created.info.role,
                if created.info.accounts.is_empty() {
                    "all".to_string()
                } else {
                    created.info.accounts.join(",")
                }
            );
        }
        KeysCommand::List { connection } => {
            let client = connect(&connection).await?;
            let list: KeysList = request(
                &client,
                subjects::gateway::KEYS_LIST,
                &ListRequest {},
                options(),
            )
            .await?;
            for k in list.keys {
                let accounts = if k.accounts.is_empty() {
                    "*".to_string()
                } else {
                    k.accounts.join(",")
                };
                println!(
                    "{}  {:<7} {:<20} {}",
                    k.id,
                    format!("{:?}", k.role).to_lowercase(),
                    accounts,
                    k.name.unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { connection, id } => {
            let client = connect(&connection).await?;
            let _: bus::api::gateway::Deleted = request(
                &client,
                subjects::gateway::KEYS_REVOKE,
                &KeyRevokeRequest { id: id.clone() },
                options(),
            )
            .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
