//! Edge catch-up: how fast the hub's sourced copy of an edge's ORDERS catches
//! up once the leaf link returns, beside the raw JetStream publish of the same
//! events into the edge's ORDERS in the same run.
//! - raw: async publish of N order events into the edge's ORDERS (link down);
//! - reconnect: link restored → the first queued event is on the hub;
//! - catch-up: first → all N in the hub's `EDGE_<NAME>_ORDERS`;
//! - live: with the link up, N more events published → all on the hub.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, Context};
use bus::edge::EdgeName;
use bus::jetstream::{ensure_stream, StreamSettings};
use bus::subjects::{self, edge::LINK_DENY, streams};
use serde::Serialize;
use testkit::leaf::{Hub, Leaf};

use crate::report::{self, Machine};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Order events queued on the edge while the link is down.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
}

#[derive(Serialize)]
struct Row {
    stage: String,
    events: usize,
    seconds: f64,
    events_per_second: Option<f64>,
}

fn row(stage: &str, events: usize, elapsed: Duration) -> Row {
    let per_s = (events > 0).then(|| events as f64 / elapsed.as_secs_f64());
    println!(
        "{:<60} {:>7} events {:>8.3} s {:>10.0} /s",
        stage,
        events,
        elapsed.as_secs_f64(),
        per_s.unwrap_or(0.0)
    );
    Row {
        stage: stage.to_string(),
        events,
        seconds: elapsed.as_secs_f64(),
        events_per_second: per_s,
    }
}

/// A realistic ORDERS message: an order-accepted envelope of about 600 bytes.
fn order_event(i: usize) -> (String, String, bytes::Bytes) {
    let id = format!("bench.o{i}");
    let body = serde_json::json!({
        "id": format!("ord:{id}"), "type": "ORDER_ACCEPTED", "ts": 1_700_000_000_000_000_000i64 + i as i64,
        "correlation_id": format!("corr-{i}"), "source": "execution",
        "data": {"event": "order_accepted", "order": {
            "id": id, "client_order_id": format!("o{i}"), "account": "bench", "symbol": "GOOG",
            "side": "buy", "type": "market", "qty": "10", "tif": "GTC", "reduce_only": false,
            "timeframe": "1d", "after_ts": 1_700_000_000_000_000_000i64, "status": "accepted",
            "filled_qty": "0", "avg_fill_price": "0", "commission": "0", "fills": 0,
            "created_ts": 1_700_000_000_000_000_000i64, "updated_ts": 1_700_000_000_000_000_000i64,
            "correlation_id": format!("corr-{i}"), "sequence": 0}}
    });
    (
        subjects::order_event("bench", "accepted"),
        subjects::msg_id::order_decision(&id),
        serde_json::to_vec(&body).unwrap_or_default().into(),
    )
}

