//! An account's cash and positions from its fills: average-cost positions,
//! realized P&L on the closed part of a position, unrealized P&L marked to the
//! last price. `equity = cash + Σ qty × last price`, exactly, in `Decimal`.

use std::collections::BTreeMap;

use model::{Decimal, Side, Symbol, UnixNanos};
use serde::{Deserialize, Serialize};

use crate::event::Fill;
use crate::money::{self, MoneyError};

/// One symbol's position. `qty` is signed: negative is short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Position {
    pub symbol: Symbol,
    pub qty: Decimal,
    /// Average entry price of the open quantity (zero when flat).
    pub avg_price: Decimal,
    /// P&L of everything closed so far in this symbol (before commissions).
    pub realized_pnl: Decimal,
    /// The price it is marked at: the newest of its last fill and last bar.
    pub last_price: Decimal,
    pub last_ts: UnixNanos,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<Decimal>,
}

impl Position {
    fn new(symbol: Symbol) -> Position {
        Position {
            symbol,
            qty: Decimal::ZERO,
            avg_price: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            last_price: Decimal::ZERO,
            last_ts: UnixNanos(0),
            stop_loss: None,
            take_profit: None,
        }
    }

    /// `qty × last price` (exact: every change to a ledger keeps it computable).
    pub fn market_value(&self) -> Decimal {
        self.try_market_value().unwrap_or(Decimal::MAX)
    }

    pub fn try_market_value(&self) -> Result<Decimal, MoneyError> {
        money::mul(self.qty, self.last_price, "qty × last_price")
    }

    /// `qty × (last price − average price)` (exact, like [`Position::market_value`]).
    pub fn unrealized_pnl(&self) -> Decimal {
        self.try_unrealized_pnl().unwrap_or(Decimal::MAX)
    }

    pub fn try_unrealized_pnl(&self) -> Result<Decimal, MoneyError> {
        let diff = money::sub(self.last_price, self.avg_price, "last_price − avg_price")?;
        money::mul(self.qty, diff, "qty × (last_price − avg_price)")
    }

    /// Applies a signed quantity at a price; returns the P&L it realized.
    /// On an error nothing is changed.
    fn trade(&mut self, signed_qty: Decimal, price: Decimal) -> Result<Decimal, MoneyError> {
        let mut next = self.clone();
        let realized = next.trade_in_place(signed_qty, price)?;
        *self = next;
        Ok(realized)
    }

    fn trade_in_place(
        &mut self,
        signed_qty: Decimal,
        price: Decimal,
    ) -> Result<Decimal, MoneyError> {
        let old = self.qty;
        let new = money::add(old, signed_qty, "position + fill.qty")?;
        let mut realized = Decimal::ZERO;
        if old.is_zero() || old.is_sign_positive() == signed_qty.is_sign_positive() {
            // Opening or adding: new average.
            let held = money::mul(old.abs(), self.avg_price, "position × avg_price")?;
            let added = money::mul(signed_qty.abs(), price, "fill.qty × fill.price")?;
            let cost = money::add(held, added, "position cost")?;
            self.avg_price = money::div(cost, new.abs(), "avg_price")?;
        } else {
            // Reducing, closing or reversing.
            let closed = signed_qty.abs().min(old.abs());
            let direction = if old.is_sign_positive() {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            let diff = money::sub(price, self.avg_price, "fill.price − avg_price")?;
            realized = money::mul(closed, diff, "realized P&L")? * direction;
            if new.is_zero() {
                self.avg_price = Decimal::ZERO;
            } else if new.is_sign_positive() != old.is_sign_positive() {
                self.avg_price = price;
            }
        }
        self.qty = new;
        self.realized_pnl = money::add(self.realized_pnl, realized, "realized_pnl")?;
        Ok(realized)
    }
}

/// An account's derived numbers, all computed with checked arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub market_value: Decimal,
    pub equity: Decimal,
    pub unrealized_pnl: Decimal,
    pub gross_exposure: Decimal,
    pub daily_pnl: Decimal,
}

/// Cash and positions of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountLedger {
    pub account: String,
    /// Cash deposited (the opening balance).
    pub deposits: Decimal,
    pub cash: Decimal,
    pub realized_pnl: Decimal,
    pub commissions: Decimal,
    pub fills: u64,
    pub positions: BTreeMap<Symbol, Position>,
    /// Equity at the end of the previous market day, for the daily P&L.
    pub day_start_equity: Decimal,
    /// UTC day (days since 1970) of the newest fill or mark.
    pub day: i64,
}

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

