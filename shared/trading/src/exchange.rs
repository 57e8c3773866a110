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
//! - trailing stop (sell; a buy mirrors it with the lows): the trail starts at
//!   the first eligible bar's open, or, with an activation price A, once a
//!   bar reaches A (an open at or above A starts it at the open; a bar whose
//!   high reaches A starts it at that high, from the next bar). The reference
//!   R is the best price since (the open, then each bar's high after the bar
//!   is matched: the path inside a bar is unknown, so a bar's high never
//!   stops that same bar). Each bar's level is S = max(R, open) − offset
//!   (price) or × (1 − offset/10000) (bps) and the bar is a stop at S: an open
//!   at or below S fills at the open, a low reaching S fills at S, slipped.
//! - trailing stop limit: triggered like a trailing stop at S, its limit is
//!   L = S − limit_offset (same units), fixed from then on; then as a
//!   stop-limit S/L (inside the trigger bar it fills at S, since S is within L).
//! - market-if-touched T (buy: below the market; sell: above): an open at or
//!   through T fills at the open, a bar touching T fills at T, slipped, like
//!   a limit that pays slippage.
//! - limit-if-touched T/L: touched as market-if-touched; touched at the open,
//!   it is a limit L on that bar; touched inside the bar, it fills at T when T
//!   is within L, else waits for the next bar as a limit L.
//! - post-only limit L: at its first evaluation (first eligible bar's open,
//!   or first quote's ask/bid) a price at or through L means it would take
//!   liquidity: it expires (`post_only: …`) without a fill. Resting, it fills
//!   at L (maker) when a bar reaches L, a later gap through L included.
//! - quotes: a market order fills at the first quote after `after_ts`
//!   (ask for buys, bid for sells) when quotes run and come before a bar.
//!   The new order types also work on quotes, at the touch P (ask for buys,
//!   bid for sells): trailing stops trail P (activation: P at or through A)
//!   and trigger when P is at or through the level, filling at P; if-touched
//!   orders trigger when P is at or through T (market: fill at P; limit: at P
//!   if P is within L, else they wait as a limit, which later quotes fill at P
//!   within L); a triggered trailing stop limit likewise. Quotes carry no
//!   size: a fill takes all that is left. Plain limit, stop and stop-limit
//!   orders work on bars only.
//! - volume: a bar fills at most `floor(volume × max_volume_share)` units; the
//!   rest works on the next bars (IOC: expires; FOK: nothing fills).
//! - time in force: GTD expires at the first bar (or quote) whose time is at
//!   or after `expire_at`, before matching it. IOC and FOK get the first
//!   eligible bar only; DAY expires on
//!   the first bar of a later UTC day than its first eligible bar (its
//!   trading day: the same day for intraday bars, the next session for daily
//!   bars); GTC works until filled or canceled.
//! - commission: `commission_pct × notional` per fill plus `commission_fixed`
//!   on the first fill of an order.

use model::{Bar, Decimal, Quote, Side, UnixNanos};
use serde::{Deserialize, Serialize};

use crate::money::{self, MoneyError};
use crate::{Order, OrderType, TimeInForce, Trailing};

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
    /// Trailing orders: the best price since activation (`None`: not active yet).
    pub trail_ref: Option<Decimal>,
    /// Trailing orders: the level the last bar or quote was matched against.
    pub trail_level: Option<Decimal>,
    /// A triggered trailing stop limit's limit (fixed at the trigger).
    pub trigger_limit: Option<Decimal>,
    /// A trailing order resumed after fills re-derives its trail from the
    /// bars up to its last fill (these bars fill nothing again).
    pub replay_until: Option<UnixNanos>,
    /// Why a quote ended the order (post-only).
    quote_expiry: Option<String>,
}

/// What matching remembers between bars (saved and restored around a bar
/// that fails).
#[derive(Debug, Clone, Copy)]
struct State {
    leaves: Decimal,
    fills: u32,
    last_ts: UnixNanos,
    triggered: bool,
    started: bool,
    trading_day: Option<i64>,
    done: bool,
    trail_ref: Option<Decimal>,
    trail_level: Option<Decimal>,
    trigger_limit: Option<Decimal>,
}

/// Where a bar reaches a trigger price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    AtOpen,
    Inside,
}

fn utc_day(ts: UnixNanos) -> i64 {
    ts.0.div_euclid(NANOS_PER_DAY)
}

