//! How a paper strategy's signal becomes an order: the signal names the
//! position wanted (long, short, flat), sizing says how big, and the order is
//! the difference from what the account holds and has working.

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
    /// As many whole units as equity buys with commission,
    /// `floor(equity / (price × (1 + commission)))` (backtesting.py's all-in).
    #[default]
    AllIn,
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
                money::div(equity, unit_cost, "equity / unit cost")?.floor()
            }
        })
    }
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
        assert_eq!(
            Sizing::AllIn.units(dec!(10000), dec!(100), dec!(0)),
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
}
