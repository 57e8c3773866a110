//! The paper exchange's fill rules. An order works against the bars of its
//! symbol and timeframe that open after its `after_ts`, one bar at a time, in
//! time order; [`Working::on_bar`] says what happens on each bar. The same bars
//! always give the same fills, so a restarted exchange re-derives exactly the
//! fills it had made (and JetStream drops the repeats by their ids).
//!
//! Rules (buy side; sells mirror them):
//! - market: fills at the bar's open, plus slippage.
//! - limit L: open ≤ L fills at the open (a gap through the limit gets the
//!   better price); else low ≤ L fills at L; else waits.
//! - stop S: open ≥ S triggers at the open and fills there (a gap through the
//!   stop gets the worse price); else high ≥ S fills at S; slippage applies.
//! - stop-limit S/L: triggers like a stop. Triggered at the open, it is a limit
//!   L on the same bar. Triggered inside the bar, it fills at S when S ≤ L;
//!   when L < S the bar's path after the trigger is unknown, so it waits for
//!   the next bar as a limit (conservative, like backtesting.py).
//! - quotes: a market order fills at the first quote after `after_ts`
//!   (ask for buys, bid for sells) when quotes run and come before a bar.
//! - volume: a bar fills at most `floor(volume × max_volume_share)` units; the
//!   rest works on the next bars (IOC: expires; FOK: nothing fills).
//! - time in force: IOC and FOK get the first eligible bar only; DAY expires on
//!   the first bar of a later UTC day than its first eligible bar (its
//!   trading day: the same day for intraday bars, the next session for daily
//!   bars); GTC works until filled or canceled.
//! - commission: `commission_pct × notional` per fill plus `commission_fixed`
//!   on the first fill of an order.

use model::{Bar, Decimal, Quote, Side, UnixNanos};
use serde::{Deserialize, Serialize};

use crate::money::{self, MoneyError};
use crate::{Order, OrderType, TimeInForce};

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ExchangeConfig {
    /// Fraction of traded value, e.g. 0.001 = 0.1 %.
    pub commission_pct: Decimal,
    /// Per order, charged on its first fill.
    pub commission_fixed: Decimal,
    /// Adverse slippage on market and stop fills, in basis points.
    pub slippage_bps: Decimal,
    /// Largest share of a bar's volume one order can take (0 < share ≤ 1);
    /// `None` fills any quantity.
    pub max_volume_share: Option<Decimal>,
    /// Market orders fill on the next quote when quotes run.
    pub fill_on_quotes: bool,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            commission_pct: Decimal::ZERO,
            commission_fixed: Decimal::ZERO,
            slippage_bps: Decimal::ZERO,
            max_volume_share: None,
            fill_on_quotes: true,
        }
    }
}

impl ExchangeConfig {
    /// The commission of one fill. Its notional `qty × price` must exist
    /// even when commissions are zero: a fill whose value cannot be computed
    /// is not made.
    pub fn commission(
        &self,
        qty: Decimal,
        price: Decimal,
        first_fill: bool,
    ) -> Result<Decimal, MoneyError> {
        let fixed = if first_fill {
            self.commission_fixed
        } else {
            Decimal::ZERO
        };
        let notional = money::mul(qty, price, "fill qty × price")?;
        let pct = money::mul(notional, self.commission_pct, "commission")?;
        money::add(pct, fixed, "commission")
    }

    fn slipped(&self, side: Side, price: Decimal) -> Result<Decimal, MoneyError> {
        if self.slippage_bps.is_zero() {
            return Ok(price);
        }
        let f = money::div(self.slippage_bps, Decimal::from(10_000), "slippage_bps")?;
        let factor = match side {
            Side::Buy => money::add(Decimal::ONE, f, "slippage")?,
            Side::Sell => money::sub(Decimal::ONE, f, "slippage")?,
        };
        money::mul(price, factor, "slipped price")
    }
}

/// What the exchange does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    Fill {
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
        market_ts: UnixNanos,
    },
    Expire {
        reason: String,
        market_ts: UnixNanos,
    },
}