/// Publishes events `[from, to)` into the edge's ORDERS, 1,024 acks in flight.
async fn publish(js: &Context, from: usize, to: usize) -> anyhow::Result<()> {
    let mut acks = Vec::with_capacity(1024);
    for i in from..to {
        let (subject, msg_id, payload) = order_event(i);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(bus::headers::MSG_ID, msg_id.as_str());
        acks.push(js.publish_with_headers(subject, headers, payload).await?);
        if acks.len() == 1024 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks {
        a.await?;
    }
    Ok(())
}

/// Waits until stream `name` holds `n` messages (polling every 5 ms, 10 min at most).
async fn wait_for(js: &Context, name: &str, n: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut stream = js.get_stream(name).await?;
    loop {
        if stream.info().await?.state.messages >= n {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "{name} stuck below {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// A link cut right after the hub streams are created, before anything
/// crossed: the hub's source has to be set up after the link returns.
async fn cold_cut(hub: &Hub, n: usize) -> anyhow::Result<Row> {
    let leaf = Leaf::start(hub, "bench-cold", &LINK_DENY).await;
    let hub_js = jetstream::new(hub.server.client().await);
    let client = leaf.server.client().await;
    let js = jetstream::new(client.clone());
    let settings = StreamSettings::default();
    ensure_stream(&js, bus::jetstream::orders_stream(&settings)).await?;
    leaf.wait_linked(subjects::edge::HUB_DOMAIN).await;
    let edge = EdgeName::new("bench-cold", subjects::edge::HUB_DOMAIN)?;
    let hub_domain = jetstream::with_domain(client, subjects::edge::HUB_DOMAIN);
    bus::edge::provision_hub(&hub_domain, &edge, &settings).await?;
    leaf.cut_link();
    publish(&js, 0, n).await?;
    let restored = Instant::now();
    leaf.restore_link();
    wait_for(&hub_js, &edge.hub_stream(streams::ORDERS), n as u64).await?;
    Ok(row(
        "cold: cut right after provisioning; restore → hub holds all",
        n,
        restored.elapsed(),
    ))
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let n = args.events;
    let hub = Hub::start(subjects::edge::HUB_DOMAIN).await;
    let leaf = Leaf::start(&hub, "bench", &LINK_DENY).await;
    let hub_js = jetstream::new(hub.server.client().await);
    let edge_client = leaf.server.client().await;
    let edge_js = jetstream::new(edge_client.clone());
    let settings = StreamSettings::default();
    ensure_stream(&edge_js, bus::jetstream::orders_stream(&settings)).await?;
    leaf.wait_linked(subjects::edge::HUB_DOMAIN).await;
    let edge = EdgeName::new("bench", subjects::edge::HUB_DOMAIN)?;
    bus::edge::provision_hub(
        &jetstream::with_domain(edge_client, subjects::edge::HUB_DOMAIN),
        &edge,
        &settings,
    )
    .await?;
    let copy = edge.hub_stream(streams::ORDERS);
    // One event through first, so the hub's source consumer exists before the cut.
    publish(&edge_js, 0, 1).await?;
    wait_for(&hub_js, &copy, 1).await?;

    let mut rows = Vec::new();
    leaf.cut_link();
    let started = Instant::now();
    publish(&edge_js, 1, n + 1).await?;
    rows.push(row(
        "raw JetStream async publish into the edge's ORDERS (link down)",
        n,
        started.elapsed(),
    ));

    let restored = Instant::now();
    leaf.restore_link();
    wait_for(&hub_js, &copy, 2).await?;
    let first = restored.elapsed();
    wait_for(&hub_js, &copy, n as u64 + 1).await?;
    let all = restored.elapsed();
    rows.push(row(
        "reconnect: link restored → first queued event on the hub",
        0,
        first,
    ));
    rows.push(row(
        "catch-up: first → every queued event on the hub",
        n - 1,
        all - first,
    ));
    rows.push(row("link restored → every queued event on the hub", n, all));

    let started = Instant::now();
    publish(&edge_js, n + 1, 2 * n + 1).await?;
    wait_for(&hub_js, &copy, 2 * n as u64 + 1).await?;
    rows.push(row(
        "live: publish on the edge → on the hub (link up)",
        n,
        started.elapsed(),
    ));
    let hub_count = hub_js.get_stream(&copy).await?.info().await?.state.messages;
    anyhow::ensure!(hub_count == 2 * n as u64 + 1, "hub holds {hub_count}");
    rows.push(cold_cut(&hub, n).await?);

    let description = "Store-and-forward of an edge: N order events stored on the edge while its leaf link is down, then the time until the hub's sourced copy (EDGE_<NAME>_ORDERS) holds them all, beside raw JetStream publish into the edge's ORDERS; same servers, same run.";
    let json = serde_json::json!({
        "benchmark": "edge-catch-up",
        "description": description,
        "date": report::now_rfc3339(),
        "machine": Machine::here(),
        "parameters": {"events": n, "event_bytes": order_event(0).2.len(),
            "servers": "hub and edge: private nats-servers (testkit::leaf), default sync (not sync_interval: always), link through a loopback TCP relay",
            "leaf_reconnect": "1s"},
        "rows": rows,
    });
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("edge_catch_up.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut md = format!(
        "# edge-catch-up\n\n{description}\n\nRun {}, {n} events of {} bytes.\n\n| stage | events | seconds | events/s |\n|---|---:|---:|---:|\n",
        json["date"].as_str().unwrap_or(""),
        order_event(0).2.len(),
    );
    for r in &rows {
        let per_s = r
            .events_per_second
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "–".into());
        md.push_str(&format!(
            "| {} | {} | {:.3} | {per_s} |\n",
            r.stage, r.events, r.seconds
        ));
    }
    md.push_str("\nThe reconnect is bounded by the leaf node's reconnect interval (1 s). The hub count is polled every 5 ms. \
The warm rows cut the link after one event has crossed (the hub's source consumer on the edge exists); the cold row cuts it \
right after the hub streams are created, so the hub sets its source up only on a later retry: the catch-up then waits for \
nats-server's source retry, not for the data.\n");
    std::fs::write(out_dir.join("edge_catch_up.md"), md)?;
    println!("wrote {}", out_dir.join("edge_catch_up.md").display());
    Ok(())
}
