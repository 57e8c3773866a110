//! Marks: once the book has caught up with ORDERS, the newest stored bar of
//! every held symbol, then every live bar, move the last price of the
//! positions they concern (and the account's equity with it), then a
//! `PORTFOLIO_UPDATE`; a bar through a position's stop-loss or take-profit
//! sends a reduce-only market order for the whole position through
//! `orders.submit` (it fills on the next bar, like any market order).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::{Bar, Event, Side, Symbol};
use tokio::sync::watch;
use trading::{Order, OrderRequest, OrderType, TimeInForce};

use crate::{updates, Ctx};

pub async fn run(ctx: Arc<Ctx>, marked: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
    // Marks go on positions the book has: wait for what ORDERS had at start
    // (after a snapshot loss that is a full replay), or a replay would end up
    // marked at its fill prices while a live run is marked at the bars.
    let mut applied = ctx.applied.clone();
    let caught_up = tokio::select! {
        _ = bus::follow::stopped(&mut stop) => false,
        r = applied.wait_for(|s| *s >= ctx.start_sequence) => r.is_ok(),
    };
    if !caught_up {
        return;
    }
    let market = &ctx.market;
    loop {
        let Some(mut bars) = bus::follow::retry_until(
            "follow MARKET",
            Duration::from_secs(1),
            &mut stop,
            || async {
                market
                    .create_consumer(pull::OrderedConfig {
                        filter_subject: subjects::streams::MARKET_SUBJECTS[0].to_string(),
                        deliver_policy: DeliverPolicy::New,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?
                    .messages()
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .await
        else {
            return;
        };
        // Live bars from here on; before, the newest stored one (a bar older
        // than a position's mark changes nothing, so overlap is harmless).
        mark_at_stored_bars(&ctx, held_symbols(&ctx)).await;
        marked.send_replace(true);
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                next = bars.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    if let Ok(bar) = serde_json::from_slice::<Event<Bar>>(&message.payload) {
                        // The marks a bar makes belong to the bar's trace.
                        let trace = bus::trace::continue_from(message.headers.as_ref());
                        let span = bus::trace_span!("mark", trace,
                            service = subjects::portfolio::SERVICE, symbol = %bar.data.symbol);
                        bus::trace::in_span(trace, span, on_bar(&ctx, &bar)).await;
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "following MARKET: retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                None => break,
            }
        }
    }
}

/// Symbols with an open position in some account.
fn held_symbols(ctx: &Ctx) -> Vec<Symbol> {
    let book = ctx.book.lock();
    let mut s: Vec<Symbol> = book
        .ledgers
        .values()
        .flat_map(|l| {
            l.positions
                .values()
                .filter(|p| !p.qty.is_zero())
                .map(|p| p.symbol.clone())
        })
        .collect();
    s.sort();
    s.dedup();
    s
}

/// `symbols` marked at their newest stored bar (any timeframe), as if that
/// bar had just come: with its update and its stop-loss / take-profit check
/// (the order's id is the bar's, so a bar seen before sends nothing new).
/// After a start, and after each fill: a fill on an older bar (paper trading
/// replayed history) must not leave the position marked in the past, or the
/// numbers would depend on whether a live bar happened to come afterwards.
pub async fn mark_at_stored_bars(ctx: &Ctx, symbols: impl IntoIterator<Item = Symbol>) {
    for symbol in symbols {
        match bus::queries::newest_bar(&ctx.market, &symbol, None).await {
            Ok(Some(bar)) => on_bar(ctx, &bar).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(%symbol, error = %e, "newest stored bar not usable"),
        }
    }
}

async fn on_bar(ctx: &Ctx, bar: &Event<Bar>) {
    let b = &bar.data;
    let mut marked = Vec::new();
    let mut protect = Vec::new();
    let (sequence, marked_updates) = {
        let mut book = ctx.book.lock();
        let mut sent = ctx.protective.lock();
        for (account, ledger) in book.ledgers.iter_mut() {
            match ledger.mark(&b.symbol, b.close, b.ts) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    // The ledger is as it was; the next sane bar marks it.
                    tracing::error!(account, symbol = %b.symbol, ts = b.ts.0, error = %e,
                        "bar beyond the decimal range; not marked");
                    continue;
                }
            }
            marked.push(account.clone());
            let position = &ledger.positions[&b.symbol];
            let key = (account.clone(), b.symbol.clone());
            if sent.get(&key).is_some_and(|q| *q != position.qty) {
                sent.remove(&key);
            }
            if let Some(why) = trading::ledger::protection_hit(position, b.low, b.high) {
                if let std::collections::hash_map::Entry::Vacant(e) = sent.entry(key) {
                    e.insert(position.qty);
                    protect.push((account.clone(), position.qty, why));
                }
            }
        }
        drop(sent);
        // Each update as of this bar, whatever comes next.
        let marked_updates: Vec<_> = marked
            .iter()
            .filter_map(|a| book.update(a).map(|u| (a.clone(), u)))
            .collect();
        (book.sequence, marked_updates)
    };
    for (account, update) in &marked_updates {
        updates::publish(ctx, account, sequence, b.ts.0, update, &bar.correlation_id).await;
    }
    for (account, qty, why) in protect {
        let req = OrderRequest {
            client_order_id: format!(
                "{}-{}-{}",
                if why == "stop_loss" { "sl" } else { "tp" },
                b.symbol,
                b.ts.0
            ),
            account: account.clone(),
            symbol: b.symbol.clone(),
            side: if qty.is_sign_positive() {
                Side::Sell
            } else {
                Side::Buy
            },
            order_type: OrderType::Market,
            qty: qty.abs(),
            limit_price: None,
            stop_price: None,
            trailing: None,
            expire_at: None,
            post_only: false,
            tif: TimeInForce::Gtc,
            reduce_only: true,
            timeframe: Some(b.timeframe),
            strategy_id: None,
            after_ts: Some(b.ts),
            sizing: None,
            bracket: None,
            oco: Vec::new(),
        };
        let client = ctx.client.clone();
        let options = RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(bar.correlation_id.clone()),
        };
        let pending = ctx.protective.clone();
        let key = (account.clone(), b.symbol.clone());
        tokio::spawn(send_protective(
            client, req, options, pending, key, qty, why,
        ));
    }
}