/// An order working at the exchange, with what matching needs to remember.
#[derive(Debug, Clone)]
pub struct Working {
    pub order: Order,
    /// Unfilled quantity.
    pub leaves: Decimal,
    /// Fills made so far.
    pub fills: u32,
    /// Bars at or before this market time are done.
    pub last_ts: UnixNanos,
    /// A stop or stop-limit whose stop was hit.
    pub triggered: bool,
    /// A first eligible bar (or quote) has been seen (ends IOC and FOK).
    pub started: bool,
    /// UTC day of the order's first eligible bar (its trading day, for DAY).
    pub trading_day: Option<i64>,
    pub done: bool,
}

fn utc_day(ts: UnixNanos) -> i64 {
    ts.0.div_euclid(NANOS_PER_DAY)
}

impl Working {
    /// Resumes an order as its events left it: after its last fill's bar, or
    /// after `after_ts` if it never filled.
    pub fn new(order: &Order) -> Working {
        Working {
            leaves: order
                .qty
                .checked_sub(order.filled_qty)
                .unwrap_or(Decimal::ZERO),
            fills: order.fills,
            last_ts: order.last_fill_bar_ts.unwrap_or(order.after_ts),
            triggered: order.fills > 0,
            started: order.fills > 0,
            trading_day: order.last_fill_bar_ts.map(utc_day),
            done: !order.status.is_open(),
            order: order.clone(),
        }
    }

    /// The price a market order fills at on `bar`: its open, slipped.
    pub fn market_price(&self, bar: &Bar, cfg: &ExchangeConfig) -> Result<Decimal, MoneyError> {
        cfg.slipped(self.order.side, bar.open)
    }

    /// An order sized at its fill gets its quantity before its first fill
    /// (`trading::sizing::resolve_at_fill` or `cap_at_fill`).
    pub fn resize(&mut self, qty: Decimal) {
        self.order.qty = qty;
        self.leaves = qty;
    }

    /// Ends the order without a fill (its sizing left nothing to do).
    pub fn expire_now(&mut self, reason: &str, ts: UnixNanos) -> Execution {
        self.expire(reason, ts)
    }

    /// True when `bar` is one this order should look at.
    pub fn wants(&self, bar: &Bar) -> bool {
        !self.done
            && bar.symbol == self.order.symbol
            && bar.timeframe == self.order.timeframe
            && bar.ts > self.last_ts
    }

    fn fill(
        &mut self,
        qty: Decimal,
        price: Decimal,
        ts: UnixNanos,
        cfg: &ExchangeConfig,
    ) -> Result<Execution, MoneyError> {
        let commission = cfg.commission(qty, price, self.fills == 0)?;
        self.leaves = money::sub(self.leaves, qty, "leaves")?;
        self.fills += 1;
        if self.leaves <= Decimal::ZERO {
            self.done = true;
        }
        Ok(Execution::Fill {
            qty,
            price,
            commission,
            market_ts: ts,
        })
    }

    fn expire(&mut self, reason: &str, ts: UnixNanos) -> Execution {
        self.done = true;
        Execution::Expire {
            reason: reason.to_string(),
            market_ts: ts,
        }
    }

    /// The price this bar fills at, if any (and updates the stop trigger).
    fn bar_price(
        &mut self,
        bar: &Bar,
        cfg: &ExchangeConfig,
    ) -> Result<Option<Decimal>, MoneyError> {
        let side = self.order.side;
        let buy = side == Side::Buy;
        // Prices "at or better than" p for this side, and "through" the stop.
        let reaches_limit = |l: Decimal| if buy { bar.low <= l } else { bar.high >= l };
        let open_within_limit = |l: Decimal| if buy { bar.open <= l } else { bar.open >= l };
        let open_through_stop = |s: Decimal| if buy { bar.open >= s } else { bar.open <= s };
        let reaches_stop = |s: Decimal| if buy { bar.high >= s } else { bar.low <= s };
        let limit_fill = |l: Decimal| {
            if open_within_limit(l) {
                Some(bar.open)
            } else if reaches_limit(l) {
                Some(l)
            } else {
                None
            }
        };
        Ok(match self.order.order_type {
            OrderType::Market => Some(cfg.slipped(side, bar.open)?),
            OrderType::Limit => self.order.limit_price.and_then(limit_fill),
            OrderType::Stop => {
                let Some(s) = self.order.stop_price else {
                    return Ok(None);
                };
                if self.triggered || open_through_stop(s) {
                    self.triggered = true;
                    Some(cfg.slipped(side, bar.open)?)
                } else if reaches_stop(s) {
                    self.triggered = true;
                    Some(cfg.slipped(side, s)?)
                } else {
                    None
                }
            }
            OrderType::StopLimit => {
                let (Some(s), Some(l)) = (self.order.stop_price, self.order.limit_price) else {
                    return Ok(None);
                };
                if self.triggered || open_through_stop(s) {
                    self.triggered = true;
                    limit_fill(l)
                } else if reaches_stop(s) {
                    self.triggered = true;
                    let stop_within_limit = if buy { s <= l } else { s >= l };
                    stop_within_limit.then_some(s)
                } else {
                    None
                }
            }
        })
    }

