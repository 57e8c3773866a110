//! Instrument symbols. A symbol is one token of a NATS subject
//! (`md.bar.<symbol>.<timeframe>`), so it may not contain `.`, `*`, `>` or
//! white space: we allow ASCII letters, digits, `-` and `_`, and upper-case it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Symbol(String);

pub const MAX_SYMBOL_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid symbol {input:?}: use 1 to 32 ASCII letters, digits, '-' or '_' (e.g. GOOG, BTC-USD)"
)]
pub struct SymbolError {
    pub input: String,
}

impl Symbol {
    pub fn new(input: &str) -> Result<Self, SymbolError> {
        let s = input.trim();
        let valid = !s.is_empty()
            && s.len() <= MAX_SYMBOL_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Symbol(s.to_ascii_uppercase()))
        } else {
            Err(SymbolError {
                input: input.to_string(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::new(s)
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Symbol::new(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Symbol {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Symbol".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,32}$",
            "description": "instrument symbol, upper-cased"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_validates() {
        assert_eq!(Symbol::new(" goog ").unwrap().as_str(), "GOOG");
        assert_eq!(Symbol::new("btc-usd").unwrap().as_str(), "BTC-USD");
        for bad in ["", "BRK.B", "A B", "X>", "*", &"A".repeat(33)] {
            assert!(Symbol::new(bad).is_err(), "{bad}");
        }
    }
}
