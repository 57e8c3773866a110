//! How a signal becomes an order, for the backtest engine and the paper path
//! alike: the signal names the position wanted (long, short, flat), sizing
//! says how big, and the order is the difference from what the account holds
//! and has working.
//!
//! The sizing moment is explicit ([`SizingMoment`]): `at_fill` (the default,
//! backtesting.py's rule) sizes with the account's equity at the fill price,
//! after closing what it holds; `at_signal` sizes at the signal bar's close and
//! the fill may only shrink the order (never below zero cash at margin 1).

use model::{Decimal, Direction, Side};
use serde::{Deserialize, Serialize};

use crate::money::{self, MoneyError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Sizing {
    /// Always this many units.
    FixedQty { qty: Decimal },
    /// Whole units worth this percentage of equity at the signal's price.
    PercentOfEquity { percent: Decimal },
    /// As many whole units as equity buys with commission: backtesting.py's
    /// all-in `buy()` asks for the fraction `1 − ε` of the equity, so the
    /// units are `floor(equity / (price × (1 + commission)))`, one less when
    /// the quotient is a whole number.
    #[default]
    AllIn,
}

/// When a signal's order is sized.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SizingMoment {
    /// At the fill, with the equity of that moment at the fill price, after
    /// the position held is closed (backtesting.py; the engine's rule).
    #[default]
    AtFill,
    /// At the signal, with the equity at the signal bar's close; the fill
    /// shrinks the order to what the account can pay ([`cap_at_fill`]).
    AtSignal,
}

/// What an order placed for a signal carries to its fill: the position it is
/// to leave, the rule, and when the quantity is decided. The paper exchange
/// resolves it against the account at the fill ([`resolve_at_fill`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FillSizing {
    pub direction: Direction,
    pub sizing: Sizing,
    #[serde(default)]
    pub moment: SizingMoment,
    /// The price the order was sized at (the signal bar's close): risk
    /// prices the order with it, since the fill decides the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_price: Option<Decimal>,
}

/// An account as sizing sees it at one price of one symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountAt {
    pub cash: Decimal,
    /// Signed position in the symbol being sized.
    pub held: Decimal,
    /// Market value (signed) of every other position.
    pub other_value: Decimal,
}

/// Commission of a fill: `commission_pct × notional + commission_fixed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fees {
    pub pct: Decimal,
    pub fixed: Decimal,
}

impl AccountAt {
    /// Cash plus every position marked, this symbol at `price`.
    pub fn equity(&self, price: Decimal) -> Result<Decimal, MoneyError> {
        let value = money::mul(self.held, price, "position × price")?;
        money::add(
            money::add(self.cash, value, "equity")?,
            self.other_value,
            "equity",
        )
    }

    /// What a new position may spend: the equity at `price` once the
    /// position held is closed there (its exit commission paid), less one
    /// order's fixed commission. backtesting.py closes, then buys with the
    /// cash that leaves; the engine does the same.
    pub fn budget(&self, price: Decimal, fees: Fees) -> Result<Decimal, MoneyError> {
        let mut budget = self.equity(price)?;
        if !self.held.is_zero() {
            let notional = money::mul(self.held.abs(), price, "position × price")?;
            let exit = money::mul(notional, fees.pct, "exit commission")?;
            budget = money::sub(budget, exit, "equity − exit commission")?;
        }
        money::sub(budget, fees.fixed, "equity − commission_fixed")
    }
}

