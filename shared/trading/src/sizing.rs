//! How a paper strategy's signal becomes an order: the signal names the
//! position wanted (long, short, flat), sizing says how big, and the order is
//! the difference from what the account holds and has working.

use model::{Decimal, Direction, Side};
use serde::{Deserialize, Serialize};

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

    /// Units (unsigned) of the position to hold.
    pub fn units(&self, equity: Decimal, price: Decimal, commission_pct: Decimal) -> Decimal {
        if price <= Decimal::ZERO || equity <= Decimal::ZERO {
            return match self {
                Sizing::FixedQty { qty } => *qty,
                _ => Decimal::ZERO,
            };
        }
        match self {
            Sizing::FixedQty { qty } => *qty,
            Sizing::PercentOfEquity { percent } => {
                (equity * percent / Decimal::ONE_HUNDRED / price).floor()
            }
            Sizing::AllIn => (equity / (price * (Decimal::ONE + commission_pct))).floor(),
        }
    }
}

/// The order (side, qty) that takes `expected` (position plus working orders,
/// signed) to the position `direction` asks for; `None` when already there.
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
    let delta = target - expected;
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
            dec!(99)
        );
        assert_eq!(
            Sizing::AllIn.units(dec!(10000), dec!(100), dec!(0)),
            dec!(100)
        );
        assert_eq!(
            Sizing::PercentOfEquity { percent: dec!(25) }.units(dec!(10000), dec!(30), dec!(0)),
            dec!(83)
        );
        assert_eq!(
            Sizing::FixedQty { qty: dec!(7) }.units(dec!(1), dec!(30), dec!(0)),
            dec!(7)
        );
        assert!(Sizing::FixedQty { qty: dec!(0) }.validate().is_err());
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