    /// What this bar does to the order (nothing if it does not concern it).
    /// A bar whose prices or volume make numbers beyond the decimal range is
    /// an error: the order is as before, but for having seen the bar (it is
    /// skipped, also when the same bars are replayed).
    pub fn on_bar(
        &mut self,
        bar: &Bar,
        cfg: &ExchangeConfig,
    ) -> Result<Vec<Execution>, MoneyError> {
        if !self.wants(bar) {
            return Ok(Vec::new());
        }
        let saved = self.state();
        let result = self.on_bar_in_place(bar, cfg);
        if result.is_err() {
            self.restore(saved);
            self.last_ts = bar.ts;
        }
        result
    }

    fn state(&self) -> (Decimal, u32, UnixNanos, bool, bool, Option<i64>, bool) {
        (
            self.leaves,
            self.fills,
            self.last_ts,
            self.triggered,
            self.started,
            self.trading_day,
            self.done,
        )
    }

    fn restore(&mut self, s: (Decimal, u32, UnixNanos, bool, bool, Option<i64>, bool)) {
        (
            self.leaves,
            self.fills,
            self.last_ts,
            self.triggered,
            self.started,
            self.trading_day,
            self.done,
        ) = s;
    }

    fn on_bar_in_place(
        &mut self,
        bar: &Bar,
        cfg: &ExchangeConfig,
    ) -> Result<Vec<Execution>, MoneyError> {
        self.last_ts = bar.ts;
        let day = utc_day(bar.ts);
        let trading_day = *self.trading_day.get_or_insert(day);
        if self.order.tif == TimeInForce::Day && day > trading_day {
            return Ok(vec![self.expire("day order: its trading day ended", bar.ts)]);
        }
        let first = !self.started;
        self.started = true;
        let one_shot = matches!(self.order.tif, TimeInForce::Ioc | TimeInForce::Fok);
        let price = self.bar_price(bar, cfg)?;
        let cap = match cfg.max_volume_share {
            Some(share) => money::mul(bar.volume, share, "bar volume × max_volume_share")?
                .floor()
                .max(Decimal::ZERO),
            None => self.leaves,
        };
        let qty = self.leaves.min(cap);
        let mut out = Vec::new();
        match price {
            Some(p) if qty > Decimal::ZERO => {
                if self.order.tif == TimeInForce::Fok && qty < self.leaves {
                    out.push(
                        self.expire("fill or kill: the bar's volume cannot fill it all", bar.ts),
                    );
                    return Ok(out);
                }
                out.push(self.fill(qty, p, bar.ts, cfg)?);
            }
            _ => {}
        }
        if one_shot && first && !self.done {
            let reason = if self.order.tif == TimeInForce::Fok {
                "fill or kill: not fillable on the first bar"
            } else {
                "immediate or cancel: the rest expired after the first bar"
            };
            out.push(self.expire(reason, bar.ts));
        }
        Ok(out)
    }

