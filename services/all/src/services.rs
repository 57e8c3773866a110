//! `trader run`: which services exist, and running a set of them in one process.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::future::join_all;
use tokio::sync::watch;

use crate::{edge, embedded, run_config};

/// Every service this binary can run, in start order (a profile's `services`
/// key picks from these; empty: all). A new service is one line here and one
/// arm in [`run`].
pub const ALL_SERVICES: &[&str] = &[
    "config",
    "market-data",
    "strategy",
    "risk",
    "execution",
    "portfolio",
    "backtest",
    "analytics",
    "monitor",
    "notify",
    "sentiment",
    "orchestrator",
    "regime",
];

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Settings profile: `default`, `light`, `heavy` (built in; `trader config
    /// profiles` lists them) or one defined by keys in the `config` KV bucket.
    #[arg(long, env = "TRADER_PROFILE", default_value = trader_config::DEFAULT_PROFILE)]
    profile: String,
    /// TOML file of settings over the profile's (keys as in `trader config
    /// show`, e.g. `[sim]` `bar_seconds = 5`); env `TRADER_<KEY>`, flags and
    /// the `config` KV bucket override it, in that order.
    #[arg(long = "config", env = "TRADER_CONFIG", value_name = "FILE")]
    config_file: Option<PathBuf>,
    #[command(flatten)]
    settings: run_config::SettingFlags,
    /// Connect to this NATS (URLs comma-separated) instead of starting an
    /// embedded nats-server.
    #[arg(long)]
    nats_url: Option<String>,
    /// Data directory (embedded nats-server store, service state).
    #[arg(long, env = "TRADER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Client port of the embedded nats-server.
    #[arg(long, default_value_t = 4222)]
    nats_port: u16,
    /// Monitoring (HTTP) port of the embedded nats-server.
    #[arg(long, default_value_t = 8222)]
    monitor_port: u16,
    /// JetStream replicas for streams (3 on a 3-node cluster).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Directory md.import may read `path` imports from.
    #[arg(long)]
    import_dir: Option<PathBuf>,
    /// Show the embedded nats-server's log.
    #[arg(long)]
    nats_logs: bool,
    /// Serve /metrics, /health/live and /health/ready (every service of this
    /// process) on this address; `off`: not served. Default 127.0.0.1:9464
    /// (if taken, e.g. by a second `trader run`, a warning and none).
    #[arg(long, env = "TRADER_METRICS_ADDR")]
    metrics_addr: Option<String>,
    #[command(flatten)]
    edge: edge::EdgeArgs,
    /// The monitor's options (its server view defaults to the embedded
    /// server's monitoring port).
    #[command(flatten)]
    monitor: monitor_service::MonitorArgs,
    #[command(flatten)]
    gateway: crate::gateway_cmds::GatewayArgs,
    /// notify: Telegram bot and delivery (`--telegram-*`, `--notify-*`).
    #[command(flatten)]
    notify: notify_service::Flags,
    /// The live market-data feed (off unless `--live-feed`).
    #[command(flatten)]
    live: market_data::live::LiveArgs,
}

