//! kill -9 nats-server (file store, `sync_interval: always`) under an order
//! flow with fills, then start it again on the same port and store. Every
//! service (market-data, risk, execution, portfolio: each with its own
//! connection from `bus::connect`, as the binaries make it) reconnects by
//! itself: its health turns not ready while the server is gone and ready
//! again after; durable consumers resume; every acknowledged order is in
//! ORDERS once, filled once, and counted once by portfolio.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bus::api::portfolio::{PositionsResponse, Summary};
use bus::{subjects, RequestOptions};
use model::{Bar, Symbol, Timeframe, UnixNanos};
use rust_decimal_macros::dec;
use testkit::{NatsServer, ServerOptions, ServiceHandle};

use super::flow::{self, Counters, Kind};
use super::{Mode, Outcome};

const ACCOUNT: &str = "sk";
const SYMBOL: &str = "FLT";
const SERVICES: [&str; 4] = [
    subjects::md::SERVICE,
    subjects::risk::SERVICE,
    subjects::execution::SERVICE,
    subjects::portfolio::SERVICE,
];

/// Bar `i` of a 1-minute series of [`SYMBOL`].
pub fn bar(i: u64) -> Bar {
    let p = dec!(100) + rust_decimal::Decimal::from(i % 7);
    Bar {
        symbol: Symbol::new(SYMBOL).expect("a symbol"),
        timeframe: Timeframe::from_seconds(60).expect("1m"),
        ts: UnixNanos(1_700_000_000_000_000_000 + i as i64 * 60_000_000_000),
        open: p,
        high: p + dec!(1),
        low: p - dec!(1),
        close: p,
        volume: dec!(1000000),
    }
}