impl Sizing {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Sizing::FixedQty { qty } if *qty <= Decimal::ZERO => {
                Err(format!("fixed_qty needs a positive qty, got {qty}"))
            }
            Sizing::PercentOfEquity { percent }
                if *percent <= Decimal::ZERO || *percent > Decimal::ONE_HUNDRED =>
            {
                Err(format!(
                    "percent_of_equity needs 0 < percent <= 100, got {percent}"
                ))
            }
            _ => Ok(()),
        }
    }

    /// Units (unsigned) of the position to hold, or which number of the
    /// sizing cannot be computed.
    pub fn units(
        &self,
        equity: Decimal,
        price: Decimal,
        commission_pct: Decimal,
    ) -> Result<Decimal, MoneyError> {
        if price <= Decimal::ZERO || equity <= Decimal::ZERO {
            return Ok(match self {
                Sizing::FixedQty { qty } => *qty,
                _ => Decimal::ZERO,
            });
        }
        Ok(match self {
            Sizing::FixedQty { qty } => *qty,
            Sizing::PercentOfEquity { percent } => {
                let budget = money::mul(equity, *percent, "equity × percent")?;
                let budget = money::div(budget, Decimal::ONE_HUNDRED, "equity × percent")?;
                money::div(budget, price, "equity × percent / price")?.floor()
            }
            Sizing::AllIn => {
                let factor = money::add(Decimal::ONE, commission_pct, "commission_pct")?;
                let unit_cost = money::mul(price, factor, "price × (1 + commission_pct)")?;
                let quotient = money::div(equity, unit_cost, "equity / unit cost")?;
                let units = quotient.floor();
                if units == quotient && units > Decimal::ZERO {
                    units - Decimal::ONE
                } else {
                    units
                }
            }
        })
    }

    /// Units (unsigned) of the position `account` can take at `price`:
    /// [`Sizing::units`] of its [`AccountAt::budget`] (percent of equity takes
    /// the percentage of that budget), never more than all-in buys (margin 1,
    /// as backtesting.py's default: a fixed quantity the account cannot pay
    /// for is cut to what it can).
    pub fn units_for(
        &self,
        account: &AccountAt,
        price: Decimal,
        fees: Fees,
    ) -> Result<Decimal, MoneyError> {
        let budget = account.budget(price, fees)?;
        let all_in = Sizing::AllIn.units(budget, price, fees.pct)?;
        match self {
            Sizing::AllIn => Ok(all_in),
            _ => Ok(self.units(budget, price, fees.pct)?.min(all_in)),
        }
    }
}

/// The order an `at_fill` order becomes at its fill price: the signed
/// position its sizing wants there, minus what the account holds. `None`
/// when there is nothing to do or the difference is on the other side of
/// the order placed at the signal (the fill then expires it).
pub fn resolve_at_fill(
    sizing: &FillSizing,
    account: &AccountAt,
    price: Decimal,
    fees: Fees,
) -> Result<Option<(Side, Decimal)>, MoneyError> {
    let units = sizing.sizing.units_for(account, price, fees)?;
    Ok(order_for(sizing.direction, units, account.held))
}

/// An `at_signal` order's quantity at its fill: as placed, but never more
/// than takes the account to the all-in position at the fill price (so an
/// order sized at the close and filled at a higher open never spends cash
/// the account does not have). `None` when nothing is left.
pub fn cap_at_fill(
    side: Side,
    qty: Decimal,
    account: &AccountAt,
    price: Decimal,
    fees: Fees,
) -> Result<Option<Decimal>, MoneyError> {
    let signed = match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    };
    let after = money::add(account.held, signed, "position + qty")?;
    // Only the part that opens or grows a position needs the money.
    let same_side = after.is_zero() || (after > Decimal::ZERO) == (account.held > Decimal::ZERO);
    if after.abs() <= account.held.abs() && same_side {
        return Ok(Some(qty));
    }
    let max = Sizing::AllIn.units_for(account, price, fees)?;
    if after.abs() <= max {
        return Ok(Some(qty));
    }
    let target = if after > Decimal::ZERO { max } else { -max };
    let delta = money::sub(target, account.held, "target − position")?;
    let capped = match side {
        Side::Buy => delta,
        Side::Sell => -delta,
    };
    Ok((capped > Decimal::ZERO).then_some(capped))
}

