//! An unwritable data dir. As root, permissions do not stop writes, so the
//! faults are made with what does: `chattr +i` (immutable files and dir, as a
//! full or read-only disk refuses writes) on portfolio's sled snapshot while
//! fills arrive, then `chattr -i`; a file where portfolio's snapshot dir or
//! nats-server's store dir should be. Checked: a clear error, what health
//! says, and that once fixed the state is whole (every fill counted once).

use std::path::Path;
use std::time::{Duration, Instant};

use bus::api::portfolio::Summary;
use bus::{subjects, RequestOptions};
use serde_json::json;
use testkit::{NatsServer, Platform, ServerOptions};

use super::flow::{self, Counters, Kind};
use super::server_kill::{bar, publish_bar};
use super::{Mode, Outcome};

const ACCOUNT: &str = "dk";

fn chattr(flag: &str, dir: &Path) -> std::io::Result<()> {
    let status = std::process::Command::new("chattr")
        .arg("-R")
        .arg(flag)
        .arg(dir)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "chattr {flag} {}: {status}",
            dir.display()
        )))
    }
}

async fn fills(client: &async_nats::Client) -> Option<u64> {
    bus::request::<_, Summary>(
        client,
        subjects::portfolio::SUMMARY_GET,
        &json!({"account": ACCOUNT}),
        RequestOptions::timeout(Duration::from_secs(3)),
    )
    .await
    .ok()
    .map(|s| s.fills)
}