pub(crate) fn selected(names: &[String]) -> anyhow::Result<Vec<&'static str>> {
    if names.is_empty() {
        return Ok(ALL_SERVICES.to_vec());
    }
    names
        .iter()
        .map(|name| {
            ALL_SERVICES
                .iter()
                .find(|s| **s == name.trim())
                .copied()
                .with_context(|| {
                    format!(
                        "unknown service {name:?}; known: {}",
                        ALL_SERVICES.join(", ")
                    )
                })
        })
        .collect()
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    // Every layer below KV, checked before anything starts.
    let base =
        run_config::resolve_base(&args.profile, args.config_file.as_deref(), &args.settings)?;
    args.live.config().map_err(anyhow::Error::msg)?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(store::default_data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;

    // First: a given port that is taken fails before anything starts, and the services'
    // endpoints record into the exporter from their start.
    let observe = match &args.metrics_addr {
        Some(addr) => bus::observe::serve_flag(Some(addr)).await?,
        None => match bus::observe::serve(bus::observe::DEFAULT_ADDR).await {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!(error = %e, "no /metrics or health port (pass --metrics-addr)");
                None
            }
        },
    };
    let edge = edge::Edge::from_args(&args.edge)?;
    let (server, url) = if let Some(url) = &args.nats_url {
        // A malformed list fails here, at once, not after the services started.
        bus::connect::parse_servers(url)?;
        (None, url.clone())
    } else {
        let server = match &edge {
            Some(edge) => {
                edge.start_server(&data_dir, args.nats_port, args.monitor_port, args.nats_logs)
                    .await?
            }
            None => {
                embedded::start(&data_dir, args.nats_port, args.monitor_port, args.nats_logs)
                    .await?
            }
        };
        let url = server.url().to_string();
        tracing::info!(url, store = %server.store_dir().display(), "embedded nats-server started");
        (Some(server), url)
    };
    let client = bus::connect::connect(&url, "trader", None).await?;
    let _edge_tasks = edge.map(|edge| edge.start_tasks(&client, args.replicas));

    let (stop_tx, stop_rx) = watch::channel(false);
    // The top layer: this profile's keys in the config bucket. Keys that apply
    // live are passed to the services from `base`: they follow KV themselves.
    let full = run_config::with_kv(&client, &base, args.replicas, stop_rx.clone()).await?;
    let settings = &full.settings;
    let services = selected(&settings.services)?;
    tracing::info!(profile = %full.profile, services = ?services, "settings resolved");
    let mut tasks: Vec<(&str, tokio::task::JoinHandle<anyhow::Result<()>>)> = Vec::new();
    for name in &services {
        let client = client.clone();
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let profile = Some(full.profile.clone());
        let task = match *name {
            "config" => {
                let config = config_service::Config {
                    stream: bus::jetstream::StreamSettings {
                        replicas: args.replicas,
                        ..Default::default()
                    },
                    base: base.clone(),
                    known_services: ALL_SERVICES.iter().map(|s| s.to_string()).collect(),
                };
                tokio::spawn(async move {
                    config_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "market-data" => {
                let config = market_data_config(&args, &base, settings.sim.enabled, profile)?;
                tokio::spawn(async move {
                    market_data::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "strategy" => {
                let mut config = strategy_service::Config::default();
                config.stream.replicas = args.replicas;
                tokio::spawn(async move {
                    strategy_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "risk" => {
                let mut config = risk_service::Config::default();
                config.stream.replicas = args.replicas;
                config.default_limits = base.settings.risk.clone();
                config.config_profile = profile;
                tokio::spawn(async move {
                    risk_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "execution" => {
                let mut config = execution_service::Config::default();
                config.stream.replicas = args.replicas;
                config.exchange.commission_pct = base.settings.execution.commission_pct;
                config.exchange.slippage_bps = base.settings.execution.slippage_bps;
                config.config_profile = profile;
                tokio::spawn(async move {
                    execution_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "portfolio" => {
                let mut config = portfolio_service::Config::new(data_dir.clone());
                config.stream.replicas = args.replicas;
                tokio::spawn(async move {
                    portfolio_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "backtest" => {
                let mut config = backtest_service::Config::default();
                config.stream.replicas = args.replicas;
                config.workers = settings.backtest.workers;
                tokio::spawn(async move {
                    backtest_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "analytics" => tokio::spawn(async move {
                analytics_service::run(analytics_service::Config::default(), client, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }),
            "monitor" => {
                let config = monitor_config(&args, server.is_some())?;
                tokio::spawn(async move {
                    monitor_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "notify" => {
                let mut config = args.notify.config().map_err(anyhow::Error::msg)?;
                config.stream.replicas = args.replicas;
                tokio::spawn(async move {
                    notify_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "sentiment" => {
                let mut config = sentiment_service::Config::default();
                config.stream.replicas = args.replicas;
                tokio::spawn(async move {
                    sentiment_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            "orchestrator" => tokio::spawn(async move {
                orchestrator_service::run(Default::default(), client, shutdown)
                    .await
                    .map_err(anyhow::Error::from)
            }),
            "regime" => {
                let mut config = regime_service::Config::default();
                config.stream.replicas = args.replicas;
                tokio::spawn(async move {
                    regime_service::run(config, client, shutdown)
                        .await
                        .map_err(anyhow::Error::from)
                })
            }
            other => bail!("service {other} is known but not wired into trader run"),
        };
        tasks.push((*name, task));
    }
    if services.contains(&"portfolio") {
        tokio::spawn(open_paper_account(client.clone(), settings.paper.cash));
    }
    let gateway = crate::gateway_cmds::start(
        &args.gateway,
        &client,
        &data_dir,
        args.replicas,
        stop_rx.clone(),
    )
    .await?;
    let metrics_at = observe.as_ref().map(|o| o.addr());
    print_banner(&url, &services, &full, &data_dir, metrics_at);
    if let Some((task, line)) = gateway {
        println!("{line}");
        tasks.push(("gateway", task));
    }

    // Run until a signal, or until a service gives up (then stop the rest).
    let mut failed = false;
    let first_exit = {
        let watch_all = futures::future::select_all(tasks.iter_mut().map(|(_, t)| t));
        tokio::select! {
            _ = bus::runner::terminate() => None,
            (result, index, _) = watch_all => Some((index, result)),
        }
    };
    if let Some((index, result)) = first_exit {
        let (name, _) = tasks.remove(index);
        failed = true;
        match result {
            Ok(Ok(())) => tracing::error!(service = name, "service stopped on its own"),
            Ok(Err(e)) => tracing::error!(service = name, error = %e, "service failed"),
            Err(e) => tracing::error!(service = name, error = %e, "service task panicked"),
        }
    }
    tracing::info!("stopping: draining services");
    let _ = stop_tx.send(true);
    let results = join_all(
        tasks
            .into_iter()
            .map(|(name, t)| async move { (name, t.await) }),
    )
    .await;
    for (name, result) in results {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failed = true;
                tracing::error!(service = name, error = %e, "service failed");
            }
            Err(e) => {
                failed = true;
                tracing::error!(service = name, error = %e, "service task panicked");
            }
        }
    }
    let _ = client.drain().await;
    if let Some(server) = server {
        server.stop(Duration::from_secs(10)).await;
        tracing::info!("embedded nats-server stopped");
    }
    if failed {
        bail!("one or more services failed");
    }
    Ok(())
}

/// Opens the default paper account once the portfolio service answers (a no-op
/// when it exists).
async fn open_paper_account(client: async_nats::Client, cash: model::Decimal) {
    let req = bus::api::portfolio::OpenAccountRequest {
        account: bus::api::strategy::DEFAULT_PAPER_ACCOUNT.to_string(),
        cash,
    };
    for _ in 0..100 {
        match bus::request::<_, bus::api::portfolio::Summary>(
            &client,
            bus::subjects::portfolio::ACCOUNT_OPEN,
            &req,
            bus::RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        {
            Ok(s) => {
                tracing::info!(account = %s.account, equity = %s.equity, "paper account ready");
                return;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    tracing::warn!("could not open the paper account");
}

/// The simulator from `base` (KV on top is the service's own watch);
/// `enabled` from every layer (it needs a restart).
fn market_data_config(
    args: &RunArgs,
    base: &trader_config::Resolved,
    enabled: bool,
    profile: Option<String>,
) -> anyhow::Result<market_data::Config> {
    let mut config = market_data::Config {
        import_dir: args.import_dir.clone(),
        config_profile: profile,
        ..Default::default()
    };
    config.stream.replicas = args.replicas;
    config.live = args.live.config().map_err(anyhow::Error::msg)?;
    if enabled {
        let sim = &base.settings.sim;
        config.simulator = Some(market_data::SimulatorConfig {
            symbols: sim.symbols.clone(),
            seed: sim.seed,
            interval: Duration::from_secs(sim.bar_seconds),
            ..Default::default()
        });
    }
    Ok(config)
}

/// The monitor's flags; with an embedded server and no `--server-monitor-url`,
/// the embedded server's monitoring port.
fn monitor_config(args: &RunArgs, embedded: bool) -> anyhow::Result<monitor_service::Config> {
    let mut config = monitor_service::Config::default();
    config.stream.replicas = args.replicas;
    args.monitor
        .apply(&mut config)
        .map_err(anyhow::Error::msg)?;
    if config.server_monitor_url.is_none() && embedded {
        config.server_monitor_url = Some(format!("http://127.0.0.1:{}", args.monitor_port));
    }
    Ok(config)
}

fn print_banner(
    url: &str,
    services: &[&str],
    full: &trader_config::Resolved,
    data_dir: &std::path::Path,
    metrics_at: Option<std::net::SocketAddr>,
) {
    let sim = &full.settings.sim;
    let symbols: Vec<String> = sim.symbols.iter().map(|s| s.to_string()).collect();
    let observe = match metrics_at {
        Some(addr) => format!("http://{addr}/metrics, /health/live, /health/ready"),
        None => "off".to_string(),
    };
    let first = symbols.first().map(String::as_str).unwrap_or("SIM-A");
    let tf = model::Timeframe::from_seconds(sim.bar_seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|| format!("{}s", sim.bar_seconds));
    let sim = if sim.enabled {
        format!(
            "{} ({}s bars, seed {})",
            symbols.join(","),
            sim.bar_seconds,
            sim.seed
        )
    } else {
        "off".to_string()
    };
    let lines = [
        String::new(),
        "trader is running".to_string(),
        format!("  NATS       {url}"),
        format!("  profile    {} (trader config show)", full.profile),
        format!("  services   {}", services.join(", ")),
        format!("  simulator  {sim}"),
        format!("  data       {}", data_dir.display()),
        format!("  observe    {observe}"),
        String::new(),
        "Try, in another terminal (target/release/trader, or cargo run --release -p trader --):"
            .to_string(),
        "  trader services                                # $SRV.INFO of every instance"
            .to_string(),
        format!("  trader quote {first}                             # md.quote.get"),
        format!("  trader bars {first} --timeframe {tf} --limit 5    # md.bars.get"),
        "  trader import --symbol GOOG testdata/GOOG.csv  # md.import".to_string(),
        format!(
            "  trader order --symbol {first} --side buy --qty 10   # orders.submit (account paper)"
        ),
        "  trader orders; trader account                  # orders.list, portfolio.summary.get"
            .to_string(),
        "With the nats CLI:".to_string(),
        format!("  nats -s {url} micro ls"),
        format!("  nats -s {url} req md.quote.get '{{\"symbol\":\"{first}\"}}'"),
        format!("  nats -s {url} sub 'md.bar.>'"),
        "Ctrl-C stops everything.".to_string(),
    ];
    println!("{}", lines.join("\n"));
}
