//! `ensemble`: the built-ins vote, weighted by how well each traded lately in
//! the current market regime.
//!
//! Every bar: each member (sma_cross, ema_cross, rsi_reversion, macd_cross,
//! bollinger_breakout, default parameters) is followed as if it traded alone
//! under the backtest engine's rules (a signal on a close fills at the next
//! open; long +1, short −1, flat 0), giving it a return per bar. Returns are
//! kept per regime label (the regime at the close the position was decided
//! on), the last `lookback` of each. The weight of a member in a regime is its
//! Sharpe ratio there (non-negative, normalised); the ensemble's score is the
//! weighted sum of the members' positions, and it goes long above
//! `threshold`, short below −`threshold`, flat between.
//!
//! The regime comes from a [`regime::RegimeModel`] trained once `train_bars`
//! feature vectors are in (deterministic: fixed seed), or — `model_version` >
//! 0 — from a stored [`EnsembleModel`] (regime model and weights per regime,
//! learned offline by [`EnsembleModel::train`]) that the caller loads and
//! passes to [`crate::build_with_model`]. Pure: same bars, same signals.

use std::collections::{BTreeMap, VecDeque};

use model::{Bar, Direction, Regime, RegimeMethod, Signal, Symbol, Timeframe};
use regime::{FeatureVector, RegimeModel, RegimeTracker, RollingFeatures};
use serde::{Deserialize, Serialize};

use crate::builtins::Series;
use crate::{ParamSpec, Params, Strategy, StrategyError, StrategyInfo};

/// The members, by kind (default parameters each).
pub const MEMBERS: [&str; 5] = [
    "sma_cross",
    "ema_cross",
    "rsi_reversion",
    "macd_cross",
    "bollinger_breakout",
];

/// Returns needed in a regime before a member's Sharpe counts there.
const MIN_RETURNS: usize = 5;

/// Index of the bucket of returns seen before any regime is known.
const NO_REGIME: usize = 4;

/// An ensemble's learned state, stored as a model version
/// (`ensemble-<symbol>-<timeframe>/<version>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleModel {
    pub members: Vec<String>,
    pub regime: RegimeModel,
    /// Per regime label, one weight per member (summing to 1, or all 0).
    pub weights: BTreeMap<Regime, Vec<f64>>,
    pub trained_on: usize,
}

/// The ensemble's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleParams {
    pub lookback: usize,
    pub window: usize,
    pub train_bars: usize,
    pub threshold: f64,
    pub method: RegimeMethod,
    pub model_version: u64,
}

impl EnsembleParams {
    /// From resolved `ensemble` parameters.
    pub fn from_params(p: &Params) -> Self {
        EnsembleParams {
            lookback: p.int("lookback"),
            window: p.int("window"),
            train_bars: p.int("train_bars"),
            threshold: p.float("threshold"),
            method: if p.int("method") == 1 {
                RegimeMethod::Kmeans
            } else {
                RegimeMethod::Hmm
            },
            model_version: p.int("model_version") as u64,
        }
    }
}

/// One member followed under the engine's fill rules.
struct Member {
    strategy: Box<dyn Strategy>,
    /// Position held now (filled).
    held: f64,
    /// Position wanted at the last close (fills at the next open).
    wanted: f64,
}

fn position(d: Direction) -> f64 {
    match d {
        Direction::Long => 1.0,
        Direction::Short => -1.0,
        Direction::Flat => 0.0,
    }
}

/// Sharpe ratio (mean over standard deviation, per bar) of some returns.
fn sharpe(returns: &VecDeque<f64>) -> f64 {
    let n = returns.len();
    if n < MIN_RETURNS {
        return 0.0;
    }
    let mean = returns.iter().sum::<f64>() / n as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    if var <= 1e-18 {
        return if mean > 0.0 { 1.0 } else { 0.0 };
    }
    mean / var.sqrt()
}

fn normalised(scores: &[f64]) -> Vec<f64> {
    let pos: Vec<f64> = scores.iter().map(|s| s.max(0.0)).collect();
    let total: f64 = pos.iter().sum();
    if total > 0.0 {
        pos.iter().map(|s| s / total).collect()
    } else {
        vec![0.0; scores.len()]
    }
}

