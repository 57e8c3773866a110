//! The paper exchange. One instance runs it (KV lease `lease.exchange` in
//! `execution-leases`); when that instance dies another takes over within one
//! lease time to live, rebuilds the working orders from the OMS and re-matches
//! each from its last fill. Fill ids are `<order id>.<n>` and the same bars give
//! the same fills, so anything the dead instance had published is dropped as a
//! duplicate.
//!
//! A new order first catches up on the bars stored after its `after_ts`
//! (paged `md.bars.get`), so a signal from replayed history fills on the bar
//! after the signal; then it follows live bars (an ordered consumer on MARKET)
//! and, for market orders, quotes. Cancels come here too
//! (`execution.exchange.cancel`, the one endpoint of the `paper-exchange` micro
//! service the holder registers), so a cancel and a fill of one order are
//! decided in one place.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use bus::api::md::{BarsRequest, BarsResponse};
use bus::api::orders::{ExchangeCancel, ExchangeCancelResponse};
use bus::lease::Leases;
use bus::{
    events, request, subjects, BusError, EndpointSpec, ErrorKind, MicroService, RequestOptions,
    ServiceError, ServiceSpec,
};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Quote, UnixNanos};
use tokio::sync::{mpsc, oneshot, watch};
use trading::event::{Fill, OrderEvent};
use trading::{Execution, Order, OrderStatus, Working};

use crate::oms::Notice;
use crate::Ctx;

/// Bars per `md.bars.get` page during catch-up.
const PAGE: u32 = 500;

pub async fn run(
    ctx: Arc<Ctx>,
    leases: Leases,
    mut notices: mpsc::UnboundedReceiver<Notice>,
    mut stop: watch::Receiver<bool>,
) {
    let name = subjects::execution::EXCHANGE_LEASE;
    let tick = (ctx.config.lease_ttl / 3).max(Duration::from_millis(100));
    loop {
        if *stop.borrow() {
            break;
        }
        while notices.try_recv().is_ok() {}
        match leases.try_acquire(name).await {
            Some(revision) => {
                tracing::info!(
                    instance = leases.holder(),
                    "paper exchange runs on this instance"
                );
                let (cancel_tx, mut cancels) = mpsc::channel(256);
                let endpoint = match cancel_endpoint(&ctx, cancel_tx).await {
                    Ok(endpoint) => endpoint,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot serve exchange cancels; giving the lease back");
                        leases.release(name, revision).await;
                        continue;
                    }
                };
                let led = lead(
                    &ctx,
                    &leases,
                    revision,
                    tick,
                    &mut notices,
                    &mut cancels,
                    &mut stop,
                )
                .await;
                // Cancels waiting for this book get "unavailable" and are retried by the caller.
                drop(cancels);
                endpoint.shutdown().await;
                match led {
                    Ok(revision) => {
                        leases.release(name, revision).await;
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "paper exchange stopped on this instance"),
                }
            }
            None => {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(tick) => {}
                }
            }
        }
    }
}

type CancelAsk = (
    ExchangeCancel,
    oneshot::Sender<Result<ExchangeCancelResponse, ServiceError>>,
);

/// `execution.exchange.cancel` as the one endpoint of the `paper-exchange`
/// micro service, registered only by the lease holder while it runs the
/// exchange; each request is decided by the exchange loop, in order with fills.
async fn cancel_endpoint(
    ctx: &Arc<Ctx>,
    asks: mpsc::Sender<CancelAsk>,
) -> Result<MicroService, BusError> {
    let mut service = MicroService::start(
        &ctx.client,
        ServiceSpec::new(
            subjects::execution::EXCHANGE_SERVICE,
            crate::VERSION,
            "Internal: the paper exchange's instance (one, by lease) decides cancels",
        ),
    )
    .await?;
    service
        .add_endpoint(
            EndpointSpec::for_subject(
                subjects::execution::EXCHANGE_CANCEL,
                "Internal: cancel a working order where fills are decided",
            ),
            move |_rc, req: ExchangeCancel| {
                let asks = asks.clone();
                async move {
                    let gone = || ServiceError::unavailable("the paper exchange moved; retry");
                    let (tx, rx) = oneshot::channel();
                    asks.send((req, tx)).await.map_err(|_| gone())?;
                    rx.await.map_err(|_| gone())?
                }
            },
        )
        .await?;
    Ok(service)
}

