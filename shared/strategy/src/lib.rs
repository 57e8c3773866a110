//! Strategies: bar in, optional signal out, state inside. Pure and
//! deterministic (no clock, no I/O, no randomness), so the strategy service
//! and the backtester run the very same code and get the same signals.
//!
//! - [`Strategy`]: the trait.
//! - [`params`]: parameter declarations ([`ParamSpec`]) and their validation.
//! - [`catalog`] and [`build`]: the built-ins by name, with parameters from JSON.
//! - [`cross`]: backtesting.py's `crossover(a, b)`, shared by the built-ins.
//! - built-ins: [`SmaCross`], [`EmaCross`], [`RsiReversion`], [`MacdCross`],
//!   [`BollingerBreakout`].
//! - [`ensemble`]: [`Ensemble`], the built-ins weighted by their recent
//!   performance in the current market regime; [`EnsembleModel`], its stored form.

pub mod builtins;
pub mod cross;
pub mod ensemble;
pub mod params;

use model::{Bar, Signal, Symbol, Timeframe};
use serde_json::{Map, Value};

pub use builtins::{BollingerBreakout, EmaCross, MacdCross, RsiReversion, SmaCross};
pub use ensemble::{Ensemble, EnsembleModel, EnsembleParams};
pub use params::{ParamKind, ParamSpec, Params};

/// A trading strategy.
pub trait Strategy: Send {
    /// Feeds one closed bar (of the strategy's symbol, in time order); returns a
    /// signal when the strategy wants a position.
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal>;
    /// Back to the state right after construction.
    fn reset(&mut self);
    /// Bars needed before the first possible signal.
    fn warmup(&self) -> usize;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    #[error("unknown strategy kind {0:?}; known: sma_cross, ema_cross, rsi_reversion, macd_cross, bollinger_breakout, ensemble")]
    UnknownKind(String),
    #[error("unknown parameter {name:?} for {kind}; known: {known}")]
    UnknownParam {
        kind: String,
        name: String,
        known: String,
    },
    #[error("parameter {name}: {reason}")]
    InvalidParam { name: String, reason: String },
}

/// A built-in strategy: its name, what it does, its parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct StrategyInfo {
    pub kind: &'static str,
    pub description: &'static str,
    pub params: Vec<ParamSpec>,
}

/// Every built-in strategy.
pub fn catalog() -> Vec<StrategyInfo> {
    vec![
        SmaCross::info(),
        EmaCross::info(),
        RsiReversion::info(),
        MacdCross::info(),
        BollingerBreakout::info(),
        Ensemble::info(),
    ]
}

fn info_of(kind: &str) -> Result<StrategyInfo, StrategyError> {
    catalog()
        .into_iter()
        .find(|i| i.kind == kind)
        .ok_or_else(|| StrategyError::UnknownKind(kind.to_string()))
}

/// `params` with defaults filled in, validated (types, ranges, cross-parameter
/// rules), as JSON: what a stored strategy records.
pub fn resolve_params(
    kind: &str,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, StrategyError> {
    let info = info_of(kind)?;
    let resolved = Params::resolve(kind, &info.params, params)?;
    builtins::check_rules(kind, &resolved)?;
    Ok(resolved.to_json())
}

/// The stored model version a strategy pins, if any (an ensemble's
/// `model_version`): load it and pass it to [`build_with_model`].
pub fn pinned_model(kind: &str, params: &Map<String, Value>) -> Result<Option<u64>, StrategyError> {
    if kind != "ensemble" {
        return Ok(None);
    }
    let info = info_of(kind)?;
    let p = Params::resolve(kind, &info.params, params)?;
    Ok(Some(p.int("model_version") as u64).filter(|v| *v > 0))
}

/// Builds a built-in strategy by name for one symbol and timeframe.
pub fn build(
    kind: &str,
    params: &Map<String, Value>,
    symbol: Symbol,
    timeframe: Timeframe,
) -> Result<Box<dyn Strategy>, StrategyError> {
    build_with_model(kind, params, symbol, timeframe, None)
}

/// [`build`] with the model the strategy pins ([`pinned_model`]), loaded.
pub fn build_with_model(
    kind: &str,
    params: &Map<String, Value>,
    symbol: Symbol,
    timeframe: Timeframe,
    model: Option<EnsembleModel>,
) -> Result<Box<dyn Strategy>, StrategyError> {
    let info = info_of(kind)?;
    let p = Params::resolve(kind, &info.params, params)?;
    builtins::check_rules(kind, &p)?;
    let invalid = |e: indicators::IndicatorError| StrategyError::InvalidParam {
        name: kind.to_string(),
        reason: e.to_string(),
    };
    Ok(match kind {
        "sma_cross" => Box::new(
            SmaCross::new(symbol, timeframe, p.int("fast"), p.int("slow")).map_err(invalid)?,
        ),
        "ema_cross" => Box::new(
            EmaCross::new(symbol, timeframe, p.int("fast"), p.int("slow")).map_err(invalid)?,
        ),
        "rsi_reversion" => Box::new(
            RsiReversion::new(
                symbol,
                timeframe,
                p.int("period"),
                p.float("oversold"),
                p.float("overbought"),
            )
            .map_err(invalid)?,
        ),
        "macd_cross" => Box::new(
            MacdCross::new(
                symbol,
                timeframe,
                p.int("fast"),
                p.int("slow"),
                p.int("signal"),
            )
            .map_err(invalid)?,
        ),
        "bollinger_breakout" => Box::new(
            BollingerBreakout::new(symbol, timeframe, p.int("period"), p.float("nbdev"))
                .map_err(invalid)?,
        ),
        "ensemble" => Box::new(Ensemble::new(
            symbol,
            timeframe,
            EnsembleParams::from_params(&p),
            model,
        )?),
        other => return Err(StrategyError::UnknownKind(other.to_string())),
    })
}
