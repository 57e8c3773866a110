//! A live or paper account as a backtest report, so it gets the same
//! statistics, charts and trade list:
//! - equity: the account's `PORTFOLIO_UPDATE`s (PORTFOLIO), sampled at the bars
//!   of a benchmark series (the equity at a bar is the newest update at or
//!   before it);
//! - buy & hold, alpha, beta: against those bars;
//! - trades: round trips rebuilt from the account's fills (ORDERS): a trade
//!   closes when a fill reduces a position; it carries its share of the entry
//!   commission and the exit fill's commission.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use bus::api::analytics::AccountEquity;
use bus::api::backtest::BacktestReport;
use bus::api::md::{SymbolsRequest, SymbolsResponse};
use bus::api::portfolio::PortfolioUpdate;
use bus::api::strategy::StrategyStatus;
use bus::{queries, request, subjects, RequestContext, RequestOptions, ServiceError};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Side, Symbol, Timeframe, UnixNanos};
use rust_decimal::prelude::ToPrimitive;
use trading::event::{Fill, OrderEvent};
use trading::money::{add, div, mul, sub, MoneyError};

use crate::Ctx;

/// Most bars an account report samples.
const MAX_BARS: usize = 200_000;

pub async fn report(
    ctx: &Ctx,
    rc: &RequestContext,
    account: &str,
    benchmark: Option<&Symbol>,
    timeframe: Option<Timeframe>,
    source: AccountEquity,
) -> Result<(BacktestReport, Vec<Bar>), ServiceError> {
    if !trading::valid_id(account) {
        return Err(ServiceError::bad_request(format!(
            "invalid account {account:?}"
        )));
    }
    let updates: Vec<Event<PortfolioUpdate>> = read_all(
        ctx,
        subjects::streams::PORTFOLIO,
        vec![subjects::portfolio_update(account)],
    )
    .await?;
    if updates.is_empty() {
        return Err(ServiceError::not_found(format!(
            "no history for account {account}: unknown account, or no portfolio service has published it"
        )));
    }
    let orders: Vec<Event<OrderEvent>> = read_all(
        ctx,
        subjects::streams::ORDERS,
        vec![subjects::fills_of(account)],
    )
    .await?;
    let fills: Vec<Fill> = orders
        .into_iter()
        .filter_map(|e| match e.data {
            OrderEvent::OrderFilled { fill } => Some(fill),
            _ => None,
        })
        .collect();

    // Equity by market time (the last update of a time wins).
    let mut curve: BTreeMap<i64, Decimal> = BTreeMap::new();
    for u in &updates {
        curve.insert(u.data.summary.market_ts.0, u.data.summary.equity);
    }
    let first_ts = *curve.keys().next().expect("not empty");
    let last_ts = *curve.keys().next_back().expect("not empty");

    let benchmark = match benchmark {
        Some(s) => s.clone(),
        None => most_traded(&fills).ok_or_else(|| {
            ServiceError::bad_request("the account has no fills: name a benchmark symbol")
        })?,
    };
    let timeframe = match timeframe {
        Some(tf) => tf,
        None => newest_series(ctx, rc, &benchmark).await?,
    };
    let span = match source {
        AccountEquity::Portfolio => (Some(UnixNanos(first_ts)), Some(UnixNanos(last_ts))),
        AccountEquity::Fills => (None, None),
    };
    let bars = queries::fetch_bars(
        &ctx.client,
        &benchmark,
        timeframe,
        span,
        MAX_BARS,
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await
    .map_err(ServiceError::from)?;
    if bars.len() < 2 {
        return Err(ServiceError::unprocessable(format!(
            "{benchmark} has {} {timeframe} bars over the account's history: too few to measure",
            bars.len()
        )));
    }
    let equity: Vec<Decimal> = match source {
        AccountEquity::Fills => {
            let deposits = updates
                .last()
                .map(|u| u.data.summary.deposits)
                .unwrap_or_default();
            marked_at_closes(deposits, &fills, &benchmark, &bars)
                .map_err(|e| ServiceError::unprocessable(format!("the account's equity: {e}")))?
        }
        AccountEquity::Portfolio => bars
            .iter()
            .map(|b| {
                curve
                    .range(..=b.ts.0)
                    .next_back()
                    .map(|(_, e)| *e)
                    .unwrap_or_else(|| *curve.values().next().expect("not empty"))
            })
            .collect(),
    };
    let trades = round_trips(&fills, &bars);
    let first_trading_bar = match source {
        AccountEquity::Fills => first_trading_bar(ctx, rc, &fills, &bars).await,
        AccountEquity::Portfolio => 0,
    };
    let (stats, points) =
        backtest::stats::curve_stats_from(&bars, &equity, &trades, first_trading_bar)
            .ok_or_else(|| ServiceError::internal("equity and bars disagree"))?;
    Ok((
        BacktestReport {
            stats,
            trades,
            equity: points,
            open_position: None,
        },
        bars,
    ))
}

/// The bar buy & hold starts from, as in a backtest of the strategy that
/// made most of the fills: the close before its first tradable bar
/// (`warmup().max(1) − 1`); 0 when no strategy is known.
async fn first_trading_bar(ctx: &Ctx, rc: &RequestContext, fills: &[Fill], bars: &[Bar]) -> usize {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for f in fills {
        if let Some(id) = f.strategy_id.as_deref() {
            *counts.entry(id).or_default() += 1;
        }
    }
    let Some((id, _)) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
    else {
        return 0;
    };
    let status: Result<StrategyStatus, _> = request(
        &ctx.client,
        subjects::strategy::STATUS,
        &serde_json::json!({"id": id}),
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await;
    let Ok(status) = status else {
        return 0;
    };
    let (Some(bar), record) = (bars.first(), &status.record) else {
        return 0;
    };
    strategy::build(
        &record.kind,
        &record.params,
        bar.symbol.clone(),
        bar.timeframe,
    )
    .map(|s| s.warmup().max(1) - 1)
    .unwrap_or(0)
}

/// The account at every bar's close: `deposits` less what the fills up to the
/// bar paid (a fill's market time is the bar it filled on, at its open), the
/// positions marked at the close for `symbol` and at their last fill price
/// for the others. The backtest engine marks its account the same way.
fn marked_at_closes(
    deposits: Decimal,
    fills: &[Fill],
    symbol: &Symbol,
    bars: &[Bar],
) -> Result<Vec<Decimal>, MoneyError> {
    let mut fills: Vec<&Fill> = fills.iter().collect();
    fills.sort_by_key(|f| f.market_ts);
    let mut next = fills.into_iter().peekable();
    let mut cash = deposits;
    let mut held: BTreeMap<Symbol, (Decimal, Decimal)> = BTreeMap::new();
    let mut out = Vec::with_capacity(bars.len());
    for bar in bars {
        while let Some(f) = next.next_if(|f| f.market_ts <= bar.ts) {
            let signed = match f.side {
                Side::Buy => f.qty,
                Side::Sell => -f.qty,
            };
            let paid = add(
                mul(signed, f.price, "fill value")?,
                f.commission,
                "fill cost",
            )?;
            cash = sub(cash, paid, "cash")?;
            let entry = held.entry(f.symbol.clone()).or_default();
            *entry = (add(entry.0, signed, "position")?, f.price);
        }
        let mut equity = cash;
        for (s, (qty, last)) in &held {
            let price = if s == symbol { bar.close } else { *last };
            equity = add(equity, mul(*qty, price, "position × price")?, "equity")?;
        }
        out.push(equity);
    }
    Ok(out)
}

/// Every message on `filters` from the stream's start, decoded.
async fn read_all<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    stream: &str,
    filters: Vec<String>,
) -> Result<Vec<T>, ServiceError> {
    let unavailable =
        |e: &dyn std::fmt::Display| ServiceError::unavailable(format!("{stream}: {e}"));
    let stream = match ctx.js.get_stream(stream).await {
        Ok(s) => s,
        Err(_) => return Ok(Vec::new()),
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subjects: filters,
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(&e))?;
    if consumer.cached_info().num_pending == 0 {
        return Ok(Vec::new());
    }
    let mut messages = consumer.messages().await.map_err(|e| unavailable(&e))?;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .map_err(|_| ServiceError::unavailable("reading history timed out"))?;
        let Some(message) = next else { break };
        let message = message.map_err(|e| unavailable(&e))?;
        if let Ok(v) = serde_json::from_slice::<T>(&message.payload) {
            out.push(v);
        }
        if message.info().map(|i| i.pending == 0).unwrap_or(true) {
            break;
        }
    }
    Ok(out)
}

