//! kill -9 one of two instances of execution, then one of two of risk, under
//! a steady flow of orders (a few workers, one order in flight each). The
//! client retries an unanswered order with the same client order id, so the
//! only orders that see a failure are those in flight at a kill; every
//! acknowledged order is in ORDERS once and in the OMS as acknowledged.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bus::{subjects, RequestOptions};
use rust_decimal_macros::dec;
use testkit::Platform;
use trading::event::{AccountOpened, OrderEvent};
use trading::Order;

use super::flow::{self, Flow};
use super::{Mode, Outcome};

const ACCOUNT: &str = "ik";

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let total: u64 = mode.pick(160, 2000);
    let workers: u64 = mode.pick(4, 8);
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 2, |c, s| {
            let config = risk_service::Config {
                lease_ttl: Duration::from_millis(1500),
                ..Default::default()
            };
            risk_service::run(config, c, s.wait())
        })
        .service(subjects::execution::SERVICE, 2, |c, s| {
            let config = execution_service::Config {
                lease_ttl: Duration::from_secs(2),
                ..Default::default()
            };
            execution_service::run(config, c, s.wait())
        })
        .start()
        .await;
    platform.import_goog(2000..2010).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let opened = OrderEvent::AccountOpened(AccountOpened {
        account: ACCOUNT.to_string(),
        cash: dec!(100000000),
    });
    bus::events::publish_order_event(&js, &opened, "faults", "faults").await?;

    let mut o = Outcome::new(
        "instance-kill",
        "kill -9 (runtime and connection dropped at once) of execution instance 0 of 2, then of risk instance 0 of 2",
        format!("{total} resting limit orders from {workers} workers, one order in flight each, retried with the same client order id"),
    );
    let flow = Flow::start(&client, ACCOUNT, "GOOG", workers, total);
    let bound = Duration::from_secs(60);
    anyhow::ensure!(
        flow.reached(total as usize / 4, bound).await,
        "the flow stalled before the first kill"
    );
    let t_exec = Instant::now();
    platform.instance(subjects::execution::SERVICE, 0).abort();
    let acked_at_kill = flow.counters.acked_count();
    anyhow::ensure!(
        flow.reached(acked_at_kill + workers as usize * 2, bound)
            .await,
        "no order went through after execution 0 was killed"
    );
    let exec_recovery = t_exec.elapsed();
    anyhow::ensure!(
        flow.reached(total as usize * 6 / 10, bound).await,
        "the flow stalled before the second kill"
    );
    let t_risk = Instant::now();
    platform.instance(subjects::risk::SERVICE, 0).abort();
    let acked_at_kill = flow.counters.acked_count();
    anyhow::ensure!(
        flow.reached(acked_at_kill + workers as usize * 2, bound)
            .await,
        "no order went through after risk 0 was killed"
    );
    let risk_recovery = t_risk.elapsed();
    let counters: Arc<flow::Counters> = flow.finish().await;

    o.requests_sent = counters.sent.load(Ordering::Relaxed);
    o.requests_failed = counters.failed.load(Ordering::Relaxed);
    o.requests_retried = counters.retried.load(Ordering::Relaxed);
    o.recovery = Some(exec_recovery.max(risk_recovery));
    let acked = counters.acked.lock().clone();
    let refused = counters.refused.lock().clone();
    o.check(
        refused.is_empty(),
        format!("no order refused ({refused:?})"),
    );
    o.check(
        acked.len() as u64 == total,
        format!("{} of {total} orders acknowledged", acked.len()),
    );
    let retried_orders = counters.retried_orders.load(Ordering::Relaxed);
    o.check(
        retried_orders <= 2 * workers,
        format!(
            "{retried_orders} orders needed a retry: at most the {workers} in flight at each of the 2 kills"
        ),
    );
    o.checks.push(format!(
        "recovery (kill → {} more acknowledged orders): execution {:.0} ms, risk {:.0} ms (a dead risk owner's partitions move after its 1.5 s lease); longest single order {} ms",
        workers * 2,
        exec_recovery.as_secs_f64() * 1000.0,
        risk_recovery.as_secs_f64() * 1000.0,
        counters.longest_ms.load(Ordering::Relaxed)
    ));

    // ORDERS: one decision per acknowledged order, none twice.
    let found = flow::read_stream(
        &js,
        subjects::streams::ORDERS,
        &format!("evt.order.{ACCOUNT}.>"),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let ids: Vec<String> = found.into_iter().map(|(_, id)| id).collect();
    let expected: Vec<String> = acked
        .values()
        .map(|order| subjects::msg_id::order_decision(&order.id))
        .collect();
    let (lost, duplicated) = flow::lost_and_duplicated(&expected, &ids);
    o.events_published = ids.len() as u64;
    o.events_consumed = ids.len() as u64;
    o.events_lost = lost;
    o.events_duplicated = duplicated;
    o.check(
        lost == 0,
        format!("{lost} acknowledged orders missing from ORDERS"),
    );
    o.check(
        duplicated == 0,
        format!("{duplicated} order decisions in ORDERS twice"),
    );
    o.check(
        ids.len() == acked.len(),
        format!(
            "{} decisions in ORDERS for {} orders",
            ids.len(),
            acked.len()
        ),
    );
    // The surviving execution instance knows every order as acknowledged.
    let mut mismatched = Vec::new();
    for (n, order) in &acked {
        let now = bus::request::<_, Order>(
            &client,
            subjects::execution::GET,
            &serde_json::json!({"account": ACCOUNT, "client_order_id": format!("k{n}")}),
            RequestOptions::timeout(Duration::from_secs(5)),
        )
        .await;
        match now {
            Ok(now) if now.id == order.id && now.status == order.status => {}
            other => mismatched.push(format!("k{n}: {other:?}")),
        }
    }
    o.check(
        mismatched.is_empty(),
        format!(
            "orders.get on the survivor answers every order as acknowledged ({} mismatched{})",
            mismatched.len(),
            mismatched
                .first()
                .map(|m| format!(", first {m}"))
                .unwrap_or_default()
        ),
    );
    Ok(vec![o])
}