    /// A quote fills a market order at the touch (all of it: quotes carry no size).
    /// A quote whose price makes the fill's numbers overflow is an error and
    /// changes nothing.
    pub fn on_quote(
        &mut self,
        quote: &Quote,
        cfg: &ExchangeConfig,
    ) -> Result<Vec<Execution>, MoneyError> {
        if self.done
            || !cfg.fill_on_quotes
            || self.order.order_type != OrderType::Market
            || quote.symbol != self.order.symbol
            || quote.ts <= self.last_ts
        {
            return Ok(Vec::new());
        }
        let price = match self.order.side {
            Side::Buy => quote.ask,
            Side::Sell => quote.bid,
        };
        if price <= Decimal::ZERO {
            return Ok(Vec::new());
        }
        let saved = self.state();
        self.started = true;
        self.last_ts = quote.ts;
        let qty = self.leaves;
        match self.fill(qty, price, quote.ts, cfg) {
            Ok(e) => Ok(vec![e]),
            Err(e) => {
                self.restore(saved);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrderRequest, OrderStatus};
    use model::{Symbol, Timeframe};
    use rust_decimal_macros::dec;

    fn order(
        side: Side,
        t: OrderType,
        limit: Option<Decimal>,
        stop: Option<Decimal>,
        tif: TimeInForce,
    ) -> Working {
        let req = OrderRequest {
            client_order_id: "c".into(),
            account: "a".into(),
            symbol: Symbol::new("X").unwrap(),
            side,
            order_type: t,
            qty: dec!(10),
            limit_price: limit,
            stop_price: stop,
            tif,
            reduce_only: false,
            timeframe: None,
            strategy_id: None,
            after_ts: None,
            sizing: None,
        };
        let mut o = Order::new(&req, Timeframe::DAY, UnixNanos(0), UnixNanos(0), "c");
        o.status = OrderStatus::Accepted;
        Working::new(&o)
    }

    fn bar(day: i64, o: Decimal, h: Decimal, l: Decimal, c: Decimal, v: Decimal) -> Bar {
        Bar {
            symbol: Symbol::new("X").unwrap(),
            timeframe: Timeframe::DAY,
            ts: UnixNanos(day * NANOS_PER_DAY),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    /// The tests' bars are all sane: their matching never fails.
    trait BarOk {
        fn bar_ok(&mut self, bar: &Bar, cfg: &ExchangeConfig) -> Vec<Execution>;
    }

    impl BarOk for Working {
        fn bar_ok(&mut self, bar: &Bar, cfg: &ExchangeConfig) -> Vec<Execution> {
            self.on_bar(bar, cfg).unwrap()
        }
    }

    #[test]
    fn absurd_bars_and_quotes_are_errors_and_skipped() {
        let cfg = ExchangeConfig {
            commission_pct: dec!(0.001),
            slippage_bps: dec!(10),
            ..Default::default()
        };
        // Slippage on an open at the top of the decimal range.
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        let e = w
            .on_bar(
                &bar(1, Decimal::MAX, Decimal::MAX, dec!(1), dec!(1), dec!(100)),
                &cfg,
            )
            .unwrap_err();
        assert_eq!(e.field, "slipped price");
        assert_eq!((w.leaves, w.fills, w.done), (dec!(10), 0, false));
        assert_eq!(w.last_ts, UnixNanos(NANOS_PER_DAY), "the bar is skipped");
        assert!(!w.started);
        // The next sane bar fills as usual.
        let e = w.bar_ok(
            &bar(2, dec!(100), dec!(100), dec!(100), dec!(100), dec!(100)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(100.1)));
        // A fill's notional beyond the range (no slippage, a limit at the low).
        let cfg = ExchangeConfig::default();
        let mut w = order(
            Side::Sell,
            OrderType::Limit,
            Some(dec!(1)),
            None,
            TimeInForce::Gtc,
        );
        w.leaves = Decimal::MAX;
        let big = Decimal::MAX / dec!(2);
        let e = w
            .on_bar(&bar(1, big, big, big, big, Decimal::MAX), &cfg)
            .unwrap_err();
        assert_eq!(e.field, "fill qty × price");
        assert_eq!((w.leaves, w.fills), (Decimal::MAX, 0));
        // Volume × share beyond the range.
        let cfg = ExchangeConfig {
            max_volume_share: Some(dec!(2)),
            ..Default::default()
        };
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        let e = w
            .on_bar(
                &bar(1, dec!(1), dec!(1), dec!(1), dec!(1), Decimal::MAX),
                &cfg,
            )
            .unwrap_err();
        assert_eq!(e.field, "bar volume × max_volume_share");
        // A quote whose price makes the notional overflow changes nothing.
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        w.leaves = Decimal::MAX;
        let q = Quote {
            symbol: Symbol::new("X").unwrap(),
            ts: UnixNanos(5),
            bid: dec!(2),
            ask: dec!(2),
            last: dec!(2),
        };
        assert!(w.on_quote(&q, &ExchangeConfig::default()).is_err());
        assert_eq!((w.last_ts, w.started, w.fills), (UnixNanos(0), false, 0));
        // The commission itself.
        let cfg = ExchangeConfig {
            commission_pct: dec!(1),
            commission_fixed: Decimal::MAX,
            ..Default::default()
        };
        assert_eq!(
            cfg.commission(dec!(1), dec!(1), true).unwrap_err().field,
            "commission"
        );
        assert_eq!(cfg.commission(dec!(1), dec!(1), false), Ok(dec!(1)));
    }

    fn price_of(e: &[Execution]) -> Option<Decimal> {
        e.iter().find_map(|e| match e {
            Execution::Fill { price, .. } => Some(*price),
            _ => None,
        })
    }

    #[test]
    fn market_fills_at_next_open_with_slippage_and_commission() {
        let cfg = ExchangeConfig {
            commission_pct: dec!(0.001),
            commission_fixed: dec!(1),
            slippage_bps: dec!(10),
            ..Default::default()
        };
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        // A bar at after_ts itself is not "next".
        assert!(w
            .bar_ok(&bar(0, dec!(1), dec!(1), dec!(1), dec!(1), dec!(100)), &cfg)
            .is_empty());
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(101), dec!(99), dec!(100), dec!(100)),
            &cfg,
        );
        assert_eq!(
            e,
            vec![Execution::Fill {
                qty: dec!(10),
                price: dec!(100.1),
                commission: dec!(10) * dec!(100.1) * dec!(0.001) + dec!(1),
                market_ts: UnixNanos(NANOS_PER_DAY),
            }]
        );
        assert!(w.done);
    }

    #[test]
    fn limit_gap_through_fills_at_open_else_at_limit() {
        let cfg = ExchangeConfig::default();
        let mut w = order(
            Side::Buy,
            OrderType::Limit,
            Some(dec!(95)),
            None,
            TimeInForce::Gtc,
        );
        assert!(w
            .bar_ok(
                &bar(1, dec!(100), dec!(101), dec!(96), dec!(100), dec!(9)),
                &cfg
            )
            .is_empty());
        let e = w.bar_ok(
            &bar(2, dec!(99), dec!(99), dec!(94), dec!(95), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(95)));
        let mut w = order(
            Side::Buy,
            OrderType::Limit,
            Some(dec!(95)),
            None,
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(90), dec!(92), dec!(89), dec!(91), dec!(9)),
            &cfg,
        );
        assert_eq!(
            price_of(&e),
            Some(dec!(90)),
            "gap below a buy limit fills at the open"
        );
        let mut w = order(
            Side::Sell,
            OrderType::Limit,
            Some(dec!(105)),
            None,
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(106), dec!(99), dec!(101), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(105)));
    }

