//! The path of every order, from `orders.submit` and from paper signals alike:
//!
//! 1. validate the request (nothing is written for a bad one);
//! 2. one submit per order id at a time on this instance; an order id that
//!    exists returns the existing order (idempotency across restarts: the OMS
//!    is rebuilt from ORDERS);
//! 3. the account must be open; the symbol must have bars (its newest bar
//!    gives the default timeframe, the market time the order works after, and
//!    the reference price for risk);
//! 4. `risk.check`;
//! 5. the decision (`OrderAccepted` / `OrderRejected`) goes to ORDERS with the
//!    order's own `Nats-Msg-Id`: when instances race on one client order id,
//!    JetStream keeps the first and the others read it back;
//! 6. answer once this instance has applied it (read your writes).

use std::sync::Arc;

use bus::api::risk::{CheckRequest, CheckResponse};
use bus::{events, request, ErrorKind, RequestError, RequestOptions, ServiceError};
use model::{Decimal, Event, Quote, Symbol, Timeframe, UnixNanos};
use trading::event::OrderEvent;
use trading::{Order, OrderRequest, OrderStatus, OrderType};

use crate::Ctx;
use bus::subjects;

/// What the market says about a symbol at submit time.
pub struct MarketRef {
    pub timeframe: Timeframe,
    /// Open time of the newest bar.
    pub last_bar_ts: UnixNanos,
    /// Newest price (quote's last if newer than the bar, else the bar's close).
    pub last_price: Decimal,
}

pub async fn market_ref(
    ctx: &Ctx,
    symbol: &Symbol,
    timeframe: Option<Timeframe>,
) -> Result<MarketRef, ServiceError> {
    let bar = match bus::queries::newest_bar(&ctx.market, symbol, timeframe).await {
        Ok(Some(bar)) => bar,
        Ok(None) => {
            return Err(ServiceError::not_found(match timeframe {
                Some(tf) => format!("unknown symbol {symbol}: no {tf} bars in MARKET"),
                None => format!("unknown symbol {symbol}: no bars in MARKET"),
            }))
        }
        Err(e @ bus::queries::NewestBarError::Read(_)) => {
            return Err(ServiceError::unavailable(e.to_string()))
        }
        Err(e) => return Err(ServiceError::internal(e.to_string())),
    };
    let mut last_price = bar.data.close;
    if let Ok(m) = ctx
        .quotes
        .direct_get_last_for_subject(subjects::tick(symbol))
        .await
    {
        if let Ok(q) = serde_json::from_slice::<Event<Quote>>(&m.payload) {
            if q.data.ts > bar.data.ts && q.data.last > Decimal::ZERO {
                last_price = q.data.last;
            }
        }
    }
    Ok(MarketRef {
        timeframe: bar.data.timeframe,
        last_bar_ts: bar.data.ts,
        last_price,
    })
}

fn same_order(existing: &Order, req: &OrderRequest) -> bool {
    existing.symbol == req.symbol
        && existing.side == req.side
        && existing.order_type == req.order_type
        && existing.qty == req.qty
        && existing.limit_price == req.limit_price
        && existing.stop_price == req.stop_price
}

fn existing_or_conflict(existing: Order, req: &OrderRequest) -> Result<Order, ServiceError> {
    if same_order(&existing, req) {
        Ok(existing)
    } else {
        Err(ServiceError::new(
            ErrorKind::Conflict,
            format!(
                "client_order_id {} of account {} is already used by another order",
                req.client_order_id, req.account
            ),
        )
        .with_details(&existing))
    }
}

pub async fn submit(
    ctx: &Arc<Ctx>,
    req: OrderRequest,
    correlation_id: &str,
) -> Result<Order, ServiceError> {
    let plan = req.plan().map_err(|e| {
        ServiceError::bad_request(e.to_string())
            .with_details(serde_json::json!({"code": e.code(), "field": e.field()}))
    })?;
    let order_id = trading::order::order_id(&req.account, &req.client_order_id);

    let lock = ctx
        .submitting
        .lock()
        .entry(order_id.clone())
        .or_default()
        .clone();
    let result = {
        let _one_at_a_time = lock.lock().await;
        decide(ctx, &req, &plan, &order_id, correlation_id).await
    };
    {
        let mut map = ctx.submitting.lock();
        if Arc::strong_count(&lock) <= 2 {
            map.remove(&order_id);
        }
    }
    result
}