async fn fills_reach(client: &async_nats::Client, want: u64, within: Duration) -> Option<u64> {
    let deadline = Instant::now() + within;
    loop {
        let n = fills(client).await;
        if n.is_some_and(|n| n >= want) || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn portfolio_ready() -> Vec<bool> {
    bus::runner::process_health()
        .into_iter()
        .filter(|h| h.service == subjects::portfolio::SERVICE)
        .map(|h| h.ready)
        .collect()
}

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let n: u64 = mode.pick(8, 40);
    let data = tempfile::tempdir()?;
    let dir = data.path().to_path_buf();
    let config = portfolio_service::Config::new(dir.clone());
    let snapshot_dir = config.snapshot_dir();
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            let mut config = execution_service::Config::default();
            config.exchange.fill_on_quotes = false;
            config.paper_signals = false;
            execution_service::run(config, c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(config.clone(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = async_nats::jetstream::new(client.clone());
    let (code, body) = testkit::raw_request(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        &json!({"account": ACCOUNT, "cash": "100000000"}),
    )
    .await;
    anyhow::ensure!(code == 0, "account open: {body}");
    let mut o = Outcome::new(
        "disk",
        "portfolio's sled snapshot made unwritable (chattr +i) while fills arrive, then writable again; a file where the snapshot dir or nats-server's store should be",
        format!("{n} market orders filled before, {n} during the fault"),
    );
    let counters = Counters::default();
    let mut next_bar = 0;
    publish_bar(&js, &bar(next_bar), &counters).await;
    let mut order = 0u64;
    let mut place = |count: u64| {
        let start = order;
        order += count;
        start..order
    };
    for i in place(n) {
        flow::submit(
            &client,
            &flow::order_body(ACCOUNT, "FLT", "z", i, Kind::Market),
            &counters,
            Duration::from_secs(30),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        next_bar += 1;
        publish_bar(&js, &bar(next_bar), &counters).await;
    }
    let before = fills_reach(&client, n, Duration::from_secs(30))
        .await
        .unwrap_or_default();
    anyhow::ensure!(before == n, "{before} of {n} fills before the fault");

    chattr("+i", &snapshot_dir)?;
    let fault = Instant::now();
    for i in place(n) {
        flow::submit(
            &client,
            &flow::order_body(ACCOUNT, "FLT", "z", i, Kind::Market),
            &counters,
            Duration::from_secs(30),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        next_bar += 1;
        publish_bar(&js, &bar(next_bar), &counters).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = fills(&client).await;
    let ready_during = portfolio_ready();
    let fixed = chattr("-i", &snapshot_dir);
    o.check(
        fixed.is_ok(),
        format!("the snapshot writable again ({fixed:?})"),
    );
    o.check(
        !ready_during.is_empty() && ready_during.iter().all(|r| !r),
        format!(
            "while the snapshot was unwritable: portfolio's health said ready = {ready_during:?}; it counted {during:?} fills of {} (reads wait for writes it cannot make)",
            2 * n
        ),
    );
    let after = fills_reach(&client, 2 * n, Duration::from_secs(mode.pick(5, 15))).await;
    let recovered_alone = after == Some(2 * n);
    let mut after_restart = None;
    if !recovered_alone {
        let portfolio = platform.instance(subjects::portfolio::SERVICE, 0);
        portfolio.restart().await;
        after_restart = fills_reach(&client, 2 * n, Duration::from_secs(30)).await;
    }
    o.recovery = Some(fault.elapsed());
    o.check(
        recovered_alone || after_restart == Some(2 * n),
        format!(
            "once writable: {} fills of {} ({})",
            after_restart.or(after).unwrap_or_default(),
            2 * n,
            if recovered_alone {
                "by itself"
            } else {
                "after a restart of portfolio"
            }
        ),
    );
    // Restarted from its snapshot: the same count, each fill once.
    let portfolio = platform.instance(subjects::portfolio::SERVICE, 0);
    portfolio.restart().await;
    let replayed = fills_reach(&client, 2 * n, Duration::from_secs(30)).await;
    let ready_after = portfolio_ready();
    o.check(
        ready_after.iter().all(|r| *r),
        format!("ready again after the restart ({ready_after:?})"),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = fills(&client).await;
    o.events_published = 2 * n;
    o.events_consumed = settled.unwrap_or_default();
    o.events_lost = (2 * n).saturating_sub(settled.unwrap_or_default());
    o.events_duplicated = settled.unwrap_or_default().saturating_sub(2 * n);
    o.check(
        replayed == Some(2 * n) && settled == Some(2 * n),
        format!(
            "after another restart from the snapshot on disk: {settled:?} fills of {}, none twice",
            2 * n
        ),
    );

    // A file where the snapshot dir should be: a clear error, never ready.
    let blocked = data.path().join("blocked");
    std::fs::create_dir_all(&blocked)?;
    let mut bad = portfolio_service::Config::new(blocked.clone());
    bad.node = "blocked".to_string();
    std::fs::write(bad.snapshot_dir(), b"not a directory")?;
    let url = platform.url().to_string();
    let mut handle = testkit::spawn_connected(&url, move |c, s| {
        portfolio_service::run(bad.clone(), c, s.wait())
    });
    let t0 = Instant::now();
    let ended = loop {
        if let Some(r) = handle.try_result() {
            break Some(r);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    o.check(
        matches!(ended, Some(Err(_))),
        format!(
            "a file where the snapshot dir should be: portfolio's run ends with {:?} (the binary exits non-zero with it; never ready)",
            ended.map(|r| r.map_err(|e| e.to_string()))
        ),
    );

    // A file where nats-server's store should be.
    let store = data.path().join("store-file");
    std::fs::write(&store, b"not a directory")?;
    let started = NatsServer::start_with(ServerOptions {
        store_dir: Some(store.clone()),
        ..Default::default()
    })
    .await;
    o.check(
        started.is_err(),
        format!(
            "a file where nats-server's store should be: {}",
            match &started {
                Err(e) => e.to_string(),
                Ok(_) => "it started".to_string(),
            }
        ),
    );
    drop(started);
    o.requests_sent = counters.sent.load(std::sync::atomic::Ordering::Relaxed);
    o.requests_failed = counters.failed.load(std::sync::atomic::Ordering::Relaxed);
    o.requests_retried = counters.retried.load(std::sync::atomic::Ordering::Relaxed);
    for name in [
        subjects::portfolio::SERVICE,
        subjects::execution::SERVICE,
        subjects::risk::SERVICE,
        subjects::md::SERVICE,
    ] {
        let _ = platform.instance(name, 0).stop().await;
    }
    Ok(vec![o])
}
