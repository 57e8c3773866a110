//! Duplicate publish and redelivery of every event type. With market-data,
//! risk, execution (paper signals on) and portfolio running and a few orders
//! filled:
//! - every message of MARKET (bars), SIGNALS, ORDERS (decisions, fills,
//!   account events), PORTFOLIO (updates) and ALERTS is published again with
//!   its own `Nats-Msg-Id`: each stream keeps the first, nothing changes;
//! - one paper signal is published three times, twice with one id and once
//!   under another (a redelivery JetStream cannot tell apart): one order;
//! - portfolio is killed in the middle of a burst of fills and started again:
//!   its durable consumer redelivers what was not acknowledged; every fill is
//!   counted once.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bus::api::portfolio::Summary;
use bus::{subjects, RequestOptions};
use futures::StreamExt;
use serde_json::json;
use testkit::Platform;

use super::flow::{self, Counters, Kind};
use super::server_kill::{bar, publish_bar};
use super::{Mode, Outcome};

const ACCOUNT: &str = "dp";

async fn summary(client: &async_nats::Client) -> Option<Summary> {
    bus::request::<_, Summary>(
        client,
        subjects::portfolio::SUMMARY_GET,
        &json!({"account": ACCOUNT}),
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await
    .ok()
}

async fn fills_counted(client: &async_nats::Client, want: u64) -> Option<u64> {
    let found = tokio::time::timeout(Duration::from_secs(60), testkit_wait(client, want)).await;
    match found {
        Ok(n) => Some(n),
        Err(_) => summary(client).await.map(|s| s.fills),
    }
}

async fn testkit_wait(client: &async_nats::Client, want: u64) -> u64 {
    loop {
        if let Some(s) = summary(client).await {
            if s.fills >= want {
                return s.fills;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every message of `stream`: subject, headers, payload.
async fn messages(
    js: &jetstream::Context,
    stream: &str,
) -> anyhow::Result<Vec<(String, async_nats::HeaderMap, bytes::Bytes)>> {
    let s = js.get_stream(stream).await?;
    let consumer = s.create_consumer(pull::OrderedConfig::default()).await?;
    let pending = consumer.cached_info().num_pending as usize;
    let mut all = Vec::new();
    let mut m = consumer.messages().await?;
    while all.len() < pending {
        let msg = tokio::time::timeout(Duration::from_secs(10), m.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("{stream} ended"))??;
        all.push((
            msg.subject.to_string(),
            msg.headers.clone().unwrap_or_default(),
            msg.payload.clone(),
        ));
    }
    Ok(all)
}

async fn last_sequence(js: &jetstream::Context, stream: &str) -> anyhow::Result<u64> {
    Ok(js.get_stream(stream).await?.info().await?.state.messages)
}

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let orders: u64 = mode.pick(10, 50);
    let burst: u64 = mode.pick(20, 100);
    let data = tempfile::tempdir()?;
    let dir = data.path().to_path_buf();
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
            execution_service::run(config, c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(dir.clone()), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let (code, body) = testkit::raw_request(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        &json!({"account": ACCOUNT, "cash": "100000000"}),
    )
    .await;
    anyhow::ensure!(code == 0, "account open: {body}");
    let mut o = Outcome::new(
        "duplicates",
        "every stored event of MARKET, SIGNALS, ORDERS, PORTFOLIO and ALERTS published again with its Nats-Msg-Id; one paper signal three times (once under a new id); portfolio killed mid-burst of fills and restarted (redelivery)",
        format!("{orders} market orders filled first, then a burst of {burst} more while portfolio is killed"),
    );
    let counters = Counters::default();
    let mut next_bar = 0u64;
    publish_bar(&js, &bar(next_bar), &counters).await;
    for n in 0..orders {
        let body = flow::order_body(ACCOUNT, "FLT", "d", n, Kind::Market);
        flow::submit(&client, &body, &counters, Duration::from_secs(30))
            .await
            .map_err(anyhow::Error::msg)?;
        next_bar += 1;
        publish_bar(&js, &bar(next_bar), &counters).await;
    }
    let counted = fills_counted(&client, orders).await.unwrap_or_default();
    anyhow::ensure!(
        counted == orders,
        "{counted} of {orders} fills counted before the duplicates"
    );
    // Alerts: a halt (critical), an order it rejects (warning), resumed.
    let (code, body) = testkit::raw_request(
        &client,
        subjects::risk::HALT,
        &json!({"account": ACCOUNT, "reason": "fault suite"}),
    )
    .await;
    anyhow::ensure!(code == 0, "risk.halt: {body}");
    let refused = json!({"client_order_id": "halted", "account": ACCOUNT, "symbol": "FLT",
        "side": "buy", "type": "market", "qty": "1"});
    let _ = bus::request::<_, serde_json::Value>(
        &client,
        subjects::execution::SUBMIT,
        &refused,
        RequestOptions::timeout(Duration::from_secs(5)),
    )
    .await;
    let (code, body) = testkit::raw_request(
        &client,
        subjects::risk::RESUME,
        &json!({"account": ACCOUNT}),
    )
    .await;
    anyhow::ensure!(code == 0, "risk.resume: {body}");
    testkit::wait_until("two alerts in ALERTS", Duration::from_secs(30), || async {
        (last_sequence(&js, subjects::streams::ALERTS).await.ok()? >= 2).then_some(())
    })
    .await;

    // 1. A paper signal, three times: twice under its id, once under another.
    next_bar += 1;
    let signal_bar = bar(next_bar);
    let signal = json!({
        "strategy_id": "dup-test", "kind": "sma_cross", "mode": "paper",
        "paper": {"account": ACCOUNT, "sizing": {"rule": "fixed_qty", "qty": "3"}},
        "signal": {"symbol": "FLT", "timeframe": signal_bar.timeframe, "ts": signal_bar.ts,
            "direction": "long", "price": "100", "reason": "fault suite"},
        "bar_sequence": 1,
    });
    let sig_id = subjects::signal_msg_id(
        "dup-test",
        &signal_bar.symbol,
        signal_bar.timeframe,
        signal_bar.ts,
    );
    let subject = subjects::signal("dup-test", &signal_bar.symbol);
    let mut sig_dups = 0;
    for id in [sig_id.clone(), sig_id.clone(), format!("{sig_id}:again")] {
        let stored = bus::events::publish(
            &js,
            subject.clone(),
            &id,
            model::event::types::TRADING_SIGNAL,
            "faults",
            "faults",
            &signal,
            None,
        )
        .await?;
        sig_dups += stored.duplicate as u64;
    }
    o.check(
        sig_dups == 1,
        format!(
            "the second publish of the signal under its id was a JetStream duplicate ({sig_dups})"
        ),
    );
    // Its order fills on the next bar.
    let sig_orders = testkit::wait_until("the signal's order", Duration::from_secs(30), || async {
        let found = flow::read_stream(
            &js,
            subjects::streams::ORDERS,
            &format!("evt.order.{ACCOUNT}.>"),
        )
        .await
        .ok()?;
        let n = found.iter().filter(|(_, id)| id.contains(".sig-")).count();
        (n >= 1).then_some(n)
    })
    .await;
    next_bar += 1;
    publish_bar(&js, &bar(next_bar), &counters).await;
    let want = orders + 1;
    let counted = fills_counted(&client, want).await.unwrap_or_default();
    // Let the third copy (new id) be consumed too before counting.
    testkit::wait_until(
        "execution-signals drained",
        Duration::from_secs(30),
        || async {
            let s = js.get_stream(subjects::streams::SIGNALS).await.ok()?;
            let info = s
                .consumer_info(subjects::execution::SIGNALS_CONSUMER)
                .await
                .ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        },
    )
    .await;
    let found = flow::read_stream(
        &js,
        subjects::streams::ORDERS,
        &format!("evt.order.{ACCOUNT}.>"),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let sig_decisions = found.iter().filter(|(_, id)| id.contains(".sig-")).count();
    let fills = flow::read_stream(
        &js,
        subjects::streams::ORDERS,
        &format!("evt.fill.{ACCOUNT}.>"),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let sig_fills = fills.iter().filter(|(_, id)| id.contains(".sig-")).count();
    o.check(
        sig_orders == 1 && sig_decisions == 1 && sig_fills == 1 && counted == want,
        format!("three copies of one paper signal made {sig_decisions} order and {sig_fills} fill; portfolio counts {counted} fills of {want}"),
    );

    // 2. Every stored event again, with its own id.
    let settled = |js: jetstream::Context| async move {
        let mut counts = Vec::new();
        for s in [
            subjects::streams::MARKET,
            subjects::streams::SIGNALS,
            subjects::streams::ORDERS,
            subjects::streams::PORTFOLIO,
            subjects::streams::ALERTS,
        ] {
            counts.push((s, last_sequence(&js, s).await.unwrap_or_default()));
        }
        counts
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = settled(js.clone()).await;
    let before_fills = summary(&client).await.map(|s| s.fills).unwrap_or_default();
    let mut republished = 0u64;
    let mut kept_out = 0u64;
    let mut per_stream = Vec::new();
    for (stream, _) in &before {
        let all = messages(&js, stream).await?;
        let mut dup = 0;
        for (subject, headers, payload) in &all {
            let mut h = async_nats::HeaderMap::new();
            for (k, vs) in headers.iter() {
                if k.to_string().starts_with("Nats-Expected") {
                    continue;
                }
                for v in vs {
                    h.append(k.clone(), v.clone());
                }
            }
            let ack = js
                .publish_with_headers(subject.clone(), h, payload.clone())
                .await?
                .await?;
            republished += 1;
            if ack.duplicate {
                dup += 1;
                kept_out += 1;
            }
        }
        per_stream.push(format!("{stream} {dup}/{}", all.len()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = settled(js.clone()).await;
    let after_fills = summary(&client).await.map(|s| s.fills).unwrap_or_default();
    o.events_published += republished;
    o.events_duplicated += republished - kept_out;
    o.check(
        kept_out == republished && before == after,
        format!("{kept_out} of {republished} republished events kept out as duplicates ({}); stream sizes unchanged: {after:?}", per_stream.join(", ")),
    );
    o.check(
        after_fills == before_fills,
        format!("portfolio's fills unchanged by the duplicates ({after_fills})"),
    );

    // 3. Redelivery: portfolio dies in a burst of fills and comes back.
    let portfolio = platform.instance(subjects::portfolio::SERVICE, 0);
    let start = before_fills;
    for n in 0..burst {
        let body = flow::order_body(ACCOUNT, "FLT", "r", n, Kind::Market);
        flow::submit(&client, &body, &counters, Duration::from_secs(30))
            .await
            .map_err(anyhow::Error::msg)?;
        next_bar += 1;
        publish_bar(&js, &bar(next_bar), &counters).await;
        if n == burst / 2 {
            portfolio.abort();
        }
    }
    let t0 = std::time::Instant::now();
    portfolio.restart().await;
    let want = start + burst;
    let counted = fills_counted(&client, want).await.unwrap_or_default();
    o.recovery = Some(t0.elapsed());
    let redelivered = {
        let s = js.get_stream(subjects::streams::ORDERS).await?;
        let names: Vec<String> = {
            use futures::TryStreamExt;
            s.consumer_names().try_collect().await?
        };
        let mut r = 0;
        for name in names.iter().filter(|n| n.starts_with("portfolio")) {
            r += s.consumer_info(name).await?.num_redelivered;
        }
        r
    };
    // Settle and count again: nothing more arrives later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counted_later = summary(&client).await.map(|s| s.fills).unwrap_or_default();
    o.events_consumed = counted_later;
    o.events_lost = want.saturating_sub(counted_later);
    o.events_duplicated += counted_later.saturating_sub(want);
    o.check(
        counted == want && counted_later == want,
        format!("after the crash and restart portfolio counts {counted_later} fills for {want} (portfolio consumers' redelivered count {redelivered})"),
    );
    o.requests_sent = counters.sent.load(std::sync::atomic::Ordering::Relaxed);
    o.requests_failed = counters.failed.load(std::sync::atomic::Ordering::Relaxed);
    o.requests_retried = counters.retried.load(std::sync::atomic::Ordering::Relaxed);
    Ok(vec![o])
}