impl Working {
    /// Resumes an order as its events left it: after its last fill's bar, or
    /// after `after_ts` if it never filled.
    pub fn new(order: &Order) -> Working {
        let replay = order.order_type.is_trailing() && order.fills > 0;
        Working {
            leaves: order
                .qty
                .checked_sub(order.filled_qty)
                .unwrap_or(Decimal::ZERO),
            fills: order.fills,
            last_ts: if replay {
                order.after_ts
            } else {
                order.last_fill_bar_ts.unwrap_or(order.after_ts)
            },
            triggered: order.fills > 0 && !replay,
            started: order.fills > 0 && !replay,
            trading_day: if replay {
                None
            } else {
                order.last_fill_bar_ts.map(utc_day)
            },
            done: !order.status.is_open(),
            trail_ref: None,
            trail_level: None,
            trigger_limit: None,
            replay_until: if replay { order.last_fill_bar_ts } else { None },
            quote_expiry: None,
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
            && !self.order.held
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

    /// Where `bar` reaches `price`: `adverse` (stops: a buy's price rising to
    /// it) or favourable (limits and touches: a buy's price falling to it).
    fn reached(&self, bar: &Bar, price: Decimal, adverse: bool) -> Option<Reached> {
        let up = (self.order.side == Side::Buy) == adverse;
        let (open, extreme) = if up {
            (bar.open >= price, bar.high >= price)
        } else {
            (bar.open <= price, bar.low <= price)
        };
        if open {
            Some(Reached::AtOpen)
        } else if extreme {
            Some(Reached::Inside)
        } else {
            None
        }
    }

    /// A limit `l` on this bar: the open if it is within, else `l` if reached.
    fn limit_fill(&self, bar: &Bar, l: Decimal) -> Option<Decimal> {
        match self.reached(bar, l, false)? {
            Reached::AtOpen => Some(bar.open),
            Reached::Inside => Some(l),
        }
    }

    /// True when `p` is at or better than the limit `l` for this side.
    fn within(&self, p: Decimal, l: Decimal) -> bool {
        match self.order.side {
            Side::Buy => p <= l,
            Side::Sell => p >= l,
        }
    }

    /// The better of two reference prices for a trailing order (a sell trails
    /// the highs, a buy the lows).
    fn better(&self, a: Decimal, b: Decimal) -> Decimal {
        match self.order.side {
            Side::Sell => a.max(b),
            Side::Buy => a.min(b),
        }
    }

    fn trailing(&self) -> Option<&Trailing> {
        self.order.trailing.as_ref()
    }

    /// The stop level a trailing order has at reference `r`.
    fn level_at(&self, r: Decimal) -> Result<Option<Decimal>, MoneyError> {
        let Some(t) = self.trailing() else {
            return Ok(None);
        };
        t.shift(r, t.offset, self.order.side == Side::Sell)
            .map(Some)
    }

    /// The limit of a trailing stop limit triggered at level `s`.
    fn limit_at(&self, s: Decimal) -> Result<Option<Decimal>, MoneyError> {
        let Some(t) = self.trailing() else {
            return Ok(None);
        };
        let lo = t.limit_offset.unwrap_or(Decimal::ZERO);
        t.shift(s, lo, self.order.side == Side::Sell).map(Some)
    }

    /// A trailing order's level for this bar (`None`: not active yet, or
    /// activated inside this bar).
    fn trail_level_for_bar(&mut self, bar: &Bar) -> Result<Option<Decimal>, MoneyError> {
        let Some(t) = self.trailing().cloned() else {
            return Ok(None);
        };
        let r = match self.trail_ref {
            Some(r) => self.better(r, bar.open),
            None => match t.activation_price {
                None => bar.open,
                Some(a) => match self.reached(bar, a, false) {
                    Some(Reached::AtOpen) => bar.open,
                    _ => return Ok(None),
                },
            },
        };
        self.trail_ref = Some(r);
        let level = self.level_at(r)?;
        self.trail_level = level;
        Ok(level)
    }

    /// After a bar is matched, a trailing order's reference moves to its
    /// extreme (and a bar reaching the activation price starts the trail).
    fn trail_after_bar(&mut self, bar: &Bar) {
        let Some(t) = self.trailing() else {
            return;
        };
        let extreme = match self.order.side {
            Side::Sell => bar.high,
            Side::Buy => bar.low,
        };
        match self.trail_ref {
            Some(r) => self.trail_ref = Some(self.better(r, extreme)),
            None => {
                if let Some(a) = t.activation_price {
                    if self.reached(bar, a, false).is_some() {
                        self.trail_ref = Some(extreme);
                    }
                }
            }
        }
    }

    /// The price this bar fills at, if any (and updates the trigger and the trail).
    fn bar_price(
        &mut self,
        bar: &Bar,
        cfg: &ExchangeConfig,
    ) -> Result<Option<Decimal>, MoneyError> {
        let side = self.order.side;
        let ty = self.order.order_type;
        if ty == OrderType::Market {
            return Ok(Some(cfg.slipped(side, bar.open)?));
        }
        if ty == OrderType::Limit {
            let Some(l) = self.order.limit_price else {
                return Ok(None);
            };
            if self.order.post_only {
                return Ok(self.reached(bar, l, false).map(|_| l));
            }
            return Ok(self.limit_fill(bar, l));
        }
        // Triggered orders: the trigger, and whether it becomes a limit.
        let limit = match ty {
            OrderType::StopLimit | OrderType::LimitIfTouched => self.order.limit_price,
            OrderType::TrailingStopLimit => self.trigger_limit,
            _ => None,
        };
        let becomes_limit = matches!(
            ty,
            OrderType::StopLimit | OrderType::LimitIfTouched | OrderType::TrailingStopLimit
        );
        if self.triggered {
            return Ok(match (becomes_limit, limit) {
                (false, _) => Some(cfg.slipped(side, bar.open)?),
                (true, Some(l)) => self.limit_fill(bar, l),
                (true, None) => None,
            });
        }
        let (trigger, adverse) = match ty {
            OrderType::Stop | OrderType::StopLimit => (self.order.stop_price, true),
            OrderType::MarketIfTouched | OrderType::LimitIfTouched => {
                (self.order.stop_price, false)
            }
            _ => (self.trail_level_for_bar(bar)?, true),
        };
        let Some(s) = trigger else {
            return Ok(None);
        };
        let Some(reached) = self.reached(bar, s, adverse) else {
            return Ok(None);
        };
        self.triggered = true;
        let limit = if ty == OrderType::TrailingStopLimit {
            self.trigger_limit = self.limit_at(s)?;
            self.trigger_limit
        } else {
            limit
        };
        Ok(match (becomes_limit, reached, limit) {
            (false, Reached::AtOpen, _) => Some(cfg.slipped(side, bar.open)?),
            (false, Reached::Inside, _) => Some(cfg.slipped(side, s)?),
            (true, Reached::AtOpen, Some(l)) => self.limit_fill(bar, l),
            (true, Reached::Inside, Some(l)) => self.within(s, l).then_some(s),
            (true, _, None) => None,
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

    fn state(&self) -> State {
        State {
            leaves: self.leaves,
            fills: self.fills,
            last_ts: self.last_ts,
            triggered: self.triggered,
            started: self.started,
            trading_day: self.trading_day,
            done: self.done,
            trail_ref: self.trail_ref,
            trail_level: self.trail_level,
            trigger_limit: self.trigger_limit,
        }
    }

    fn restore(&mut self, s: State) {
        self.leaves = s.leaves;
        self.fills = s.fills;
        self.last_ts = s.last_ts;
        self.triggered = s.triggered;
        self.started = s.started;
        self.trading_day = s.trading_day;
        self.done = s.done;
        self.trail_ref = s.trail_ref;
        self.trail_level = s.trail_level;
        self.trigger_limit = s.trigger_limit;
    }

    /// True when a GTD order's time is up at `ts`.
    fn gtd_over(&self, ts: UnixNanos) -> bool {
        self.order.tif == TimeInForce::Gtd && self.order.expire_at.is_some_and(|e| ts >= e)
    }

    /// A post-only limit's first evaluation at price `p` (the open, or the
    /// touch of a quote): at or through its limit it would take liquidity.
    fn post_only_takes(&self, p: Decimal) -> bool {
        self.order.post_only && self.order.limit_price.is_some_and(|l| self.within(p, l))
    }

    fn on_bar_in_place(
        &mut self,
        bar: &Bar,
        cfg: &ExchangeConfig,
    ) -> Result<Vec<Execution>, MoneyError> {
        self.last_ts = bar.ts;
        if self.replay_until.is_some_and(|t| bar.ts <= t) {
            // Re-deriving a resumed trailing order's trail: no fills again.
            self.trading_day.get_or_insert(utc_day(bar.ts));
            self.started = true;
            self.bar_price(bar, cfg)?;
            self.trail_after_bar(bar);
            return Ok(Vec::new());
        }
        let day = utc_day(bar.ts);
        let trading_day = *self.trading_day.get_or_insert(day);
        if self.order.tif == TimeInForce::Day && day > trading_day {
            return Ok(vec![self.expire("day order: its trading day ended", bar.ts)]);
        }
        if self.gtd_over(bar.ts) {
            return Ok(vec![
                self.expire("good till date: expire_at reached", bar.ts)
            ]);
        }
        let first = !self.started;
        self.started = true;
        if first && self.post_only_takes(bar.open) {
            return Ok(vec![self.expire(
                "post_only: the limit would take liquidity (the first bar opens at or through it)",
                bar.ts,
            )]);
        }
        let one_shot = matches!(self.order.tif, TimeInForce::Ioc | TimeInForce::Fok);
        let price = self.bar_price(bar, cfg)?;
        self.trail_after_bar(bar);
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

    /// A quote fills a market order at the touch (all of it: quotes carry no
    /// size), and drives the order types that work on quotes (see the module
    /// rules). A quote whose price makes the fill's numbers overflow is an
    /// error and changes nothing.
    pub fn on_quote(
        &mut self,
        quote: &Quote,
        cfg: &ExchangeConfig,
    ) -> Result<Vec<Execution>, MoneyError> {
        if self.order.held {
            return Ok(Vec::new());
        }
        if !self.done
            && quote.symbol == self.order.symbol
            && quote.ts > self.last_ts
            && self.gtd_over(quote.ts)
        {
            // Time is up whatever the order type, quotes filling or not.
            self.last_ts = quote.ts;
            return Ok(vec![
                self.expire("good till date: expire_at reached", quote.ts)
            ]);
        }
        let ty = self.order.order_type;
        let on_quotes = matches!(
            ty,
            OrderType::Market
                | OrderType::TrailingStop
                | OrderType::TrailingStopLimit
                | OrderType::MarketIfTouched
                | OrderType::LimitIfTouched
        ) || (ty == OrderType::Limit && self.order.post_only && !self.started);
        if self.done
            || !cfg.fill_on_quotes
            || !on_quotes
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
        let result = self.on_quote_in_place(quote.ts, price);
        match result {
            Ok(Some(fill_at)) => {
                let qty = self.leaves;
                match self.fill(qty, fill_at, quote.ts, cfg) {
                    Ok(e) => Ok(vec![e]),
                    Err(e) => {
                        self.restore(saved);
                        Err(e)
                    }
                }
            }
            Ok(None) => {
                let mut out = Vec::new();
                if self.done {
                    // Expired inside (post-only).
                    out.push(Execution::Expire {
                        reason: self.quote_expiry.take().unwrap_or_default(),
                        market_ts: quote.ts,
                    });
                } else if matches!(self.order.tif, TimeInForce::Ioc | TimeInForce::Fok)
                    && saved.started != self.started
                {
                    out.push(self.expire(
                        "immediate or cancel: not fillable on the first quote",
                        quote.ts,
                    ));
                }
                Ok(out)
            }
            Err(e) => {
                self.restore(saved);
                Err(e)
            }
        }
    }

    /// The price a quote whose touch is `p` fills at, if any; updates the
    /// trail and the trigger.
    fn on_quote_in_place(
        &mut self,
        ts: UnixNanos,
        p: Decimal,
    ) -> Result<Option<Decimal>, MoneyError> {
        let first = !self.started;
        self.started = true;
        self.last_ts = ts;
        let ty = self.order.order_type;
        match ty {
            OrderType::Market => return Ok(Some(p)),
            OrderType::Limit => {
                if first && self.post_only_takes(p) {
                    self.done = true;
                    self.quote_expiry = Some(
                        "post_only: the limit would take liquidity (the first quote is at or through it)"
                            .into(),
                    );
                }
                return Ok(None);
            }
            _ => {}
        }
        let becomes_limit = matches!(ty, OrderType::LimitIfTouched | OrderType::TrailingStopLimit);
        if !self.triggered {
            let hit = match ty {
                OrderType::MarketIfTouched | OrderType::LimitIfTouched => {
                    self.order.stop_price.filter(|t| self.within(p, *t))
                }
                _ => self.trail_on_quote(p)?,
            };
            let Some(s) = hit else {
                return Ok(None);
            };
            self.triggered = true;
            if ty == OrderType::TrailingStopLimit {
                self.trigger_limit = self.limit_at(s)?;
            }
        }
        if !becomes_limit {
            return Ok(Some(p));
        }
        let limit = match ty {
            OrderType::LimitIfTouched => self.order.limit_price,
            _ => self.trigger_limit,
        };
        Ok(limit.filter(|l| self.within(p, *l)).map(|_| p))
    }

    /// A trailing order on a quote with touch `p`: the level it triggers at, if it does.
    fn trail_on_quote(&mut self, p: Decimal) -> Result<Option<Decimal>, MoneyError> {
        let activation = self.trailing().and_then(|t| t.activation_price);
        let r = match (self.trail_ref, activation) {
            (Some(r), _) => self.better(r, p),
            (None, None) => p,
            (None, Some(a)) if self.within(p, a) => p,
            (None, Some(_)) => return Ok(None),
        };
        self.trail_ref = Some(r);
        let Some(level) = self.level_at(r)? else {
            return Ok(None);
        };
        self.trail_level = Some(level);
        // Through the level: a sell's bid at or below it, a buy's ask at or above.
        let through = match self.order.side {
            Side::Sell => p <= level,
            Side::Buy => p >= level,
        };
        Ok(through.then_some(level))
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
            trailing: None,
            expire_at: None,
            post_only: false,
            tif,
            reduce_only: false,
            timeframe: None,
            strategy_id: None,
            after_ts: None,
            sizing: None,
            bracket: None,
            oco: Vec::new(),
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

    /// An accepted order of `qty` 10 with `f` applied, working.
    fn custom(side: Side, t: OrderType, f: impl FnOnce(&mut Order)) -> Working {
        let w = order(side, t, None, None, TimeInForce::Gtc);
        let mut o = w.order;
        f(&mut o);
        Working::new(&o)
    }

    fn trailing(
        offset: Decimal,
        bps: bool,
        activation: Option<Decimal>,
        lo: Option<Decimal>,
    ) -> Option<Trailing> {
        Some(Trailing {
            offset,
            offset_type: if bps {
                crate::OffsetType::Bps
            } else {
                crate::OffsetType::Price
            },
            activation_price: activation,
            limit_offset: lo,
        })
    }

    fn b(day: i64, o: Decimal, h: Decimal, l: Decimal, c: Decimal) -> Bar {
        bar(day, o, h, l, c, dec!(1000))
    }

    fn quote(ts: i64, bid: Decimal, ask: Decimal) -> Quote {
        Quote {
            symbol: Symbol::new("X").unwrap(),
            ts: UnixNanos(ts),
            bid,
            ask,
            last: bid,
        }
    }

    fn expired(e: &[Execution]) -> Option<&str> {
        e.iter().find_map(|e| match e {
            Execution::Expire { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }

    #[test]
    fn trailing_stop_follows_the_highs_and_fills_at_its_level() {
        let cfg = ExchangeConfig::default();
        let ts = || {
            custom(Side::Sell, OrderType::TrailingStop, |o| {
                o.trailing = trailing(dec!(5), false, None, None)
            })
        };
        let mut w = ts();
        // Level 100 − 5 = 95 on the first bar; the low 99 does not reach it.
        assert!(w
            .bar_ok(&b(1, dec!(100), dec!(104), dec!(99), dec!(103)), &cfg)
            .is_empty());
        assert_eq!(
            (w.trail_level, w.trail_ref),
            (Some(dec!(95)), Some(dec!(104)))
        );
        // Level 104 − 5 = 99; low 101.
        assert!(w
            .bar_ok(&b(2, dec!(103), dec!(108), dec!(101), dec!(107)), &cfg)
            .is_empty());
        // Level 108 − 5 = 103; the low 102 reaches it: filled at 103.
        let e = w.bar_ok(&b(3, dec!(106), dec!(107), dec!(102), dec!(103)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(103)));
        assert!(w.done);
        // The same trail, but the third bar gaps below 103: filled at the open.
        let mut w = ts();
        w.bar_ok(&b(1, dec!(100), dec!(104), dec!(99), dec!(103)), &cfg);
        w.bar_ok(&b(2, dec!(103), dec!(108), dec!(101), dec!(107)), &cfg);
        let e = w.bar_ok(&b(3, dec!(100), dec!(101), dec!(97), dec!(98)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(100)));
        // A buy trails the lows: 50 + 3 = 53, then min(48, 49) + 3 = 51, high 52.
        let mut w = custom(Side::Buy, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(3), false, None, None)
        });
        assert!(w
            .bar_ok(&b(1, dec!(50), dec!(51), dec!(48), dec!(49)), &cfg)
            .is_empty());
        let e = w.bar_ok(&b(2, dec!(49), dec!(52), dec!(47), dec!(51)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(51)));
        // Slippage applies as to any stop: 51 × 1.001.
        let slip = ExchangeConfig {
            slippage_bps: dec!(10),
            ..Default::default()
        };
        let mut w = custom(Side::Buy, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(3), false, None, None)
        });
        w.bar_ok(&b(1, dec!(50), dec!(51), dec!(48), dec!(49)), &slip);
        let e = w.bar_ok(&b(2, dec!(49), dec!(52), dec!(47), dec!(51)), &slip);
        assert_eq!(price_of(&e), Some(dec!(51.051)));
    }

    #[test]
    fn trailing_stop_in_bps_and_with_an_activation_price() {
        let cfg = ExchangeConfig::default();
        // 100 bps = 1 %: 200 → 198; then 210 × 0.99 = 207.9, reached by the low 207.
        let mut w = custom(Side::Sell, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(100), true, None, None)
        });
        assert!(w
            .bar_ok(&b(1, dec!(200), dec!(210), dec!(199), dec!(205)), &cfg)
            .is_empty());
        assert_eq!(w.trail_level, Some(dec!(198)));
        let e = w.bar_ok(&b(2, dec!(209), dec!(209), dec!(207), dec!(208)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(207.9)));
        // Activation at 110: bar 1 never reaches it; bar 2's high 111 starts
        // the trail (from bar 3, level 111 − 2 = 109), though its low 105 is
        // below that level; bar 3's low 108 fills at 109.
        let mut w = custom(Side::Sell, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(2), false, Some(dec!(110)), None)
        });
        assert!(w
            .bar_ok(&b(1, dec!(100), dec!(105), dec!(99), dec!(104)), &cfg)
            .is_empty());
        assert_eq!(w.trail_ref, None);
        assert!(w
            .bar_ok(&b(2, dec!(106), dec!(111), dec!(105), dec!(110)), &cfg)
            .is_empty());
        assert_eq!(w.trail_ref, Some(dec!(111)));
        let e = w.bar_ok(&b(3, dec!(110), dec!(110), dec!(108), dec!(109)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(109)));
        // An open at the activation price starts it at once: 112 − 2 = 110.
        let mut w = custom(Side::Sell, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(2), false, Some(dec!(110)), None)
        });
        let e = w.bar_ok(&b(1, dec!(112), dec!(112), dec!(109), dec!(110)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(110)));
    }