async fn decide(
    ctx: &Arc<Ctx>,
    req: &OrderRequest,
    plan: &[trading::order::Planned],
    order_id: &str,
    correlation_id: &str,
) -> Result<Order, ServiceError> {
    let existing = ctx.oms.lock().order(order_id).cloned();
    if let Some(existing) = existing {
        return existing_or_conflict(existing, req);
    }
    if !ctx.oms.lock().account_known(&req.account) {
        let _ = ctx.applied.catch_up(ctx.config.catch_up_timeout).await;
        let oms = ctx.oms.lock();
        if let Some(existing) = oms.order(order_id).cloned() {
            drop(oms);
            return existing_or_conflict(existing, req);
        }
        if !oms.account_known(&req.account) {
            return Err(ServiceError::not_found(format!(
                "unknown account {}: open it with portfolio.account.open",
                req.account
            )));
        }
    }
    let market = market_ref(ctx, &req.symbol, req.timeframe).await?;
    let mut check = check_risk(ctx, req, &market, correlation_id).await?;
    // An OCO group is checked leg by leg (any of them may fill); a bracket's
    // children only close what its entry opens, so the entry's check is the
    // bracket's. Any refusal rejects the whole group.
    for (leg, links) in &plan[..plan.len() - 1] {
        if !check.accepted || links.parent_id.is_some() {
            continue;
        }
        let leg_check = check_risk(ctx, leg, &market, correlation_id).await?;
        if !leg_check.accepted {
            check = leg_check;
        }
    }

    let after_ts = req.after_ts.unwrap_or(market.last_bar_ts);
    let now = UnixNanos::now();
    // Linked orders first, the submitted one last: a child or leg is stored
    // (held) before anything that could release or cancel it.
    let mut last = None;
    for (leg, links) in plan {
        let mut order = Order::new(leg, market.timeframe, after_ts, now, correlation_id)
            .with_links(links.clone());
        order.traceparent = bus::trace::current().map(|t| t.traceparent());
        let event = if check.accepted {
            order.status = OrderStatus::Accepted;
            OrderEvent::OrderAccepted { order }
        } else {
            order.held = false;
            order.status = OrderStatus::Rejected;
            order.reason = check.violations.first().map(|v| v.message.clone());
            order.violations = check.violations.clone();
            OrderEvent::OrderRejected {
                order,
                violations: check.violations.clone(),
            }
        };
        let stored = events::publish_order_event(
            &ctx.js,
            &event,
            correlation_id,
            subjects::execution::SERVICE,
        )
        .await
        .map_err(|e| ServiceError::unavailable(format!("ORDERS: {e}")))?;
        if !stored.duplicate {
            bus::metrics::order_event(&event);
        }
        last = Some(stored);
    }
    let Some(stored) = last else {
        return Err(ServiceError::internal("an empty order plan"));
    };
    if !ctx
        .applied
        .wait(stored.sequence, ctx.config.catch_up_timeout)
        .await
    {
        return Err(ServiceError::unavailable(format!(
            "order {order_id} is stored (sequence {}) but this instance has not applied it yet",
            stored.sequence
        )));
    }
    let order = ctx.oms.lock().order(order_id).cloned();
    match order {
        Some(o) if stored.duplicate => existing_or_conflict(o, req),
        Some(o) => {
            tracing::info!(
                correlation_id,
                order_id,
                status = ?o.status,
                sequence = stored.sequence,
                "order decided"
            );
            Ok(o)
        }
        None => Err(ServiceError::internal(format!(
            "order {order_id} is stored but missing from the OMS"
        ))),
    }
}

async fn check_risk(
    ctx: &Arc<Ctx>,
    req: &OrderRequest,
    market: &MarketRef,
    correlation_id: &str,
) -> Result<CheckResponse, ServiceError> {
    let signal_price = req.sizing.as_ref().and_then(|s| s.signal_price);
    let risk_price = match req.order_type {
        OrderType::Market => signal_price.unwrap_or(market.last_price),
        OrderType::Limit | OrderType::StopLimit | OrderType::LimitIfTouched => {
            req.limit_price.unwrap_or(market.last_price)
        }
        OrderType::Stop | OrderType::MarketIfTouched => req.stop_price.unwrap_or(market.last_price),
        // A trailing stop works around the market: checked at the last price.
        OrderType::TrailingStop | OrderType::TrailingStopLimit => market.last_price,
    };
    // The request's own prices are bounded already; a market price beyond the
    // bounds (an absurd bar or quote) cannot price an order.
    if let Err(e) = trading::money::check_price("last_price", risk_price) {
        return Err(ServiceError::unprocessable(format!(
            "no usable reference price for {}: {e}",
            req.symbol
        ))
        .with_details(serde_json::json!({"code": e.code(), "field": e.field})));
    }
    request(
        &ctx.client,
        subjects::risk::CHECK,
        &CheckRequest {
            account: req.account.clone(),
            symbol: req.symbol.clone(),
            side: req.side,
            qty: req.qty,
            price: Some(risk_price),
            reduce_only: req.reduce_only,
            client_order_id: Some(req.client_order_id.clone()),
            commission_pct: ctx.config.exchange.commission_pct,
            commission_fixed: ctx.config.exchange.commission_fixed,
            orders_sequence: Some(ctx.applied.sequence()),
        },
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(correlation_id.to_string()),
        },
    )
    .await
    .map_err(|e| match e {
        RequestError::Service(s) => s,
        other => ServiceError::unavailable(format!("risk: {other}")),
    })
}