pub struct Ensemble {
    series: Series,
    params: EnsembleParams,
    members: Vec<Member>,
    features: RollingFeatures,
    history: Vec<FeatureVector>,
    tracker: Option<RegimeTracker>,
    /// Fixed weights of a pinned model.
    pinned: Option<BTreeMap<Regime, Vec<f64>>>,
    pinned_model: Option<EnsembleModel>,
    /// Per bucket (4 regimes, then "none yet"), per member: recent returns.
    returns: Vec<Vec<VecDeque<f64>>>,
    /// Regime at the last close (the positions were decided under it).
    regime: Option<Regime>,
    prev_close: Option<f64>,
    direction: Direction,
}

impl Ensemble {
    pub fn info() -> StrategyInfo {
        StrategyInfo {
            kind: "ensemble",
            description: "The built-ins weighted by their recent Sharpe ratio in the current market regime (HMM or k-means); long/short/flat on the weighted vote",
            params: vec![
                ParamSpec::int("lookback", 60.0, 10.0, 1000.0, "returns per member and regime the weights are learned from"),
                ParamSpec::int("window", 20.0, 5.0, 200.0, "bars of returns in the regime features"),
                ParamSpec::int("train_bars", 250.0, 50.0, 10000.0, "feature vectors before the regime model is trained (unpinned)"),
                ParamSpec::float("threshold", 0.3, 0.0, 1.0, 0.05, "weighted vote needed for a position"),
                ParamSpec::int("method", 0.0, 0.0, 1.0, "regime method: 0 hmm, 1 kmeans"),
                ParamSpec::int("model_version", 0.0, 0.0, 1_000_000.0, "0: learn online; n: use stored ensemble model version n"),
            ],
        }
    }