    #[test]
    fn trailing_stop_limit_becomes_a_limit_beyond_its_level() {
        let cfg = ExchangeConfig::default();
        let tsl = || {
            let mut w = custom(Side::Sell, OrderType::TrailingStopLimit, |o| {
                o.trailing = trailing(dec!(5), false, None, Some(dec!(1)))
            });
            // Level 95, then the reference is 104.
            assert!(w
                .bar_ok(&b(1, dec!(100), dec!(104), dec!(99), dec!(103)), &cfg)
                .is_empty());
            w
        };
        // Triggered inside the bar at 99: the stop is within the limit 98, fills at 99.
        let mut w = tsl();
        let e = w.bar_ok(&b(2, dec!(101), dec!(102), dec!(98), dec!(99)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(99)));
        // Gap below 99: a limit 98 on the same bar; the high 98 reaches it.
        let mut w = tsl();
        let e = w.bar_ok(&b(2, dec!(97), dec!(98), dec!(96), dec!(97)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(98)));
        // Gap to 95 and a high of 96: triggered, no fill; the next bar's high 99 fills at 98.
        let mut w = tsl();
        assert!(w
            .bar_ok(&b(2, dec!(95), dec!(96), dec!(94), dec!(95)), &cfg)
            .is_empty());
        assert_eq!((w.triggered, w.trigger_limit), (true, Some(dec!(98))));
        let e = w.bar_ok(&b(3, dec!(97), dec!(99), dec!(96), dec!(98)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(98)));
    }

