//! Paper trading: signals of strategies started in `paper` mode become orders.
//!
//! A durable consumer on SIGNALS (`execution-signals`, shared by every
//! execution instance, one signal in flight so signals apply in order). For a
//! paper signal: the position wanted (long, short, flat) × the strategy's
//! sizing rule, minus what the account holds and has working, is one market
//! order through the same path as `orders.submit` (risk included), carrying
//! its sizing (`trading::FillSizing`): sized `at_fill` (the default) the paper
//! exchange decides its quantity at the fill; sized `at_signal` the fill can
//! only shrink it to what the account pays. Its client
//! order id is derived from the signal, so a redelivered signal finds its
//! order instead of making a second one. Acked once the order is decided.
//! Sizing waits (5 s at most) for the account's earlier market orders in the
//! symbol to fill, so the size does not depend on the exchange's timing.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::AckKind;
use bus::api::strategy::{Mode, SignalEvent};
use bus::{subjects, ErrorKind};
use futures::StreamExt;
use model::Event;
use tokio::sync::watch;
use trading::{OrderRequest, OrderType, TimeInForce};

use crate::Ctx;

pub async fn run(ctx: Arc<Ctx>, signals: Stream, mut stop: watch::Receiver<bool>) {
    let durable = subjects::execution::SIGNALS_CONSUMER;
    loop {
        let Some(mut messages) =
            bus::follow::retry_until(durable, Duration::from_secs(1), &mut stop, || async {
                signals
                    .get_or_create_consumer(
                        durable,
                        pull::Config {
                            durable_name: Some(durable.to_string()),
                            description: Some("paper strategies' signals into orders".to_string()),
                            ack_policy: AckPolicy::Explicit,
                            deliver_policy: DeliverPolicy::All,
                            ack_wait: Duration::from_secs(30),
                            max_ack_pending: 1,
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?
                    .messages()
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
        else {
            return;
        };
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                next = messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    // The signal's trace goes on into the risk check and the order.
                    let trace = bus::trace::continue_from(message.headers.as_ref());
                    let span =
                        bus::trace_span!("signal", trace, service = subjects::execution::SERVICE);
                    bus::trace::in_span(trace, span, handle(&ctx, message)).await
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "reading {durable}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                None => break,
            }
        }
    }
}

/// Client order id of a signal's order: short, valid, the same on every replay,
/// instance and build (FNV-1a, not std's hasher, whose output may change with
/// the Rust version: a redelivery during a rolling upgrade must not make a
/// second order).
fn client_order_id(signal: &SignalEvent) -> String {
    let key = format!(
        "{}|{}|{}|{}",
        signal.strategy_id, signal.signal.symbol, signal.signal.timeframe, signal.signal.ts.0
    );
    format!("sig-{:016x}", model::ids::stable_hash64(key.as_bytes()))
}

async fn handle(ctx: &Arc<Ctx>, message: async_nats::jetstream::Message) {
    let event: Event<SignalEvent> = match serde_json::from_slice(&message.payload) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "signal does not parse; terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let signal = &event.data;
    let (Mode::Paper, Some(paper)) = (signal.mode, &signal.paper) else {
        let _ = message.ack().await;
        return;
    };
    let correlation_id = event.correlation_id.clone();
    let symbol = &signal.signal.symbol;
    let price = signal.signal.price;
    // Size on a settled account: the previous signal's market order fills on a
    // bar at or before this signal's, so wait for it (bounded) to make sizing
    // independent of how fast the exchange got there.
    // Another instance may have placed the previous signal's order: see
    // everything ORDERS holds now before sizing on it.
    if let Err(e) = ctx.applied.catch_up(ctx.config.catch_up_timeout).await {
        tracing::warn!(correlation_id, error = %e, "paper signal: ORDERS not caught up; will retry");
        let _ = message
            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
            .await;
        return;
    }
    let settle = tokio::time::Instant::now() + Duration::from_secs(5);
    while ctx
        .oms
        .lock()
        .market_order_pending(&paper.account, symbol, signal.signal.ts)
        && tokio::time::Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Sized here at the signal's price: the order itself (`at_signal`), or the
    // estimate risk checks (`at_fill`: the exchange decides the quantity at
    // the fill from the account then, see `trading::sizing`).
    let fees = trading::Fees {
        pct: ctx.exchange().commission_pct,
        fixed: ctx.exchange().commission_fixed,
    };
    let sized = {
        let oms = ctx.oms.lock();
        oms.expected_position(&paper.account, symbol)
            .and_then(|expected| Ok((expected, oms.account_at(&paper.account, symbol)?)))
    };
    let sized = sized.and_then(|(expected, account)| match account {
        Some(account) => paper
            .sizing
            .units_for(&account, price, fees)
            .map(|units| Some((expected, units))),
        None => Ok(None),
    });
    let (expected, units) = match sized {
        Ok(Some(sized)) => sized,
        Ok(None) => {
            tracing::warn!(correlation_id, account = %paper.account, strategy = %signal.strategy_id,
                "paper signal for an account that is not open; skipped");
            let _ = message.ack().await;
            return;
        }
        Err(e) => {
            // Not transient: the same numbers overflow on every redelivery.
            tracing::error!(correlation_id, account = %paper.account, strategy = %signal.strategy_id,
                error = %e, "paper signal cannot be sized; terminated");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let Some((side, qty)) = trading::sizing::order_for(signal.signal.direction, units, expected)
    else {
        let _ = message.ack().await;
        return;
    };
    let req = OrderRequest {
        client_order_id: client_order_id(signal),
        account: paper.account.clone(),
        symbol: symbol.clone(),
        side,
        order_type: OrderType::Market,
        qty,
        limit_price: None,
        stop_price: None,
        trailing: None,
        expire_at: None,
        post_only: false,
        tif: TimeInForce::Gtc,
        reduce_only: false,
        timeframe: Some(signal.signal.timeframe),
        strategy_id: Some(signal.strategy_id.clone()),
        after_ts: Some(signal.signal.ts),
        sizing: Some(trading::FillSizing {
            direction: signal.signal.direction,
            sizing: paper.sizing.clone(),
            moment: paper.sizing_at,
            signal_price: Some(price),
        }),
        bracket: None,
        oco: Vec::new(),
    };
    match crate::submit::submit(ctx, req, &correlation_id).await {
        Ok(order) => {
            tracing::info!(correlation_id, strategy = %signal.strategy_id, order_id = %order.id,
                status = ?order.status, "paper signal became an order");
            let _ = message.ack().await;
        }
        Err(e)
            if matches!(
                e.kind,
                ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Internal
            ) =>
        {
            tracing::warn!(correlation_id, error = %e, "paper signal: will retry");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
        }
        Err(e) => {
            tracing::warn!(correlation_id, error = %e, "paper signal cannot become an order; skipped");
            let _ = message.ack().await;
        }
    }
}