struct Book {
    working: HashMap<String, Working>,
    /// Orders still to catch up on stored bars (live bars wait for them).
    behind: HashSet<String>,
    /// Orders canceled here before their acceptance notice arrived.
    canceled: HashSet<String>,
    /// Linked orders this exchange ended (filled, expired, canceled as a
    /// leg): a late release notice does not bring them back.
    finished: HashSet<String>,
    /// ORDERS sequence of the last event this exchange stored: an order
    /// sized at its fill waits until the OMS has applied it.
    published: u64,
}

/// What sizing at the fill made of an order.
enum Sized {
    /// Match it (its quantity is decided).
    Ready,
    /// It ended here (nothing to do at this price).
    Ended,
}

/// Runs the exchange while the lease holds; `Ok(revision)` on stop.
async fn lead(
    ctx: &Arc<Ctx>,
    leases: &Leases,
    mut revision: u64,
    tick: Duration,
    notices: &mut mpsc::UnboundedReceiver<Notice>,
    cancels: &mut mpsc::Receiver<CancelAsk>,
    stop: &mut watch::Receiver<bool>,
) -> Result<u64, String> {
    let name = subjects::execution::EXCHANGE_LEASE;
    let bars = ctx
        .market
        .create_consumer(pull::OrderedConfig {
            filter_subject: subjects::streams::ALL_BARS.to_string(),
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("follow MARKET: {e}"))?;
    let mut bars = bars
        .messages()
        .await
        .map_err(|e| format!("follow MARKET: {e}"))?;
    let mut quotes = ctx
        .client
        .subscribe(subjects::streams::ALL_TICKS)
        .await
        .map_err(|e| format!("subscribe to quotes: {e}"))?;

    let mut book = Book {
        working: HashMap::new(),
        behind: HashSet::new(),
        canceled: HashSet::new(),
        finished: HashSet::new(),
        published: 0,
    };
    // Whatever was accepted before now; notices after this may repeat some.
    let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
    let open = ctx.oms.lock().open_orders();
    tracing::info!(
        orders = open.len(),
        "paper exchange: resuming working orders"
    );
    for order in open {
        book.add(&order);
    }
    // Links a crash left undone (a sibling filled, a parent ended).
    book.cancel_orphans(ctx).await;
    book.catch_up_all(ctx).await;

    let mut renew = tokio::time::interval(tick);
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            biased;
            _ = bus::follow::stopped(stop) => return Ok(revision),
            _ = renew.tick() => {
                revision = leases
                    .renew(name, revision)
                    .await
                    .ok_or_else(|| "lost the exchange lease".to_string())?;
            }
            Some((ask, reply)) = cancels.recv() => {
                let _ = reply.send(book.cancel_order(ctx, &ask).await);
            }
            Some(notice) = notices.recv() => match notice {
                Notice::Accepted(order) => {
                    if book.canceled.remove(&order.id) || book.working.contains_key(&order.id) {
                        continue;
                    }
                    book.add(&order);
                    book.catch_up(ctx, &order.id).await;
                }
                Notice::Closed(id) => {
                    book.working.remove(&id);
                    book.behind.remove(&id);
                }
                Notice::Released(order) => {
                    // It works from its release on (after its parent's last
                    // fill), with its OCO siblings released by the same event:
                    // the group catches up on stored bars together.
                    let mut first = None;
                    for id in std::iter::once(&order.id).chain(order.oco.iter()) {
                        if book.canceled.contains(id)
                            || book.finished.contains(id)
                            || book.working.get(id).is_some_and(|w| !w.order.held)
                        {
                            continue;
                        }
                        let current = ctx.oms.lock().order(id).cloned();
                        let Some(current) = current.filter(|o| o.status.is_open() && !o.held)
                        else {
                            continue;
                        };
                        book.working.insert(id.clone(), Working::new(&current));
                        book.behind.insert(id.clone());
                        first.get_or_insert_with(|| id.clone());
                    }
                    if let Some(id) = first {
                        book.catch_up(ctx, &id).await;
                    }
                }
            },
            next = bars.next() => match next {
                Some(Ok(message)) => {
                    if let Ok(bar) = serde_json::from_slice::<Event<Bar>>(&message.payload) {
                        book.on_bar(ctx, &bar.data, None).await;
                    }
                }
                Some(Err(e)) => tracing::warn!(error = %e, "following MARKET: retrying"),
                None => return Err("MARKET consumer ended".to_string()),
            },
            Some(message) = quotes.next() => {
                if let Ok(quote) = serde_json::from_slice::<Event<Quote>>(&message.payload) {
                    book.on_quote(ctx, &quote.data).await;
                }
            }
            _ = retry.tick() => {
                if !book.behind.is_empty() {
                    book.catch_up_all(ctx).await;
                }
                book.cancel_orphans(ctx).await;
            }
        }
    }
}