/// The order (side, qty) that takes `expected` (position plus working orders,
/// signed) to the position `direction` asks for; `None` when already there
/// (or when the difference is beyond the decimal range).
pub fn order_for(
    direction: Direction,
    units: Decimal,
    expected: Decimal,
) -> Option<(Side, Decimal)> {
    let target = match direction {
        Direction::Long => units,
        Direction::Short => -units,
        Direction::Flat => Decimal::ZERO,
    };
    let delta = target.checked_sub(expected)?;
    if delta > Decimal::ZERO {
        Some((Side::Buy, delta))
    } else if delta < Decimal::ZERO {
        Some((Side::Sell, -delta))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn sizes() {
        assert_eq!(
            Sizing::AllIn.units(dec!(10000), dec!(100), dec!(0.002)),
            Ok(dec!(99))
        );
        // A whole quotient buys one less (backtesting.py's 1 − ε).
        assert_eq!(
            Sizing::AllIn.units(dec!(10000), dec!(100), dec!(0)),
            Ok(dec!(99))
        );
        assert_eq!(
            Sizing::AllIn.units(dec!(10050), dec!(100), dec!(0)),
            Ok(dec!(100))
        );
        assert_eq!(
            Sizing::PercentOfEquity { percent: dec!(25) }.units(dec!(10000), dec!(30), dec!(0)),
            Ok(dec!(83))
        );
        assert_eq!(
            Sizing::FixedQty { qty: dec!(7) }.units(dec!(1), dec!(30), dec!(0)),
            Ok(dec!(7))
        );
        assert!(Sizing::FixedQty { qty: dec!(0) }.validate().is_err());
    }

    #[test]
    fn sizes_beyond_the_decimal_range_are_errors() {
        let e = Sizing::PercentOfEquity { percent: dec!(100) }
            .units(Decimal::MAX, dec!(1), dec!(0))
            .unwrap_err();
        assert_eq!(e.field, "equity × percent");
        let e = Sizing::AllIn
            .units(Decimal::MAX, dec!(0.0000000000000000000000000001), dec!(0))
            .unwrap_err();
        assert_eq!(e.field, "equity / unit cost");
        let e = Sizing::AllIn
            .units(dec!(1), Decimal::MAX, dec!(1))
            .unwrap_err();
        assert_eq!(e.field, "price × (1 + commission_pct)");
        assert_eq!(order_for(Direction::Long, Decimal::MAX, Decimal::MIN), None);
    }

    #[test]
    fn reversal_is_one_order() {
        assert_eq!(
            order_for(Direction::Long, dec!(10), dec!(-10)),
            Some((Side::Buy, dec!(20)))
        );
        assert_eq!(
            order_for(Direction::Flat, dec!(10), dec!(10)),
            Some((Side::Sell, dec!(10)))
        );
        assert_eq!(order_for(Direction::Long, dec!(10), dec!(10)), None);
    }

    fn account(cash: Decimal, held: Decimal) -> AccountAt {
        AccountAt {
            cash,
            held,
            other_value: Decimal::ZERO,
        }
    }

    #[test]
    fn at_fill_reverses_to_what_closing_then_opening_gives() {
        let fees = Fees {
            pct: dec!(0.002),
            fixed: Decimal::ZERO,
        };
        // Long 50 bought at 100 with 10,000: cash 5,000 − 10 commission.
        let a = account(dec!(4990), dec!(50));
        let short = FillSizing {
            direction: Direction::Short,
            sizing: Sizing::AllIn,
            moment: SizingMoment::AtFill,
            signal_price: None,
        };
        // At 110: equity 4990 + 5500 = 10490, exit fee 11 → 10479 to spend;
        // 10479 / (110 × 1.002) = 95.07 → 95 short, so sell 145.
        assert_eq!(
            resolve_at_fill(&short, &a, dec!(110), fees),
            Ok(Some((Side::Sell, dec!(145))))
        );
        let flat = FillSizing {
            direction: Direction::Flat,
            ..short.clone()
        };
        assert_eq!(
            resolve_at_fill(&flat, &a, dec!(110), fees),
            Ok(Some((Side::Sell, dec!(50))))
        );
    }

    #[test]
    fn at_signal_orders_shrink_at_a_higher_open_and_never_grow() {
        let fees = Fees::default();
        let a = account(dec!(10000), Decimal::ZERO);
        // Sized at a close of 100: 99 units; filled at 101: 99 × 101 > 10,000.
        assert_eq!(
            cap_at_fill(Side::Buy, dec!(99), &a, dec!(101), fees),
            Ok(Some(dec!(99)))
        );
        assert_eq!(
            cap_at_fill(Side::Buy, dec!(100), &a, dec!(101), fees),
            Ok(Some(dec!(99)))
        );
        assert_eq!(
            cap_at_fill(Side::Buy, dec!(99), &a, dec!(90), fees),
            Ok(Some(dec!(99)))
        );
        // Closing needs no money.
        let long = account(dec!(0), dec!(99));
        assert_eq!(
            cap_at_fill(Side::Sell, dec!(99), &long, dec!(50), fees),
            Ok(Some(dec!(99)))
        );
        // Broke: nothing to buy.
        assert_eq!(
            cap_at_fill(
                Side::Buy,
                dec!(5),
                &account(dec!(0), dec!(0)),
                dec!(5),
                fees
            ),
            Ok(None)
        );
    }
}