impl AccountLedger {
    pub fn open(account: &str, cash: Decimal) -> AccountLedger {
        AccountLedger {
            account: account.to_string(),
            deposits: cash,
            cash,
            realized_pnl: Decimal::ZERO,
            commissions: Decimal::ZERO,
            fills: 0,
            positions: BTreeMap::new(),
            day_start_equity: cash,
            day: i64::MIN,
        }
    }

    /// Market value, equity, unrealized P&L, gross exposure and daily P&L, or
    /// what cannot be computed. Every change to a ledger ([`Self::apply_fill`],
    /// [`Self::mark`]) is refused unless these stay computable, so the plain
    /// getters below are exact for any ledger built through them.
    pub fn totals(&self) -> Result<Totals, MoneyError> {
        let mut market_value = Decimal::ZERO;
        let mut unrealized_pnl = Decimal::ZERO;
        let mut gross_exposure = Decimal::ZERO;
        for p in self.positions.values() {
            let mv = p.try_market_value()?;
            market_value = money::add(market_value, mv, "market_value")?;
            gross_exposure = money::add(gross_exposure, mv.abs(), "gross_exposure")?;
            unrealized_pnl = money::add(unrealized_pnl, p.try_unrealized_pnl()?, "unrealized_pnl")?;
        }
        let equity = money::add(self.cash, market_value, "equity")?;
        let daily_pnl = money::sub(equity, self.day_start_equity, "daily_pnl")?;
        Ok(Totals {
            market_value,
            equity,
            unrealized_pnl,
            gross_exposure,
            daily_pnl,
        })
    }

    pub fn equity(&self) -> Decimal {
        self.totals().map(|t| t.equity).unwrap_or(Decimal::MAX)
    }

    pub fn unrealized_pnl(&self) -> Decimal {
        self.totals()
            .map(|t| t.unrealized_pnl)
            .unwrap_or(Decimal::MAX)
    }

    /// Σ |qty| × last price.
    pub fn gross_exposure(&self) -> Decimal {
        self.totals()
            .map(|t| t.gross_exposure)
            .unwrap_or(Decimal::MAX)
    }

    /// Equity now minus equity at the start of the market day.
    pub fn daily_pnl(&self) -> Decimal {
        self.totals().map(|t| t.daily_pnl).unwrap_or(Decimal::MAX)
    }

    pub fn position_qty(&self, symbol: &Symbol) -> Decimal {
        self.positions
            .get(symbol)
            .map(|p| p.qty)
            .unwrap_or(Decimal::ZERO)
    }

    /// Starts a new market day when `ts` is on a later UTC day than what came before.
    fn roll_day(&mut self, ts: UnixNanos) -> Result<(), MoneyError> {
        let day = ts.0.div_euclid(NANOS_PER_DAY);
        if day > self.day {
            self.day_start_equity = self.totals()?.equity;
            self.day = day;
        }
        Ok(())
    }

    /// Applies a fill: all or nothing. A fill whose cash effect, position or
    /// resulting equity cannot be computed leaves the ledger as it was.
    pub fn apply_fill(&mut self, fill: &Fill) -> Result<(), MoneyError> {
        let mut next = self.clone();
        next.apply_fill_in_place(fill)?;
        next.totals()?;
        *self = next;
        Ok(())
    }

    fn apply_fill_in_place(&mut self, fill: &Fill) -> Result<(), MoneyError> {
        self.roll_day(fill.market_ts)?;
        let signed = match fill.side {
            Side::Buy => fill.qty,
            Side::Sell => -fill.qty,
        };
        let value = money::mul(signed, fill.price, "fill.qty × fill.price")?;
        let outflow = money::add(value, fill.commission, "fill value + commission")?;
        self.cash = money::sub(self.cash, outflow, "cash")?;
        self.commissions = money::add(self.commissions, fill.commission, "commissions")?;
        self.fills += 1;
        let position = self
            .positions
            .entry(fill.symbol.clone())
            .or_insert_with(|| Position::new(fill.symbol.clone()));
        let realized = position.trade(signed, fill.price)?;
        position.last_price = fill.price;
        position.last_ts = fill.market_ts;
        self.realized_pnl = money::add(self.realized_pnl, realized, "realized_pnl")?;
        Ok(())
    }