    pub fn new(
        symbol: Symbol,
        timeframe: Timeframe,
        params: EnsembleParams,
        model: Option<EnsembleModel>,
    ) -> Result<Self, StrategyError> {
        let members = MEMBERS
            .iter()
            .map(|kind| {
                crate::build(kind, &Default::default(), symbol.clone(), timeframe).map(|strategy| {
                    Member {
                        strategy,
                        held: 0.0,
                        wanted: 0.0,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let invalid = |reason: String| StrategyError::InvalidParam {
            name: "model_version".to_string(),
            reason,
        };
        let (tracker, pinned, window) = match (params.model_version, &model) {
            (0, _) => (None, None, params.window),
            (v, None) => return Err(invalid(format!("model version {v} was not loaded"))),
            (_, Some(m)) => {
                m.regime.validate().map_err(|e| invalid(e.to_string()))?;
                if m.members != MEMBERS || m.weights.values().any(|w| w.len() != MEMBERS.len()) {
                    return Err(invalid(
                        "the model's members are not this ensemble's".to_string(),
                    ));
                }
                (
                    Some(RegimeTracker::new(m.regime.clone())),
                    Some(m.weights.clone()),
                    m.regime.window,
                )
            }
        };
        Ok(Ensemble {
            series: Series { symbol, timeframe },
            features: RollingFeatures::new(window),
            params,
            returns: vec![vec![VecDeque::new(); members.len()]; 5],
            members,
            history: Vec::new(),
            tracker,
            pinned,
            pinned_model: model,
            regime: None,
            prev_close: None,
            direction: Direction::Flat,
        })
    }

    /// The regime the last bar was decided under.
    pub fn regime(&self) -> Option<Regime> {
        self.regime
    }

    /// The members' weights in `regime` (or before any regime is known).
    pub fn weights(&self, regime: Option<Regime>) -> Vec<f64> {
        if let (Some(w), Some(r)) = (&self.pinned, regime) {
            return w
                .get(&r)
                .cloned()
                .unwrap_or_else(|| vec![0.0; MEMBERS.len()]);
        }
        let bucket = regime.map_or(NO_REGIME, |r| r.index());
        normalised(&self.returns[bucket].iter().map(sharpe).collect::<Vec<_>>())
    }

    fn regime_on(&mut self, close: f64) -> Option<Regime> {
        let f = self.features.update(close)?;
        if self.tracker.is_none() {
            self.history.push(f);
            if self.history.len() >= self.params.train_bars {
                let model =
                    RegimeModel::train(self.params.method, self.params.window, &self.history)
                        .ok()?;
                let mut tracker = RegimeTracker::new(model);
                let mut last = None;
                // Bring the filter to this bar.
                for h in &self.history {
                    last = Some(tracker.on_features(h).regime);
                }
                self.tracker = Some(tracker);
                self.history.clear();
                return last;
            }
            return None;
        }
        self.tracker.as_mut().map(|t| t.on_features(&f).regime)
    }
}

impl Strategy for Ensemble {
    fn on_bar(&mut self, bar: &Bar) -> Option<Signal> {
        if !self.series.accepts(bar) {
            return None;
        }
        let (open, close) = (model::to_f64(bar.open), model::to_f64(bar.close));
        // This bar's return of every member: the position held until the
        // open, then the one wanted at the last close (filled at this open).
        if let Some(prev) = self.prev_close.filter(|p| *p > 0.0 && open > 0.0) {
            let bucket = self.regime.map_or(NO_REGIME, |r| r.index());
            for (i, m) in self.members.iter_mut().enumerate() {
                let r = m.held * (open / prev - 1.0) + m.wanted * (close / open - 1.0);
                m.held = m.wanted;
                let q = &mut self.returns[bucket][i];
                q.push_back(r);
                if q.len() > self.params.lookback {
                    q.pop_front();
                }
            }
        }
        self.prev_close = Some(close);
        for m in &mut self.members {
            if let Some(s) = m.strategy.on_bar(bar) {
                m.wanted = position(s.direction);
            }
        }
        self.regime = self.regime_on(close);
        let weights = self.weights(self.regime);
        let score: f64 = weights
            .iter()
            .zip(&self.members)
            .map(|(w, m)| w * m.wanted)
            .sum();
        let want = if score > self.params.threshold {
            Direction::Long
        } else if score < -self.params.threshold {
            Direction::Short
        } else {
            Direction::Flat
        };
        if want == self.direction {
            return None;
        }
        self.direction = want;
        let regime = self.regime.map_or("unknown", |r| r.as_str());
        let parts: Vec<String> = MEMBERS
            .iter()
            .zip(&weights)
            .zip(&self.members)
            .filter(|((_, w), _)| **w > 0.0)
            .map(|((k, w), m)| format!("{k} {w:.2}×{:+}", m.wanted))
            .collect();
        Some(self.series.signal(
            bar,
            want,
            format!(
                "ensemble score {score:+.2} in {regime} ({})",
                parts.join(", ")
            ),
        ))
    }

    fn reset(&mut self) {
        let model = self.pinned_model.clone();
        if let Ok(fresh) = Ensemble::new(
            self.series.symbol.clone(),
            self.series.timeframe,
            self.params.clone(),
            model,
        ) {
            *self = fresh;
        }
    }

    /// The first member's warm-up: no member can hold a position (and so
    /// earn the weight a signal needs) before it.
    fn warmup(&self) -> usize {
        self.members
            .iter()
            .map(|m| m.strategy.warmup())
            .min()
            .unwrap_or(0)
    }
}

impl EnsembleModel {
    /// Learns an ensemble offline from `bars`: a regime model on all their
    /// features, then each member's Sharpe ratio per regime over every bar
    /// (not only the last `lookback`), as weights.
    pub fn train(bars: &[Bar], params: &EnsembleParams) -> Result<EnsembleModel, StrategyError> {
        let fail = |reason: String| StrategyError::InvalidParam {
            name: "bars".to_string(),
            reason,
        };
        let first = bars.first().ok_or_else(|| fail("no bars".to_string()))?;
        let mut features = RollingFeatures::new(params.window);
        let feats: Vec<FeatureVector> = bars
            .iter()
            .filter_map(|b| features.update(model::to_f64(b.close)))
            .collect();
        let regime = RegimeModel::train(params.method, params.window, &feats)
            .map_err(|e| fail(e.to_string()))?;
        // Replay with the trained regimes and an unbounded lookback.
        let mut e = Ensemble::new(
            first.symbol.clone(),
            first.timeframe,
            EnsembleParams {
                lookback: usize::MAX,
                model_version: 0,
                ..params.clone()
            },
            None,
        )?;
        e.features = RollingFeatures::new(params.window);
        e.tracker = Some(RegimeTracker::new(regime.clone()));
        for b in bars {
            e.on_bar(b);
        }
        let weights = Regime::ALL
            .iter()
            .map(|r| (*r, e.weights(Some(*r))))
            .collect();
        Ok(EnsembleModel {
            members: MEMBERS.iter().map(|s| s.to_string()).collect(),
            regime,
            weights,
            trained_on: bars.len(),
        })
    }
}