    #[test]
    fn stops_trigger_on_the_range_and_gap_to_the_open() {
        let cfg = ExchangeConfig::default();
        let mut w = order(
            Side::Sell,
            OrderType::Stop,
            None,
            Some(dec!(95)),
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(101), dec!(94), dec!(96), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(95)));
        let mut w = order(
            Side::Sell,
            OrderType::Stop,
            None,
            Some(dec!(95)),
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(90), dec!(91), dec!(88), dec!(89), dec!(9)),
            &cfg,
        );
        assert_eq!(
            price_of(&e),
            Some(dec!(90)),
            "gap through a sell stop fills at the open"
        );
        let mut w = order(
            Side::Buy,
            OrderType::Stop,
            None,
            Some(dec!(105)),
            TimeInForce::Gtc,
        );
        assert!(w
            .bar_ok(
                &bar(1, dec!(100), dec!(104), dec!(99), dec!(101), dec!(9)),
                &cfg
            )
            .is_empty());
    }

    #[test]
    fn stop_limit_waits_when_the_limit_is_beyond_the_stop() {
        let cfg = ExchangeConfig::default();
        // Buy stop 105 limit 106: triggered inside the bar, fills at the stop.
        let mut w = order(
            Side::Buy,
            OrderType::StopLimit,
            Some(dec!(106)),
            Some(dec!(105)),
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(107), dec!(99), dec!(106), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(105)));
        // Buy stop 105 limit 103: triggered, no fill on the trigger bar...
        let mut w = order(
            Side::Buy,
            OrderType::StopLimit,
            Some(dec!(103)),
            Some(dec!(105)),
            TimeInForce::Gtc,
        );
        assert!(w
            .bar_ok(
                &bar(1, dec!(100), dec!(107), dec!(99), dec!(106), dec!(9)),
                &cfg
            )
            .is_empty());
        assert!(w.triggered);
        // ...then a limit at 103 on the next bars.
        let e = w.bar_ok(
            &bar(2, dec!(106), dec!(106), dec!(102), dec!(104), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(103)));
        // Gap through the stop at the open: a limit on the same bar.
        let mut w = order(
            Side::Buy,
            OrderType::StopLimit,
            Some(dec!(110)),
            Some(dec!(105)),
            TimeInForce::Gtc,
        );
        let e = w.bar_ok(
            &bar(1, dec!(108), dec!(109), dec!(107), dec!(108), dec!(9)),
            &cfg,
        );
        assert_eq!(price_of(&e), Some(dec!(108)));
    }

    #[test]
    fn volume_share_splits_fills_and_time_in_force_expires() {
        let cfg = ExchangeConfig {
            max_volume_share: Some(dec!(0.1)),
            ..Default::default()
        };
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(100), dec!(100), dec!(100), dec!(45)),
            &cfg,
        );
        assert!(matches!(e[..], [Execution::Fill { qty, .. }] if qty == dec!(4)));
        let e = w.bar_ok(
            &bar(2, dec!(100), dec!(100), dec!(100), dec!(100), dec!(1000)),
            &cfg,
        );
        assert!(matches!(e[..], [Execution::Fill { qty, .. }] if qty == dec!(6)));
        assert!(w.done);

        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Ioc);
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(100), dec!(100), dec!(100), dec!(45)),
            &cfg,
        );
        assert!(
            matches!(e[..], [Execution::Fill { qty, .. }, Execution::Expire { .. }] if qty == dec!(4))
        );

        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Fok);
        let e = w.bar_ok(
            &bar(1, dec!(100), dec!(100), dec!(100), dec!(100), dec!(45)),
            &cfg,
        );
        assert!(matches!(e[..], [Execution::Expire { .. }]));

        // DAY: its trading day is its first eligible bar's (the next session
        // on daily bars); the first bar of a later day expires it.
        let day = || {
            order(
                Side::Buy,
                OrderType::Limit,
                Some(dec!(50)),
                None,
                TimeInForce::Day,
            )
        };
        let mut w = day();
        let high = bar(1, dec!(100), dec!(100), dec!(100), dec!(100), dec!(1000));
        let low = |d| bar(d, dec!(40), dec!(40), dec!(40), dec!(40), dec!(1000));
        assert!(w.bar_ok(&high, &cfg).is_empty());
        let e = w.bar_ok(&low(2), &cfg);
        assert!(matches!(e[..], [Execution::Expire { .. }]), "{e:?}");
        let mut w = day();
        let e = w.bar_ok(&low(1), &cfg);
        assert_eq!(
            price_of(&e),
            Some(dec!(40)),
            "a daily bar's session is the order's day"
        );
    }

    #[test]
    fn resumes_after_the_last_fill() {
        let cfg = ExchangeConfig {
            max_volume_share: Some(dec!(0.1)),
            ..Default::default()
        };
        let mut w = order(Side::Buy, OrderType::Market, None, None, TimeInForce::Gtc);
        let b1 = bar(1, dec!(100), dec!(100), dec!(100), dec!(100), dec!(45));
        let Execution::Fill {
            qty,
            price,
            commission,
            market_ts,
        } = w.bar_ok(&b1, &cfg)[0].clone()
        else {
            panic!()
        };
        let mut o = w.order.clone();
        o.apply_fill(qty, price, commission, market_ts).unwrap();
        let mut resumed = Working::new(&o);
        assert!(
            resumed.bar_ok(&b1, &cfg).is_empty(),
            "a bar is never matched twice"
        );
        assert_eq!(resumed.leaves, dec!(6));
    }
}