/// Sends a protective order until execution records it: a timeout, no
/// responders or a 5xx is retried with back-off (the client order id makes a
/// repeat the same order), a 4xx is an answer. It stops early once the
/// position it was for has changed (the next bar through a level sends a new
/// order for the new position).
async fn send_protective(
    client: async_nats::Client,
    req: OrderRequest,
    options: RequestOptions,
    pending: Arc<parking_lot::Mutex<std::collections::HashMap<(String, Symbol), model::Decimal>>>,
    key: (String, Symbol),
    qty: model::Decimal,
    why: &'static str,
) {
    let backoff = bus::retry::Backoff {
        first: Duration::from_millis(200),
        max: Duration::from_secs(10),
    };
    let what = format!("protective order {}", req.client_order_id);
    let account = req.account.clone();
    let sent = bus::retry::retry(&what, backoff, None, || async {
        if pending.lock().get(&key) != Some(&qty) {
            return Ok(None);
        }
        match request::<_, Order>(&client, subjects::execution::SUBMIT, &req, options.clone()).await
        {
            Ok(order) => Ok(Some(Ok(order))),
            Err(bus::RequestError::Service(e)) if e.code < 500 => Ok(Some(Err(e))),
            Err(e) => Err(e),
        }
    })
    .await
    .flatten();
    match sent {
        Some(Ok(order)) => {
            tracing::info!(account, order_id = %order.id, reason = why, status = ?order.status, "protective order sent")
        }
        Some(Err(e)) => {
            tracing::warn!(account, reason = why, error = %e, "protective order refused")
        }
        None => {
            tracing::info!(account, reason = why, order = %req.client_order_id, "protective order superseded: the position changed")
        }
    }
}