    #[test]
    fn if_touched_orders_trigger_from_the_favourable_side() {
        let slip = ExchangeConfig {
            slippage_bps: dec!(10),
            ..Default::default()
        };
        let mit = |side, t| custom(side, OrderType::MarketIfTouched, |o| o.stop_price = Some(t));
        // Buy MIT 95: not touched at 96; touched inside at 95 → 95 × 1.001.
        let mut w = mit(Side::Buy, dec!(95));
        assert!(w
            .bar_ok(&b(1, dec!(100), dec!(101), dec!(96), dec!(100)), &slip)
            .is_empty());
        let e = w.bar_ok(&b(2, dec!(97), dec!(98), dec!(94), dec!(95)), &slip);
        assert_eq!(price_of(&e), Some(dec!(95.095)));
        // A gap below: the open, slipped.
        let mut w = mit(Side::Buy, dec!(95));
        let e = w.bar_ok(&b(1, dec!(93), dec!(94), dec!(92), dec!(93)), &slip);
        assert_eq!(price_of(&e), Some(dec!(93.093)));
        // Sell MIT 105 (above the market): the high 106 touches it.
        let mut w = mit(Side::Sell, dec!(105));
        let e = w.bar_ok(
            &b(1, dec!(100), dec!(106), dec!(99), dec!(101)),
            &ExchangeConfig::default(),
        );
        assert_eq!(price_of(&e), Some(dec!(105)));
        // A buy MIT is not a stop: a rise through 95 does nothing.
        let mut w = mit(Side::Buy, dec!(95));
        assert!(w
            .bar_ok(&b(1, dec!(96), dec!(99), dec!(95.5), dec!(98)), &slip)
            .is_empty());

        let cfg = ExchangeConfig::default();
        let lit = |t, l| {
            custom(Side::Buy, OrderType::LimitIfTouched, |o| {
                o.stop_price = Some(t);
                o.limit_price = Some(l);
            })
        };
        // Touched inside at 95 with the limit 96 above it: fills at 95.
        let mut w = lit(dec!(95), dec!(96));
        let e = w.bar_ok(&b(1, dec!(97), dec!(98), dec!(93), dec!(95)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(95)));
        // Limit 94 below the trigger: touched, waits; the next low 93.5 fills at 94.
        let mut w = lit(dec!(95), dec!(94));
        assert!(w
            .bar_ok(&b(1, dec!(97), dec!(98), dec!(93), dec!(95)), &cfg)
            .is_empty());
        assert!(w.triggered);
        let e = w.bar_ok(&b(2, dec!(95), dec!(96), dec!(93.5), dec!(95)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(94)));
        // Touched at the open 93: a limit 94 on that bar, the open is within.
        let mut w = lit(dec!(95), dec!(94));
        let e = w.bar_ok(&b(1, dec!(93), dec!(94), dec!(92), dec!(93)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(93)));
    }