fn most_traded(fills: &[Fill]) -> Option<Symbol> {
    let mut counts: HashMap<&Symbol, usize> = HashMap::new();
    for f in fills {
        *counts.entry(&f.symbol).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.as_str().cmp(a.0.as_str())))
        .map(|(s, _)| s.clone())
}

/// The symbol's series with the newest bar (the finest on a tie).
async fn newest_series(
    ctx: &Ctx,
    rc: &RequestContext,
    symbol: &Symbol,
) -> Result<Timeframe, ServiceError> {
    let list: SymbolsResponse = request(
        &ctx.client,
        subjects::md::SYMBOLS_LIST,
        &SymbolsRequest {},
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await
    .map_err(|e| match e.service_error() {
        Some(se) => se.clone(),
        None => ServiceError::unavailable(format!("market-data: {e}")),
    })?;
    list.symbols
        .into_iter()
        .find(|s| &s.symbol == symbol)
        .and_then(|s| {
            s.series.into_iter().max_by(|a, b| {
                a.last_ts
                    .cmp(&b.last_ts)
                    .then(b.timeframe.seconds().cmp(&a.timeframe.seconds()))
            })
        })
        .map(|s| s.timeframe)
        .ok_or_else(|| ServiceError::not_found(format!("no bars of {symbol} to compare with")))
}

/// Index of the bar a market time falls in (the last bar at or before it).
fn bar_index(bars: &[Bar], ts: UnixNanos) -> usize {
    bars.partition_point(|b| b.ts <= ts).saturating_sub(1)
}

#[derive(Clone)]
struct Lot {
    qty: Decimal,
    avg_price: Decimal,
    /// Entry commission not yet assigned to a closed trade.
    commission: Decimal,
    entry_ts: UnixNanos,
}

/// Closed trades from fills, average-cost: each reducing fill closes a trade of
/// the quantity it reduces (a reversal closes one and opens another). A fill
/// whose numbers do not fit in a decimal (a zero quantity, a value beyond the
/// range) is skipped, as the portfolio's ledger skips it.
pub fn round_trips(fills: &[Fill], bars: &[Bar]) -> Vec<backtest::engine::Trade> {
    let mut lots: HashMap<Symbol, Lot> = HashMap::new();
    let mut trades = Vec::new();
    for f in fills {
        let mut lot = lots.get(&f.symbol).cloned().unwrap_or(Lot {
            qty: Decimal::ZERO,
            avg_price: Decimal::ZERO,
            commission: Decimal::ZERO,
            entry_ts: f.market_ts,
        });
        match apply_fill(&mut lot, f, bars) {
            Ok(trade) => {
                lots.insert(f.symbol.clone(), lot);
                trades.extend(trade);
            }
            Err(e) => {
                tracing::warn!(fill_id = %f.fill_id, error = %e, "fill beyond the decimal range; not in the trades")
            }
        }
    }
    trades
}

/// One fill on its symbol's lot; the trade it closes, if any.
fn apply_fill(
    lot: &mut Lot,
    f: &Fill,
    bars: &[Bar],
) -> Result<Option<backtest::engine::Trade>, MoneyError> {
    let signed = match f.side {
        Side::Buy => f.qty,
        Side::Sell => -f.qty,
    };
    let same_way = lot.qty.is_zero() || lot.qty.is_sign_positive() == signed.is_sign_positive();
    if same_way {
        let total = add(lot.qty.abs(), f.qty, "position + fill.qty")?;
        let held = mul(lot.avg_price, lot.qty.abs(), "position × avg_price")?;
        let added = mul(f.price, f.qty, "fill.qty × fill.price")?;
        lot.avg_price = div(add(held, added, "position cost")?, total, "avg_price")?;
        if lot.qty.is_zero() {
            lot.entry_ts = f.market_ts;
        }
        lot.qty = add(lot.qty, signed, "position + fill.qty")?;
        lot.commission = add(lot.commission, f.commission, "commission")?;
        return Ok(None);
    }
    let closed = f.qty.min(lot.qty.abs());
    let share = div(closed, lot.qty.abs(), "closed / position")?;
    let entry_commission = mul(lot.commission, share, "entry commission")?;
    let exit_commission = div(
        mul(f.commission, closed, "exit commission")?,
        f.qty,
        "exit commission / fill.qty",
    )?;
    let direction = if lot.qty.is_sign_positive() {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let gross = mul(
        closed,
        sub(f.price, lot.avg_price, "fill.price − avg_price")?,
        "trade P&L",
    )? * direction;
    let commission = add(entry_commission, exit_commission, "trade commission")?;
    let pnl = sub(gross, commission, "trade P&L")?;
    let entry_value = mul(closed, lot.avg_price, "entry value")?;
    let size = (closed * direction).trunc().to_i64().unwrap_or(0);
    let trade = backtest::engine::Trade {
        size,
        entry_bar: bar_index(bars, lot.entry_ts),
        exit_bar: bar_index(bars, f.market_ts),
        entry_time: lot.entry_ts,
        exit_time: f.market_ts,
        duration_ns: f.market_ts.0.saturating_sub(lot.entry_ts.0),
        entry_price: lot.avg_price,
        exit_price: f.price,
        pnl,
        return_pct: if entry_value.is_zero() {
            0.0
        } else {
            backtest::engine::trade_return(size, lot.avg_price, f.price, commission)
        },
        commission,
    };
    lot.commission = sub(lot.commission, entry_commission, "commission")?;
    lot.qty = add(lot.qty, signed, "position + fill.qty")?;
    if lot.qty.is_zero() {
        lot.avg_price = Decimal::ZERO;
        lot.commission = Decimal::ZERO;
    } else if lot.qty.is_sign_positive() == signed.is_sign_positive() {
        // Reversed: the rest of the fill opens a new lot.
        let opened = sub(f.qty, closed, "fill.qty")?;
        lot.avg_price = f.price;
        lot.commission = div(
            mul(f.commission, opened, "commission")?,
            f.qty,
            "commission / fill.qty",
        )?;
        lot.entry_ts = f.market_ts;
    }
    Ok(Some(trade))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use trading::OrderStatus;

    fn fill(side: Side, qty: Decimal, price: Decimal, commission: Decimal, ts: i64) -> Fill {
        Fill {
            fill_id: "f".into(),
            order_id: "o".into(),
            client_order_id: "c".into(),
            account: "a".into(),
            symbol: Symbol::new("X").unwrap(),
            side,
            qty,
            price,
            commission,
            market_ts: UnixNanos(ts),
            status: OrderStatus::Filled,
            cum_qty: qty,
            leaves_qty: Decimal::ZERO,
            strategy_id: None,
        }
    }

    #[test]
    fn round_trips_with_reversal_and_commissions() {
        let fills = [
            fill(Side::Buy, dec!(10), dec!(100), dec!(2), 1),
            fill(Side::Sell, dec!(20), dec!(110), dec!(4), 2),
            fill(Side::Buy, dec!(10), dec!(105), dec!(1), 3),
        ];
        let t = round_trips(&fills, &[]);
        assert_eq!(t.len(), 2);
        // Long 10 @100 → 110: +100 − 2 (entry) − 2 (half the exit fill's 4).
        assert_eq!(t[0].size, 10);
        assert_eq!(t[0].pnl, dec!(96));
        // Short 10 @110 → 105: +50 − 2 (other half) − 1.
        assert_eq!(t[1].size, -10);
        assert_eq!(t[1].entry_price, dec!(110));
        assert_eq!(t[1].pnl, dec!(47));
        assert_eq!(t[1].duration_ns, 1);
    }

    #[test]
    fn fills_beyond_the_decimal_range_are_skipped() {
        let huge = dec!(1_000_000_000_000_000);
        let fills = [
            fill(Side::Buy, dec!(10), dec!(100), dec!(0), 1),
            fill(Side::Buy, huge, huge, dec!(0), 2),
            fill(Side::Sell, dec!(0), dec!(100), dec!(1), 2),
            fill(Side::Sell, dec!(10), dec!(110), dec!(0), 3),
        ];
        let t = round_trips(&fills, &[]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].pnl, dec!(100));
    }
}
