//! OHLCV bars and the rules a bar must satisfy before it enters the MARKET stream.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Symbol, Timeframe, UnixNanos};

/// One bar. `ts` is the bar's open time (UTC nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bar {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub ts: UnixNanos,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

/// Why a bar is not acceptable. `reason()` is the machine-readable code used in
/// import reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BarError {
    #[error("prices must be positive")]
    NonPositivePrice,
    #[error("high is below low")]
    HighBelowLow,
    #[error("open or close lies outside [low, high]")]
    OpenCloseOutsideRange,
    #[error("volume is negative")]
    NegativeVolume,
}

impl BarError {
    pub fn reason(self) -> &'static str {
        match self {
            BarError::NonPositivePrice => "non_positive_price",
            BarError::HighBelowLow => "high_below_low",
            BarError::OpenCloseOutsideRange => "open_close_outside_range",
            BarError::NegativeVolume => "negative_volume",
        }
    }
}

impl Bar {
    /// Checks the bar's own consistency (not its place in a series).
    pub fn validate(&self) -> Result<(), BarError> {
        let zero = Decimal::ZERO;
        if self.open <= zero || self.high <= zero || self.low <= zero || self.close <= zero {
            return Err(BarError::NonPositivePrice);
        }
        if self.high < self.low {
            return Err(BarError::HighBelowLow);
        }
        let in_range = |p: Decimal| p >= self.low && p <= self.high;
        if !in_range(self.open) || !in_range(self.close) {
            return Err(BarError::OpenCloseOutsideRange);
        }
        if self.volume < zero {
            return Err(BarError::NegativeVolume);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn bar(o: Decimal, h: Decimal, l: Decimal, c: Decimal, v: Decimal) -> Bar {
        Bar {
            symbol: Symbol::new("GOOG").unwrap(),
            timeframe: Timeframe::DAY,
            ts: UnixNanos(0),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn validation_reasons() {
        assert!(
            bar(dec!(100), dec!(104.06), dec!(95.96), dec!(100.34), dec!(1))
                .validate()
                .is_ok()
        );
        assert_eq!(
            bar(dec!(100), dec!(90), dec!(95), dec!(92), dec!(1)).validate(),
            Err(BarError::HighBelowLow)
        );
        assert_eq!(
            bar(dec!(0), dec!(1), dec!(1), dec!(1), dec!(1)).validate(),
            Err(BarError::NonPositivePrice)
        );
        assert_eq!(
            bar(dec!(10), dec!(12), dec!(11), dec!(11), dec!(1)).validate(),
            Err(BarError::OpenCloseOutsideRange)
        );
        assert_eq!(
            bar(dec!(11), dec!(12), dec!(10), dec!(11), dec!(-1)).validate(),
            Err(BarError::NegativeVolume)
        );
    }

    #[test]
    fn json_keeps_exact_decimals() {
        let b = bar(
            dec!(100.10),
            dec!(104.06),
            dec!(95.96),
            dec!(100.34),
            dec!(22351900),
        );
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains("\"open\":\"100.10\""), "{json}");
        let back: Bar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }
}