    #[test]
    fn good_till_date_and_post_only() {
        let cfg = ExchangeConfig::default();
        let gtd = |expire_day: i64| {
            custom(Side::Buy, OrderType::Limit, |o| {
                o.limit_price = Some(dec!(50));
                o.tif = TimeInForce::Gtd;
                o.expire_at = Some(UnixNanos(expire_day * NANOS_PER_DAY));
            })
        };
        let mut w = gtd(3);
        assert!(w
            .bar_ok(&b(1, dec!(100), dec!(100), dec!(90), dec!(95)), &cfg)
            .is_empty());
        assert!(w
            .bar_ok(&b(2, dec!(100), dec!(100), dec!(90), dec!(95)), &cfg)
            .is_empty());
        // The bar opening at expire_at expires it before it is matched.
        let e = w.bar_ok(&b(3, dec!(45), dec!(45), dec!(40), dec!(45)), &cfg);
        assert_eq!(expired(&e), Some("good till date: expire_at reached"));
        assert!(price_of(&e).is_none());
        // Before expire_at it fills as a limit.
        let mut w = gtd(3);
        let e = w.bar_ok(&b(2, dec!(55), dec!(56), dec!(49), dec!(50)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(50)));
        // On quotes too.
        let mut w = gtd(3);
        let e = w
            .on_quote(&quote(3 * NANOS_PER_DAY, dec!(40), dec!(41)), &cfg)
            .unwrap();
        assert_eq!(expired(&e), Some("good till date: expire_at reached"));

        let post = || {
            custom(Side::Buy, OrderType::Limit, |o| {
                o.limit_price = Some(dec!(100));
                o.post_only = true;
            })
        };
        // The first bar opens at 99, through the buy limit 100: it would take.
        let mut w = post();
        let e = w.bar_ok(&b(1, dec!(99), dec!(101), dec!(98), dec!(100)), &cfg);
        assert!(expired(&e).unwrap().starts_with("post_only"), "{e:?}");
        assert!(price_of(&e).is_none() && w.done);
        // Opening above it rests; the low 99 fills it at 100.
        let mut w = post();
        let e = w.bar_ok(&b(1, dec!(101), dec!(102), dec!(99), dec!(100)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(100)));
        // Resting, a later gap to 95 fills at its own price (a plain limit gets the open).
        let mut w = post();
        assert!(w
            .bar_ok(&b(1, dec!(105), dec!(106), dec!(102), dec!(104)), &cfg)
            .is_empty());
        let e = w.bar_ok(&b(2, dec!(95), dec!(96), dec!(94), dec!(95)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(100)));
        let mut plain = order(
            Side::Buy,
            OrderType::Limit,
            Some(dec!(100)),
            None,
            TimeInForce::Gtc,
        );
        plain.bar_ok(&b(1, dec!(105), dec!(106), dec!(102), dec!(104)), &cfg);
        let e = plain.bar_ok(&b(2, dec!(95), dec!(96), dec!(94), dec!(95)), &cfg);
        assert_eq!(price_of(&e), Some(dec!(95)));
        // A first quote whose ask is at or below the limit would take: expired.
        let mut w = post();
        let e = w
            .on_quote(&quote(10, dec!(99.8), dec!(99.9)), &cfg)
            .unwrap();
        assert!(expired(&e).unwrap().starts_with("post_only"));
        // Above it: nothing, and later quotes are not the first evaluation.
        let mut w = post();
        assert!(w
            .on_quote(&quote(10, dec!(100.4), dec!(100.5)), &cfg)
            .unwrap()
            .is_empty());
        assert!(w
            .on_quote(&quote(11, dec!(99), dec!(99.5)), &cfg)
            .unwrap()
            .is_empty());
        assert!(!w.done);
    }

