//! Every key: its dotted name (the path in [`crate::Settings`]), its kind, who
//! applies a change while running, and its help. Add a setting here and in
//! `Settings`; nothing else lists keys.

use crate::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// A whole number >= 0.
    Count,
    /// A decimal number (money, fractions), kept exact.
    Decimal,
    OptDecimal,
    OptCount,
    /// Names (comma-separated on a command line).
    Names,
    /// Symbols (comma-separated on a command line).
    Symbols,
    OptSymbols,
}

/// When a changed value takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// At once, without a restart, by this service (it watches the `config` bucket).
    Live(&'static str),
    /// At the next start of `trader run` (or of the service).
    Restart,
}

#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub key: &'static str,
    pub kind: Kind,
    pub applies: Applies,
    pub help: &'static str,
}

const MD: Applies = Applies::Live("market-data");
const EXEC: Applies = Applies::Live("execution");
const RISK: Applies = Applies::Live("risk");

pub const KEYS: &[KeySpec] = &[
    KeySpec {
        key: "services",
        kind: Kind::Names,
        applies: Applies::Restart,
        help: "services trader run starts (empty: all)",
    },
    KeySpec {
        key: "sim.enabled",
        kind: Kind::Bool,
        applies: Applies::Restart,
        help: "run the market simulator",
    },
    KeySpec {
        key: "sim.symbols",
        kind: Kind::Symbols,
        applies: MD,
        help: "symbols the simulator trades",
    },
    KeySpec {
        key: "sim.bar_seconds",
        kind: Kind::Count,
        applies: MD,
        help: "simulator bar interval in seconds (the bars' timeframe)",
    },
    KeySpec {
        key: "sim.seed",
        kind: Kind::Count,
        applies: MD,
        help: "simulator random seed",
    },
    KeySpec {
        key: "execution.commission_pct",
        kind: Kind::Decimal,
        applies: EXEC,
        help: "paper exchange commission, fraction of traded value (0.001 = 0.1 %)",
    },
    KeySpec {
        key: "execution.slippage_bps",
        kind: Kind::Decimal,
        applies: EXEC,
        help: "paper exchange slippage of market and stop fills, basis points",
    },
    KeySpec {
        key: "risk.max_order_qty",
        kind: Kind::OptDecimal,
        applies: RISK,
        help: "default limit: largest quantity of one order",
    },
    KeySpec {
        key: "risk.max_order_notional",
        kind: Kind::OptDecimal,
        applies: RISK,
        help: "default limit: largest qty x price of one order",
    },
    KeySpec {
        key: "risk.max_position",
        kind: Kind::OptDecimal,
        applies: RISK,
        help: "default limit: largest |position| per symbol",
    },
    KeySpec {
        key: "risk.max_gross_exposure",
        kind: Kind::OptDecimal,
        applies: RISK,
        help: "default limit: largest gross exposure",
    },
    KeySpec {
        key: "risk.max_open_orders",
        kind: Kind::OptCount,
        applies: RISK,
        help: "default limit: most working orders",
    },
    KeySpec {
        key: "risk.max_orders_per_second",
        kind: Kind::OptCount,
        applies: RISK,
        help: "default limit: most orders per second",
    },
    KeySpec {
        key: "risk.daily_loss_limit",
        kind: Kind::OptDecimal,
        applies: RISK,
        help: "default limit: daily loss that halts the account",
    },
    KeySpec {
        key: "risk.allowed_symbols",
        kind: Kind::OptSymbols,
        applies: RISK,
        help: "default limit: symbols an account may trade (none: all)",
    },
    KeySpec {
        key: "backtest.workers",
        kind: Kind::Count,
        applies: Applies::Restart,
        help: "sweep tasks one backtest instance runs at once",
    },
    KeySpec {
        key: "paper.cash",
        kind: Kind::Decimal,
        applies: Applies::Restart,
        help: "cash of the paper account when first opened",
    },
];

/// The spec of `key`, or an error naming it and the known keys.
pub fn spec(key: &str) -> Result<&'static KeySpec, ConfigError> {
    KEYS.iter()
        .find(|s| s.key == key)
        .ok_or_else(|| ConfigError::UnknownKey {
            key: key.to_string(),
            known: KEYS.iter().map(|s| s.key).collect::<Vec<_>>().join(", "),
        })
}

/// The environment variable of a key: `sim.bar_seconds` → `TRADER_SIM_BAR_SECONDS`.
pub fn env_name(key: &str) -> String {
    format!("TRADER_{}", key.replace('.', "_").to_ascii_uppercase())
}
