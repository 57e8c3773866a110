//! Bar intervals. Written as a count and a unit: `1s`, `5s`, `1m`, `15m`, `1h`,
//! `4h`, `1d`, `1w`. The text form is a subject token (`md.bar.GOOG.1d`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeframe {
    count: u32,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
}

impl Unit {
    fn seconds(self) -> u64 {
        match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3_600,
            Unit::Day => 86_400,
            Unit::Week => 604_800,
        }
    }
    fn suffix(self) -> char {
        match self {
            Unit::Second => 's',
            Unit::Minute => 'm',
            Unit::Hour => 'h',
            Unit::Day => 'd',
            Unit::Week => 'w',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid timeframe {input:?}: use a count and a unit s, m, h, d or w (e.g. 1s, 5m, 1h, 1d)"
)]
pub struct TimeframeError {
    pub input: String,
}

impl Timeframe {
    pub const DAY: Timeframe = Timeframe {
        count: 1,
        unit: Unit::Day,
    };

    pub fn parse(input: &str) -> Result<Self, TimeframeError> {
        let err = || TimeframeError {
            input: input.to_string(),
        };
        let s = input.trim();
        let (digits, suffix) = s.split_at(s.len().saturating_sub(1));
        let unit = match suffix {
            "s" => Unit::Second,
            "m" => Unit::Minute,
            "h" => Unit::Hour,
            "d" => Unit::Day,
            "w" => Unit::Week,
            _ => return Err(err()),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let count: u32 = digits.parse().map_err(|_| err())?;
        if count == 0 || count > 100_000 {
            return Err(err());
        }
        Ok(Timeframe { count, unit })
    }

    /// The timeframe that best names an interval in whole seconds (`60` → `1m`).
    pub fn from_seconds(seconds: u64) -> Option<Self> {
        if seconds == 0 {
            return None;
        }
        [
            Unit::Week,
            Unit::Day,
            Unit::Hour,
            Unit::Minute,
            Unit::Second,
        ]
        .into_iter()
        .find(|u| seconds.is_multiple_of(u.seconds()))
        .and_then(|unit| {
            let count = u32::try_from(seconds / unit.seconds()).ok()?;
            Some(Timeframe { count, unit })
        })
    }

    pub fn seconds(self) -> u64 {
        self.count as u64 * self.unit.seconds()
    }

    pub fn nanos(self) -> i64 {
        self.seconds() as i64 * crate::time::NANOS_PER_SECOND
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.suffix())
    }
}

impl std::str::FromStr for Timeframe {
    type Err = TimeframeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timeframe::parse(s)
    }
}

impl Serialize for Timeframe {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timeframe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Timeframe::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Timeframe {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timeframe".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+[smhdw]$",
            "description": "bar interval: 1s, 5m, 1h, 1d, 1w, ..."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["1s", "5s", "1m", "15m", "1h", "4h", "1d", "1w"] {
            assert_eq!(Timeframe::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Timeframe::parse("1d").unwrap().seconds(), 86_400);
        assert_eq!(Timeframe::from_seconds(60).unwrap().to_string(), "1m");
        assert_eq!(Timeframe::from_seconds(90).unwrap().to_string(), "90s");
    }

    #[test]
    fn rejects_bad() {
        for bad in ["", "d", "0m", "1y", "1.5h", "-1m", "1 m"] {
            assert!(Timeframe::parse(bad).is_err(), "{bad}");
        }
    }
}
