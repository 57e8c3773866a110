//! Marks: live bars move the last price of the positions they concern (and
//! the account's equity with it), then a `PORTFOLIO_UPDATE`; a bar through a
//! position's stop-loss or take-profit sends a reduce-only market order for
//! the whole position through `orders.submit` (it fills on the next bar, like
//! any market order).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Side, Symbol};
use tokio::sync::watch;
use trading::{Order, OrderRequest, OrderType, TimeInForce};

use crate::consumer::publish_update;
use crate::Ctx;

/// At start: every held symbol marked at its newest stored bar.
pub async fn mark_from_stored_bars(ctx: &Arc<Ctx>, market: &Stream) {
    let symbols: Vec<Symbol> = {
        let book = ctx.book.lock().unwrap();
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
    };
    for symbol in symbols {
        let Ok(message) = market
            .direct_get_last_for_subject(subjects::bars_of_symbol(&symbol))
            .await
        else {
            continue;
        };
        if let Ok(bar) = serde_json::from_slice::<Event<Bar>>(&message.payload) {
            let mut book = ctx.book.lock().unwrap();
            for ledger in book.ledgers.values_mut() {
                ledger.mark(&symbol, bar.data.close, bar.data.ts);
            }
        }
    }
}

pub async fn run(ctx: Arc<Ctx>, market: Stream, mut stop: watch::Receiver<bool>) {
    // Protective orders sent, by (account, symbol), with the position they closed.
    let mut sent: HashMap<(String, Symbol), Decimal> = HashMap::new();
    loop {
        let Some(mut bars) = bus::follow::retry_until(
            "follow MARKET",
            Duration::from_secs(1),
            &mut stop,
            || async {
                market
                    .create_consumer(pull::OrderedConfig {
                        filter_subject: "md.bar.>".to_string(),
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
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return,
                next = bars.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    if let Ok(bar) = serde_json::from_slice::<Event<Bar>>(&message.payload) {
                        on_bar(&ctx, &bar, &mut sent).await;
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

async fn on_bar(ctx: &Arc<Ctx>, bar: &Event<Bar>, sent: &mut HashMap<(String, Symbol), Decimal>) {
    let b = &bar.data;
    let mut marked = Vec::new();
    let mut protect = Vec::new();
    let sequence = {
        let mut book = ctx.book.lock().unwrap();
        for (account, ledger) in book.ledgers.iter_mut() {
            if !ledger.mark(&b.symbol, b.close, b.ts) {
                continue;
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
        book.sequence
    };
    for account in &marked {
        publish_update(ctx, account, sequence, b.ts.0, &bar.correlation_id).await;
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
            tif: TimeInForce::Gtc,
            reduce_only: true,
            timeframe: Some(b.timeframe),
            strategy_id: None,
            after_ts: Some(b.ts),
        };
        let client = ctx.client.clone();
        let options = RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(bar.correlation_id.clone()),
        };
        tokio::spawn(async move {
            match request::<_, Order>(&client, subjects::execution::SUBMIT, &req, options).await {
                Ok(order) => {
                    tracing::info!(account, order_id = %order.id, reason = why, status = ?order.status, "protective order sent")
                }
                Err(e) => {
                    tracing::warn!(account, reason = why, error = %e, "protective order failed")
                }
            }
        });
    }
}