/// Publishes `b` into MARKET until the stream acknowledges it (same
/// `Nats-Msg-Id` on every try, so a retry is never a second bar).
pub async fn publish_bar(js: &jetstream::Context, b: &Bar, counters: &Counters) {
    let id = subjects::bar_msg_id(&b.symbol, b.timeframe, b.ts);
    let mut first = true;
    loop {
        if !first {
            counters.retried.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        let sent = bus::events::publish(
            js,
            subjects::bar(&b.symbol, b.timeframe),
            &id,
            model::event::types::MARKET_DATA_UPDATE,
            &id,
            "faults",
            b,
            None,
        )
        .await;
        if sent.is_ok() {
            return;
        }
        counters.failed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spawn(
    url: &str,
    name: &'static str,
    data: std::path::PathBuf,
) -> ServiceHandle<testkit::platform::BoxError> {
    let url = url.to_string();
    testkit::spawn_service(move |shutdown| async move {
        let client = bus::connect::connect(&url, name, None).await?;
        let result: Result<(), testkit::platform::BoxError> = match name {
            subjects::md::SERVICE => market_data::run(Default::default(), client, shutdown.wait())
                .await
                .map_err(Into::into),
            subjects::risk::SERVICE => {
                risk_service::run(Default::default(), client, shutdown.wait())
                    .await
                    .map_err(Into::into)
            }
            subjects::execution::SERVICE => {
                let mut config = execution_service::Config::default();
                config.exchange.fill_on_quotes = false;
                config.paper_signals = false;
                execution_service::run(config, client, shutdown.wait())
                    .await
                    .map_err(Into::into)
            }
            _ => portfolio_service::run(
                portfolio_service::Config::new(data),
                client,
                shutdown.wait(),
            )
            .await
            .map_err(Into::into),
        };
        result
    })
}

/// Every service instance of this process ready (or, with `false`, none).
fn all_ready(want: bool) -> bool {
    let all = bus::runner::process_health();
    SERVICES.iter().all(|name| {
        let mine: Vec<_> = all.iter().filter(|h| h.service == *name).collect();
        !mine.is_empty() && mine.iter().all(|h| h.ready == want)
    })
}

async fn wait(what: &str, timeout: Duration, check: impl Fn() -> bool) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    while !check() {
        anyhow::ensure!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(t0.elapsed())
}

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let total: u64 = mode.pick(40, 400);
    let temp = tempfile::tempdir()?;
    let store = temp.path().join("jetstream");
    let conf = temp.path().join("sync-always.conf");
    std::fs::write(&conf, "jetstream {\n  sync_interval: always\n}\n")?;
    let port = testkit::leaf::free_port();
    let options = || ServerOptions {
        config: Some(conf.clone()),
        port: Some(port),
        store_dir: Some(store.clone()),
        ..Default::default()
    };
    let server = NatsServer::start_with(options()).await?;
    let url = server.url().to_string();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data)?;
    let mut handles = Vec::new();
    for name in SERVICES {
        handles.push(spawn(&url, name, data.clone()));
        // One at a time: the streams they share are made once.
        testkit::wait_until(
            &format!("{name} ready"),
            Duration::from_secs(30),
            || async {
                bus::runner::process_health()
                    .iter()
                    .any(|h| h.service == name && h.ready)
                    .then_some(())
            },
        )
        .await;
    }
    let client = bus::connect::connect(&url, "faults", None).await?;
    let js = jetstream::new(client.clone());
    let _: serde_json::Value =
        testkit::wait_until("the account opened", Duration::from_secs(30), || async {
            bus::request(
                &client,
                subjects::portfolio::ACCOUNT_OPEN,
                &serde_json::json!({"account": ACCOUNT, "cash": "100000000"}),
                RequestOptions::timeout(Duration::from_secs(5)),
            )
            .await
            .ok()
        })
        .await;

    let mut o = Outcome::new(
        "server-kill",
        "kill -9 of the only nats-server (file store, sync_interval: always), restarted on the same port and store after the services saw it gone",
        format!("{total} market orders, one in flight, each followed by the bar that fills it (retried with the same client order id / Nats-Msg-Id); market-data, risk, execution, portfolio running"),
    );
    let counters = Arc::new(Counters::default());
    let driver = {
        let (client, js, counters) = (client.clone(), js.clone(), counters.clone());
        tokio::spawn(async move {
            publish_bar(&js, &bar(0), &counters).await;
            for n in 0..total {
                let body = flow::order_body(ACCOUNT, SYMBOL, "m", n, Kind::Market);
                match flow::submit(&client, &body, &counters, Duration::from_secs(90)).await {
                    Ok(order) => {
                        counters.acked.lock().insert(n, order);
                    }
                    Err(e) => counters.refused.lock().push(format!("m{n}: {e}")),
                }
                publish_bar(&js, &bar(n + 1), &counters).await;
            }
        })
    };
    wait("half the orders", Duration::from_secs(60), || {
        counters.acked_count() as u64 >= total / 2
    })
    .await?;
    let killed = Instant::now();
    server.kill().await;
    let not_ready = wait("every service not ready", Duration::from_secs(20), || {
        all_ready(false)
    })
    .await;
    o.check(
        not_ready.is_ok(),
        format!(
            "every service's health turned not ready while the server was gone ({})",
            match &not_ready {
                Ok(d) => format!("{:.0} ms after the kill", d.as_secs_f64() * 1000.0),
                Err(e) => e.to_string(),
            }
        ),
    );
    // Down for a while: requests in flight fail, publishes time out.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _server = testkit::wait_until(
        "nats-server back on its port",
        Duration::from_secs(20),
        || async { NatsServer::start_with(options()).await.ok() },
    )
    .await;
    let restarted = Instant::now();
    let ready = wait("every service ready again", Duration::from_secs(60), || {
        all_ready(true)
    })
    .await?;
    let acked_then = counters.acked_count();
    wait("orders flowing again", Duration::from_secs(60), || {
        counters.acked_count() > acked_then || counters.acked_count() as u64 == total
    })
    .await?;
    o.recovery = Some(killed.elapsed());
    o.checks.push(format!(
        "every service reconnected by itself and was ready again {:.0} ms after the restart (down {:.0} ms); the next order was acknowledged {:.0} ms after the kill",
        ready.as_secs_f64() * 1000.0,
        (restarted - killed).as_secs_f64() * 1000.0,
        killed.elapsed().as_secs_f64() * 1000.0,
    ));
    tokio::time::timeout(Duration::from_secs(180), driver).await??;
    eprintln!("faults: server-kill: the flow finished; checking");

    o.requests_sent = counters.sent.load(Ordering::Relaxed);
    o.requests_failed = counters.failed.load(Ordering::Relaxed);
    o.requests_retried = counters.retried.load(Ordering::Relaxed);
    let acked = counters.acked.lock().clone();
    let refused = counters.refused.lock().clone();
    o.check(
        refused.is_empty(),
        format!("no order refused or unanswered ({refused:?})"),
    );
    o.check(
        acked.len() as u64 == total,
        format!("{} of {total} orders acknowledged", acked.len()),
    );

    // Every order fills (a later bar fills it when its own bar went by while
    // the exchange was reconnecting): publish more bars until portfolio counts
    // every fill, at most 20.
    let summary = |client: async_nats::Client| async move {
        bus::request::<_, Summary>(
            &client,
            subjects::portfolio::SUMMARY_GET,
            &serde_json::json!({"account": ACCOUNT}),
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await
        .ok()
    };
    let mut extra = 0;
    let mut last = None;
    for i in 0..=20u64 {
        let s = testkit::wait_until("a portfolio summary", Duration::from_secs(30), || {
            summary(client.clone())
        })
        .await;
        let done = s.fills >= total;
        eprintln!(
            "faults: server-kill: portfolio counts {} fills of {total}",
            s.fills
        );
        last = Some(s);
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s = summary(client.clone()).await;
        if s.as_ref().is_some_and(|s| s.fills >= total) {
            last = s;
            break;
        }
        publish_bar(&js, &bar(total + 1 + i), &counters).await;
        extra += 1;
    }
    let summary = last.expect("a summary");
    eprintln!(
        "faults: server-kill: {} fills counted, {extra} extra bars",
        summary.fills
    );

    let events = flow::read_stream(&js, subjects::streams::ORDERS, "evt.>")
        .await
        .map_err(anyhow::Error::msg)?;
    let decisions: Vec<String> = events
        .iter()
        .filter(|(s, _)| s.starts_with(&format!("evt.order.{ACCOUNT}.")))
        .map(|(_, id)| id.clone())
        .collect();
    let fills: Vec<String> = events
        .iter()
        .filter(|(s, _)| s.starts_with(&format!("evt.fill.{ACCOUNT}.")))
        .map(|(_, id)| id.clone())
        .collect();
    let expected: Vec<String> = acked
        .values()
        .map(|order| subjects::msg_id::order_decision(&order.id))
        .collect();
    let (lost, duplicated) = flow::lost_and_duplicated(&expected, &decisions);
    let (_, fills_twice) = flow::lost_and_duplicated(&Vec::new(), &fills);
    let fills_lost = total.saturating_sub(fills.len() as u64);
    o.events_published = (decisions.len() + fills.len()) as u64;
    o.events_consumed = summary.fills;
    o.events_lost = lost + fills_lost;
    o.events_duplicated = duplicated + fills_twice;
    o.check(
        lost == 0 && duplicated == 0 && decisions.len() == acked.len(),
        format!("{} order decisions in ORDERS for {} acknowledged orders: {lost} missing, {duplicated} twice", decisions.len(), acked.len()),
    );
    o.check(
        fills.len() as u64 == total && fills_twice == 0,
        format!("{} fills in ORDERS for {total} market orders, {fills_twice} twice ({extra} extra bars published)", fills.len()),
    );
    o.check(
        summary.fills == total,
        format!(
            "portfolio's durable consumer resumed and counted {} fills, each once",
            summary.fills
        ),
    );
    let positions = bus::request::<_, PositionsResponse>(
        &client,
        subjects::portfolio::POSITIONS_GET,
        &serde_json::json!({"account": ACCOUNT}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await?;
    let net: rust_decimal::Decimal = positions.positions.iter().map(|p| p.qty).sum();
    o.check(
        net == rust_decimal::Decimal::ZERO,
        format!("alternate buys and sells of 1 leave a flat position (net {net})"),
    );
    eprintln!("faults: server-kill: ORDERS read");
    // Durable consumers resumed: nothing left pending or unacknowledged.
    let mut consumers = Vec::new();
    for stream in [subjects::streams::ORDERS, subjects::streams::MARKET] {
        let s = js.get_stream(stream).await?;
        let names: Vec<String> = {
            use futures::TryStreamExt;
            s.consumer_names().try_collect().await?
        };
        for name in names {
            let info = testkit::wait_until(
                &format!("{stream}/{name} drained"),
                Duration::from_secs(30),
                || async {
                    let info = s.consumer_info(&name).await.ok()?;
                    (info.num_pending == 0 && info.num_ack_pending == 0).then_some(info)
                },
            )
            .await;
            if info.config.durable_name.is_some() {
                consumers.push(format!("{stream}/{name}"));
            }
        }
    }
    o.check(
        !consumers.is_empty(),
        format!(
            "durable consumers resumed with nothing pending or unacknowledged: {}",
            consumers.join(", ")
        ),
    );
    for (name, h) in SERVICES.iter().zip(handles) {
        let stopped = tokio::time::timeout(Duration::from_secs(20), h.stop()).await;
        o.check(
            stopped.is_ok(),
            format!("{name} shut down within 20 s after the reconnection"),
        );
    }
    Ok(vec![o])
}