    #[test]
    fn new_order_types_on_quotes() {
        let cfg = ExchangeConfig::default();
        // Trailing sell, offset 1, on bids: 100 → 99; 102 → 101; 101.5 no; 100.9 fills at 100.9.
        let mut w = custom(Side::Sell, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(1), false, None, None)
        });
        for (t, bid) in [(1, dec!(100)), (2, dec!(102)), (3, dec!(101.5))] {
            assert!(w
                .on_quote(&quote(t, bid, bid + dec!(0.1)), &cfg)
                .unwrap()
                .is_empty());
        }
        assert_eq!(w.trail_level, Some(dec!(101)));
        let e = w.on_quote(&quote(4, dec!(100.9), dec!(101)), &cfg).unwrap();
        assert_eq!(price_of(&e), Some(dec!(100.9)));
        // Trailing sell with activation 105: bids below it do not start the trail.
        let mut w = custom(Side::Sell, OrderType::TrailingStop, |o| {
            o.trailing = trailing(dec!(1), false, Some(dec!(105)), None)
        });
        assert!(w
            .on_quote(&quote(1, dec!(100), dec!(100.1)), &cfg)
            .unwrap()
            .is_empty());
        assert_eq!(w.trail_ref, None);
        assert!(w
            .on_quote(&quote(2, dec!(105), dec!(105.1)), &cfg)
            .unwrap()
            .is_empty());
        let e = w.on_quote(&quote(3, dec!(104), dec!(104.1)), &cfg).unwrap();
        assert_eq!(price_of(&e), Some(dec!(104)));
        // Trailing stop limit, offset 2, limit offset 0.5: 100 → 98; a bid of 97
        // triggers (limit 97.5) but is below the limit; 97.6 fills at 97.6.
        let mut w = custom(Side::Sell, OrderType::TrailingStopLimit, |o| {
            o.trailing = trailing(dec!(2), false, None, Some(dec!(0.5)))
        });
        assert!(w
            .on_quote(&quote(1, dec!(100), dec!(100.1)), &cfg)
            .unwrap()
            .is_empty());
        assert!(w
            .on_quote(&quote(2, dec!(97), dec!(97.1)), &cfg)
            .unwrap()
            .is_empty());
        assert_eq!(w.trigger_limit, Some(dec!(97.5)));
        let e = w.on_quote(&quote(3, dec!(97.6), dec!(97.7)), &cfg).unwrap();
        assert_eq!(price_of(&e), Some(dec!(97.6)));
        // Buy MIT 95: an ask of 96 does not touch; 94.9 fills at 94.9.
        let mut w = custom(Side::Buy, OrderType::MarketIfTouched, |o| {
            o.stop_price = Some(dec!(95))
        });
        assert!(w
            .on_quote(&quote(1, dec!(95.9), dec!(96)), &cfg)
            .unwrap()
            .is_empty());
        let e = w.on_quote(&quote(2, dec!(94.8), dec!(94.9)), &cfg).unwrap();
        assert_eq!(price_of(&e), Some(dec!(94.9)));
        // Sell LIT 105 limit 106: a bid of 105.5 touches but is below 106; 106.2 fills.
        let mut w = custom(Side::Sell, OrderType::LimitIfTouched, |o| {
            o.stop_price = Some(dec!(105));
            o.limit_price = Some(dec!(106));
        });
        assert!(w
            .on_quote(&quote(1, dec!(105.5), dec!(105.6)), &cfg)
            .unwrap()
            .is_empty());
        assert!(w.triggered);
        let e = w
            .on_quote(&quote(2, dec!(106.2), dec!(106.3)), &cfg)
            .unwrap();
        assert_eq!(price_of(&e), Some(dec!(106.2)));
        // Quotes off: nothing on quotes.
        let off = ExchangeConfig {
            fill_on_quotes: false,
            ..Default::default()
        };
        let mut w = custom(Side::Buy, OrderType::MarketIfTouched, |o| {
            o.stop_price = Some(dec!(95))
        });
        assert!(w
            .on_quote(&quote(2, dec!(94.8), dec!(94.9)), &off)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_resumed_trailing_order_re_derives_its_trail() {
        let cfg = ExchangeConfig {
            max_volume_share: Some(dec!(0.1)),
            ..Default::default()
        };
        let bars = [
            bar(1, dec!(100), dec!(104), dec!(99), dec!(103), dec!(1000)),
            // Level 99 inside; 10 % of 40 = 4 units at 99; the limit is 98.
            bar(2, dec!(101), dec!(102), dec!(98), dec!(99), dec!(40)),
            // A limit 98: the high 99 reaches it, the 6 left fill at 98.
            bar(3, dec!(97), dec!(99), dec!(96), dec!(98), dec!(1000)),
        ];
        let mut w = custom(Side::Sell, OrderType::TrailingStopLimit, |o| {
            o.trailing = trailing(dec!(5), false, None, Some(dec!(1)))
        });
        let mut o = w.order.clone();
        let mut all = Vec::new();
        for (i, bar) in bars.iter().enumerate() {
            let e = w.bar_ok(bar, &cfg);
            if i < 2 {
                for x in &e {
                    if let Execution::Fill {
                        qty,
                        price,
                        commission,
                        market_ts,
                    } = x
                    {
                        o.apply_fill(*qty, *price, *commission, *market_ts).unwrap();
                    }
                }
            }
            all.push(e);
        }
        assert_eq!(price_of(&all[1]), Some(dec!(99)));
        assert_eq!(price_of(&all[2]), Some(dec!(98)));
        assert!(w.done);
        // The exchange restarts after the first fill: replaying the bars
        // refills nothing, and the third bar fills exactly as before.
        let mut resumed = Working::new(&o);
        assert!(resumed.bar_ok(&bars[0], &cfg).is_empty());
        assert!(resumed.bar_ok(&bars[1], &cfg).is_empty());
        assert_eq!(resumed.trigger_limit, Some(dec!(98)));
        assert_eq!(resumed.bar_ok(&bars[2], &cfg), all[2]);
        assert!(resumed.done);
    }
}