    /// Marks a symbol at a newer price; returns whether anything held changed.
    /// A price at which the account's numbers cannot be computed is refused
    /// and changes nothing.
    pub fn mark(
        &mut self,
        symbol: &Symbol,
        price: Decimal,
        ts: UnixNanos,
    ) -> Result<bool, MoneyError> {
        let Some(position) = self.positions.get(symbol) else {
            return Ok(false);
        };
        if ts < position.last_ts || (ts == position.last_ts && price == position.last_price) {
            return Ok(false);
        }
        let mut next = self.clone();
        next.roll_day(ts)?;
        if let Some(position) = next.positions.get_mut(symbol) {
            position.last_price = price;
            position.last_ts = ts;
        }
        next.totals()?;
        *self = next;
        Ok(true)
    }

    pub fn set_protection(
        &mut self,
        symbol: &Symbol,
        stop_loss: Option<Decimal>,
        take_profit: Option<Decimal>,
    ) {
        let position = self
            .positions
            .entry(symbol.clone())
            .or_insert_with(|| Position::new(symbol.clone()));
        position.stop_loss = stop_loss;
        position.take_profit = take_profit;
    }
}

/// Which protective level a price hits for a position, if any: a long's stop
/// is below and its target above; a short's the other way round.
pub fn protection_hit(position: &Position, low: Decimal, high: Decimal) -> Option<&'static str> {
    if position.qty.is_zero() {
        return None;
    }
    let long = position.qty.is_sign_positive();
    if let Some(sl) = position.stop_loss {
        if (long && low <= sl) || (!long && high >= sl) {
            return Some("stop_loss");
        }
    }
    if let Some(tp) = position.take_profit {
        if (long && high >= tp) || (!long && low <= tp) {
            return Some("take_profit");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrderStatus;
    use rust_decimal_macros::dec;

    fn fill(side: Side, qty: Decimal, price: Decimal, commission: Decimal, day: i64) -> Fill {
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
            market_ts: UnixNanos(day * NANOS_PER_DAY),
            status: OrderStatus::Filled,
            cum_qty: qty,
            leaves_qty: Decimal::ZERO,
            strategy_id: None,
        }
    }

    #[test]
    fn average_cost_realized_and_reversal() {
        let x = Symbol::new("X").unwrap();
        let mut l = AccountLedger::open("a", dec!(10000));
        l.apply_fill(&fill(Side::Buy, dec!(10), dec!(100), dec!(1), 1))
            .unwrap();
        l.apply_fill(&fill(Side::Buy, dec!(10), dec!(110), dec!(1), 1))
            .unwrap();
        assert_eq!(l.positions[&x].avg_price, dec!(105));
        assert_eq!(l.cash, dec!(10000) - dec!(1000) - dec!(1100) - dec!(2));
        // Sell 30: closes 20 at 120 (+300) and opens 10 short at 120.
        l.apply_fill(&fill(Side::Sell, dec!(30), dec!(120), dec!(1), 2))
            .unwrap();
        assert_eq!(l.realized_pnl, dec!(300));
        assert_eq!(l.positions[&x].qty, dec!(-10));
        assert_eq!(l.positions[&x].avg_price, dec!(120));
        assert!(l.mark(&x, dec!(115), UnixNanos(3 * NANOS_PER_DAY)).unwrap());
        assert_eq!(l.unrealized_pnl(), dec!(50));
        assert_eq!(l.equity(), l.cash - dec!(1150));
        // Equity identity: deposits + realized + unrealized - commissions.
        assert_eq!(
            l.equity(),
            l.deposits + l.realized_pnl + l.unrealized_pnl() - l.commissions
        );
        assert_eq!(l.gross_exposure(), dec!(1150));
    }

    #[test]
    fn daily_pnl_counts_from_the_day_start() {
        let x = Symbol::new("X").unwrap();
        let mut l = AccountLedger::open("a", dec!(1000));
        l.apply_fill(&fill(Side::Buy, dec!(1), dec!(100), dec!(0), 1))
            .unwrap();
        l.mark(&x, dec!(90), UnixNanos(NANOS_PER_DAY + 1)).unwrap();
        assert_eq!(l.daily_pnl(), dec!(-10));
        l.mark(&x, dec!(80), UnixNanos(2 * NANOS_PER_DAY)).unwrap();
        assert_eq!(
            l.daily_pnl(),
            dec!(-10),
            "day 2 starts at day 1's close of 990"
        );
    }

    #[test]
    fn a_fill_that_overflows_changes_nothing() {
        let x = Symbol::new("X").unwrap();
        let huge = dec!(1_000_000_000_000_000);
        // qty × price beyond the decimal range.
        let mut l = AccountLedger::open("a", dec!(1000));
        let before = l.clone();
        let e = l
            .apply_fill(&fill(Side::Buy, huge, huge, dec!(0), 1))
            .unwrap_err();
        assert_eq!(e.field, "fill.qty × fill.price");
        assert_eq!(l, before);
        // Cash after the fill beyond the range (a sale into huge cash).
        let mut l = AccountLedger::open("a", Decimal::MAX - dec!(10));
        let before = l.clone();
        let e = l
            .apply_fill(&fill(Side::Sell, dec!(1), dec!(100), dec!(0), 1))
            .unwrap_err();
        assert_eq!(e.field, "cash");
        assert_eq!(l, before);
        // Commission beyond the range.
        let mut l = AccountLedger::open("a", dec!(1000));
        assert_eq!(
            l.apply_fill(&fill(Side::Buy, dec!(1), dec!(1), Decimal::MAX, 1))
                .unwrap_err()
                .field,
            "fill value + commission"
        );
        // A position whose cost overflows when added to.
        let mut l = AccountLedger::open("a", dec!(0));
        let (q, p) = (dec!(50_000_000_000_000_000), dec!(1_000_000_000_000));
        l.apply_fill(&fill(Side::Buy, q, p, dec!(0), 1)).unwrap();
        let before = l.clone();
        assert!(l.apply_fill(&fill(Side::Buy, q, p, dec!(0), 1)).is_err());
        assert_eq!(l, before);
        // Realized P&L of a close that does not fit.
        let mut l = AccountLedger::open("a", dec!(0));
        l.apply_fill(&fill(Side::Buy, dec!(10_000_000_000), dec!(1), dec!(0), 1))
            .unwrap();
        assert!(l
            .apply_fill(&fill(
                Side::Sell,
                dec!(10_000_000_000),
                dec!(10_000_000_000_000_000_000),
                dec!(0),
                1
            ))
            .is_err());
        // Good fills still apply afterwards.
        l.apply_fill(&fill(Side::Sell, dec!(10_000_000_000), dec!(2), dec!(0), 1))
            .unwrap();
        assert_eq!(l.realized_pnl, dec!(10_000_000_000));
        assert_eq!(l.positions[&x].qty, dec!(0));
    }

    #[test]
    fn a_mark_that_overflows_changes_nothing() {
        let x = Symbol::new("X").unwrap();
        let mut l = AccountLedger::open("a", dec!(1000));
        l.apply_fill(&fill(Side::Buy, dec!(1000), dec!(1), dec!(0), 1))
            .unwrap();
        let before = l.clone();
        let e = l
            .mark(&x, Decimal::MAX, UnixNanos(2 * NANOS_PER_DAY))
            .unwrap_err();
        assert_eq!(e.code(), "overflow");
        assert_eq!(l, before);
        assert!(l.mark(&x, dec!(2), UnixNanos(2 * NANOS_PER_DAY)).unwrap());
        assert_eq!(l.equity(), dec!(2000));
        assert!(l.totals().is_ok());
    }

    #[test]
    fn protection_levels_by_side() {
        let mut p = Position::new(Symbol::new("X").unwrap());
        p.qty = dec!(5);
        p.stop_loss = Some(dec!(90));
        p.take_profit = Some(dec!(120));
        assert_eq!(protection_hit(&p, dec!(95), dec!(110)), None);
        assert_eq!(protection_hit(&p, dec!(89), dec!(110)), Some("stop_loss"));
        assert_eq!(protection_hit(&p, dec!(95), dec!(121)), Some("take_profit"));
        p.qty = dec!(-5);
        p.stop_loss = Some(dec!(120));
        p.take_profit = Some(dec!(90));
        assert_eq!(protection_hit(&p, dec!(89), dec!(110)), Some("take_profit"));
    }
}