impl Book {
    fn add(&mut self, order: &Order) {
        if order.status.is_open() && !self.working.contains_key(&order.id) {
            self.working.insert(order.id.clone(), Working::new(order));
            self.behind.insert(order.id.clone());
        }
    }

    async fn catch_up_all(&mut self, ctx: &Arc<Ctx>) {
        let ids: Vec<String> = self.behind.iter().cloned().collect();
        for id in ids {
            self.catch_up(ctx, &id).await;
        }
    }

    /// Feeds one order the stored bars after where it stands, page by page,
    /// until it is done or the bars run out.
    async fn catch_up(&mut self, ctx: &Arc<Ctx>, id: &str) {
        // An OCO group catches up together, bar by bar, so the leg that a
        // stored bar fills first is the one that fills.
        let group: Vec<String> = match self.working.get(id) {
            Some(w) => std::iter::once(id.to_string())
                .chain(
                    w.order
                        .oco
                        .iter()
                        .filter(|s| self.behind.contains(*s))
                        .cloned(),
                )
                .collect(),
            None => vec![id.to_string()],
        };
        loop {
            let Some(w) = self.working.get(id) else {
                for g in &group {
                    self.behind.remove(g);
                }
                return;
            };
            let from = group
                .iter()
                .filter_map(|g| self.working.get(g))
                .map(|w| w.last_ts)
                .min()
                .unwrap_or(w.last_ts);
            let page: Result<BarsResponse, _> = request(
                &ctx.client,
                subjects::md::BARS_GET,
                &BarsRequest {
                    symbol: w.order.symbol.clone(),
                    timeframe: w.order.timeframe,
                    from: Some(UnixNanos(from.0 + 1)),
                    to: None,
                    limit: Some(PAGE),
                },
                RequestOptions {
                    timeout: ctx.config.request_timeout,
                    correlation_id: Some(w.order.correlation_id.clone()),
                },
            )
            .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(order_id = id, error = %e, "catch-up on stored bars failed; retrying");
                    return;
                }
            };
            let more = page.next_from.is_some() && !page.bars.is_empty();
            for bar in &page.bars {
                self.on_bar(ctx, bar, Some(&group)).await;
                if !self.working.contains_key(id) {
                    break;
                }
            }
            if !more || !self.working.contains_key(id) {
                for g in &group {
                    self.behind.remove(g);
                }
                return;
            }
        }
    }

    /// Matches `bar` against the working orders it concerns (only `only` during
    /// a catch-up; orders still catching up are skipped on live bars).
    async fn on_bar(&mut self, ctx: &Arc<Ctx>, bar: &Bar, only: Option<&[String]>) {
        let mut ids: Vec<String> = match only {
            Some(ids) => ids.to_vec(),
            None => self
                .working
                .iter()
                .filter(|(id, w)| w.wants(bar) && !self.behind.contains(*id))
                .map(|(id, _)| id.clone())
                .collect(),
        };
        // Stops before the others, then by id: when one bar reaches both
        // legs of an OCO pair (a bracket's stop-loss and take-profit), the
        // stop is taken to come first (conservative, and the same on every replay).
        ids.sort_by_cached_key(|id| {
            let stop = self.working.get(id).is_some_and(|w| {
                matches!(
                    w.order.order_type,
                    trading::OrderType::Stop
                        | trading::OrderType::StopLimit
                        | trading::OrderType::TrailingStop
                        | trading::OrderType::TrailingStopLimit
                )
            });
            (!stop, id.clone())
        });
        for id in ids {
            let price = match self.working.get(&id) {
                Some(w) if needs_sizing(w) && w.wants(bar) => {
                    w.market_price(bar, &ctx.exchange()).ok()
                }
                _ => None,
            };
            if let Some(price) = price {
                if let Sized::Ended = self.size_at_fill(ctx, &id, price, bar.ts).await {
                    continue;
                }
            }
            let Some(w) = self.working.get_mut(&id) else {
                continue;
            };
            let before = (w.fills, w.order.qty - w.leaves);
            let executions = match w.on_bar(bar, &ctx.exchange()) {
                Ok(e) => e,
                Err(e) => {
                    // The bar is skipped for this order (a replay skips it too).
                    tracing::error!(order_id = %id, symbol = %bar.symbol, ts = bar.ts.0, error = %e,
                        "bar beyond the decimal range for this order; skipped");
                    continue;
                }
            };
            if !executions.is_empty() {
                self.publish(ctx, &id, executions, before).await;
            }
        }
    }

    async fn on_quote(&mut self, ctx: &Arc<Ctx>, quote: &Quote) {
        let ids: Vec<String> = self
            .working
            .iter()
            .filter(|(id, w)| w.order.symbol == quote.symbol && !self.behind.contains(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let price = match self.working.get(&id) {
                Some(w)
                    if needs_sizing(w) && ctx.exchange().fill_on_quotes && quote.ts > w.last_ts =>
                {
                    Some(match w.order.side {
                        model::Side::Buy => quote.ask,
                        model::Side::Sell => quote.bid,
                    })
                    .filter(|p| *p > Decimal::ZERO)
                }
                _ => None,
            };
            if let Some(price) = price {
                if let Sized::Ended = self.size_at_fill(ctx, &id, price, quote.ts).await {
                    continue;
                }
            }
            let Some(w) = self.working.get_mut(&id) else {
                continue;
            };
            let before = (w.fills, w.order.qty - w.leaves);
            let executions = match w.on_quote(quote, &ctx.exchange()) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(order_id = %id, symbol = %quote.symbol, error = %e,
                        "quote beyond the decimal range for this order; skipped");
                    continue;
                }
            };
            if !executions.is_empty() {
                self.publish(ctx, &id, executions, before).await;
            }
        }
    }

    /// Decides the quantity of an order placed for a signal at the price it
    /// is about to fill at, from the account as ORDERS has it (cash and
    /// positions after every earlier fill, which this exchange published and
    /// waits to see applied): `at_fill` orders take the size their rule
    /// gives now, `at_signal` ones are cut to what the account pays
    /// (`trading::sizing`). Another instance taking over re-derives the same
    /// numbers from the same stream. Nothing left to do expires the order.
    async fn size_at_fill(
        &mut self,
        ctx: &Arc<Ctx>,
        id: &str,
        price: Decimal,
        ts: UnixNanos,
    ) -> Sized {
        if self.published > 0
            && !ctx
                .applied
                .wait(self.published, ctx.config.catch_up_timeout)
                .await
        {
            tracing::warn!(
                order_id = id,
                "sizing at the fill before the OMS applied the last fill"
            );
        }
        let Some(w) = self.working.get(id) else {
            return Sized::Ended;
        };
        let Some(sizing) = w.order.sizing.clone() else {
            return Sized::Ready;
        };
        let fees = trading::Fees {
            pct: ctx.exchange().commission_pct,
            fixed: ctx.exchange().commission_fixed,
        };
        let account = ctx.oms.lock().account_at(&w.order.account, &w.order.symbol);
        let resolved = account.and_then(|account| match account {
            None => Ok(None),
            Some(account) => match sizing.moment {
                trading::SizingMoment::AtFill => {
                    trading::sizing::resolve_at_fill(&sizing, &account, price, fees).map(|r| {
                        r.filter(|(side, _)| *side == w.order.side)
                            .map(|(_, qty)| qty)
                    })
                }
                trading::SizingMoment::AtSignal => {
                    trading::sizing::cap_at_fill(w.order.side, w.leaves, &account, price, fees)
                }
            },
        });
        let reason = match resolved {
            Ok(Some(qty)) => {
                if let Some(w) = self.working.get_mut(id) {
                    w.resize(qty);
                }
                return Sized::Ready;
            }
            Ok(None) => "sized at the fill: nothing to trade (no buying power, or already there)"
                .to_string(),
            Err(e) => format!("sized at the fill: {e}"),
        };
        let Some(w) = self.working.get_mut(id) else {
            return Sized::Ended;
        };
        let before = (w.fills, w.order.qty - w.leaves);
        let expiry = w.expire_now(&reason, ts);
        tracing::info!(order_id = id, reason, "order sized to nothing at its fill");
        self.publish(ctx, id, vec![expiry], before).await;
        Sized::Ended
    }

    /// Writes what happened to an order into ORDERS (retrying: the ids make a
    /// repeat harmless).
    async fn publish(
        &mut self,
        ctx: &Arc<Ctx>,
        id: &str,
        executions: Vec<Execution>,
        (fills_before, cum_before): (u32, Decimal),
    ) {
        let Some(w) = self.working.get(id) else {
            return;
        };
        let order = &w.order;
        let mut fills_so_far = fills_before;
        let mut cum = cum_before;
        let mut events = Vec::new();
        for execution in executions {
            match execution {
                Execution::Fill {
                    qty,
                    price,
                    commission,
                    market_ts,
                } => {
                    fills_so_far += 1;
                    cum += qty;
                    let leaves = order.qty - cum;
                    events.push(OrderEvent::OrderFilled {
                        fill: Fill {
                            fill_id: format!("{}.{}", order.id, fills_so_far),
                            order_id: order.id.clone(),
                            client_order_id: order.client_order_id.clone(),
                            account: order.account.clone(),
                            symbol: order.symbol.clone(),
                            side: order.side,
                            qty,
                            price,
                            commission,
                            market_ts,
                            status: if leaves <= Decimal::ZERO {
                                OrderStatus::Filled
                            } else {
                                OrderStatus::PartiallyFilled
                            },
                            cum_qty: cum,
                            leaves_qty: leaves.max(Decimal::ZERO),
                            strategy_id: order.strategy_id.clone(),
                        },
                    });
                }
                Execution::Expire { reason, market_ts } => events.push(OrderEvent::OrderExpired {
                    order_id: order.id.clone(),
                    account: order.account.clone(),
                    reason,
                    market_ts,
                }),
            }
        }
        let correlation_id = order.correlation_id.clone();
        // Fills join the trace of the span that placed the order.
        let trace = order
            .traceparent
            .as_deref()
            .and_then(|t| bus::trace::TraceContext::parse(t, None))
            .map(|t| t.child())
            .unwrap_or_else(bus::trace::TraceContext::root);
        let span = bus::trace_span!("execution", trace, service = subjects::execution::SERVICE,
            order_id = %id, correlation_id = %correlation_id);
        let filled_any = events
            .iter()
            .any(|e| matches!(e, OrderEvent::OrderFilled { .. }));
        let fully_filled = events.iter().any(
            |e| matches!(e, OrderEvent::OrderFilled { fill } if fill.status == OrderStatus::Filled),
        );
        let oco = if filled_any {
            order.oco.clone()
        } else {
            Vec::new()
        };
        let orphaned = if w.done && !fully_filled {
            order.children.clone()
        } else {
            Vec::new()
        };
        let id_owned = order.id.clone();
        let linked = order.parent_id.is_some() || !order.oco.is_empty();
        if w.done {
            self.working.remove(id);
            self.behind.remove(id);
            if linked {
                self.finished.insert(id_owned.clone());
            }
        }
        let published = &mut self.published;
        bus::trace::in_span(trace, span, async {
            for event in events {
                if let Some(sequence) = publish_with_retry(ctx, &event, &correlation_id).await {
                    *published = (*published).max(sequence);
                }
                tracing::debug!(
                    event = event.event_type(),
                    "paper exchange: order event published"
                );
            }
        })
        .await;
        self.cancel_linked(ctx, &oco, &format!("oco: {id_owned} filled"))
            .await;
        self.cancel_linked(ctx, &orphaned, &format!("parent {id_owned} expired"))
            .await;
    }

    /// Cancels the open ones of `ids` (the other legs of a filled OCO leg,
    /// the children of a parent that ended unfilled).
    async fn cancel_linked(&mut self, ctx: &Arc<Ctx>, ids: &[String], reason: &str) {
        for id in ids {
            let order = match self.working.get(id) {
                Some(w) if !w.done => Some(w.order.clone()),
                Some(_) => None,
                None => ctx
                    .oms
                    .lock()
                    .order(id)
                    .filter(|o| o.status.is_open())
                    .cloned(),
            };
            let Some(order) = order else {
                continue;
            };
            if !self.working.contains_key(id) {
                self.canceled.insert(id.clone());
            }
            self.finished.insert(id.clone());
            self.working.remove(id);
            self.behind.remove(id);
            let event = OrderEvent::OrderCanceled {
                order_id: order.id.clone(),
                account: order.account.clone(),
                reason: reason.to_string(),
                ts: UnixNanos::now(),
            };
            tracing::info!(order_id = %order.id, reason, "linked order canceled");
            if let Some(sequence) = publish_with_retry(ctx, &event, &order.correlation_id).await {
                self.published = self.published.max(sequence);
            }
        }
    }

    /// Cancels what the OMS says its links have ended (see `Oms::orphans`).
    async fn cancel_orphans(&mut self, ctx: &Arc<Ctx>) {
        let orphans = ctx.oms.lock().orphans();
        for (order, reason) in orphans {
            self.cancel_linked(ctx, std::slice::from_ref(&order.id), &reason)
                .await;
        }
    }

    async fn cancel_order(
        &mut self,
        ctx: &Arc<Ctx>,
        req: &ExchangeCancel,
    ) -> Result<ExchangeCancelResponse, ServiceError> {
        let order = match self.working.get(&req.order_id) {
            Some(w) if !w.done => Some(w.order.clone()),
            _ => {
                // Accepted, but its notice may not have reached us yet.
                let o = ctx.oms.lock().order(&req.order_id).cloned();
                o.filter(|o| o.status.is_open())
            }
        };
        let Some(order) = order else {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "the order is not working",
            ));
        };
        if !self.working.contains_key(&order.id) {
            self.canceled.insert(order.id.clone());
        }
        self.working.remove(&order.id);
        self.behind.remove(&order.id);
        let event = OrderEvent::OrderCanceled {
            order_id: order.id.clone(),
            account: order.account.clone(),
            reason: req.reason.clone(),
            ts: UnixNanos::now(),
        };
        let stored = publish_with_retry(ctx, &event, &order.correlation_id)
            .await
            .map(|sequence| ExchangeCancelResponse { sequence })
            .ok_or_else(|| ServiceError::unavailable("ORDERS did not store the cancel"))?;
        // Canceling a parent cancels its children (held or working).
        self.cancel_linked(
            ctx,
            &order.children,
            &format!("parent {} canceled", order.id),
        )
        .await;
        // Answered once the children's cancels are applied too.
        Ok(ExchangeCancelResponse {
            sequence: stored.sequence.max(self.published),
        })
    }
}

/// An order whose quantity is still to be decided at its fill.
fn needs_sizing(w: &Working) -> bool {
    !w.done
        && w.fills == 0
        && w.order.sizing.is_some()
        && w.order.order_type == trading::OrderType::Market
}

/// Publishes an ORDERS event, retrying with backoff for about half a minute.
pub async fn publish_with_retry(
    ctx: &Ctx,
    event: &OrderEvent,
    correlation_id: &str,
) -> Option<u64> {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=10 {
        match events::publish_order_event(
            &ctx.js,
            event,
            correlation_id,
            subjects::execution::SERVICE,
        )
        .await
        {
            Ok(stored) => {
                bus::metrics::order_event(event);
                return Some(stored.sequence);
            }
            Err(e) => {
                tracing::warn!(correlation_id, attempt, error = %e, "ORDERS publish failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    tracing::error!(
        correlation_id,
        event = event.event_type(),
        "giving up on an ORDERS publish"
    );
    None
}
