//! regime service: `regime.get`, `regime.train`, `regime.models.list`; and the
//! `REGIME_CHANGE` and `ML_MODEL_UPDATE` events.

use std::collections::BTreeMap;

use model::{Regime, RegimeMethod, Symbol, Timeframe, UnixNanos};
use serde::{Deserialize, Serialize};

fn day() -> Timeframe {
    Timeframe::DAY
}

/// `regime.get`: the current regime of one symbol's bars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    /// `hmm` (default) or `kmeans`.
    #[serde(default)]
    pub method: Option<RegimeMethod>,
}

/// The rolling features a regime is decided on (of the last bar).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Features {
    /// Mean log return per bar over the window.
    pub mean_return: f64,
    /// Standard deviation of log returns per bar over the window.
    pub volatility: f64,
}

/// A model's name and version (object `<name>/<version>` in the `models` bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelRef {
    pub name: String,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GetResponse {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub method: RegimeMethod,
    pub regime: Regime,
    /// `hmm`: posterior probability of each label at the last bar (sums to 1).
    /// `kmeans`: a soft assignment (inverse squared distances, normalised).
    pub probabilities: BTreeMap<Regime, f64>,
    /// `kmeans`: distance of the features to each label's centroid (in
    /// standardised units). Empty for `hmm`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distances: BTreeMap<Regime, f64>,
    pub features: Features,
    /// Open time of the last bar the answer includes.
    pub as_of: UnixNanos,
    /// Bars seen for this symbol and timeframe.
    pub bars: u64,
    /// The model that decided.
    pub model: ModelRef,
}

/// `regime.train`: (re)trains the regime models of one symbol from the bars
/// seen so far, stores a new version of each and announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    pub symbol: Symbol,
    #[serde(default = "day")]
    pub timeframe: Timeframe,
    /// Only this method (default: both).
    #[serde(default)]
    pub method: Option<RegimeMethod>,
    /// Also learn the `ensemble` strategy's model from the bars seen
    /// (`ensemble-<symbol>-<timeframe>`: its regime model, with `method`
    /// or `hmm`, and the members' weights per regime), for strategies that
    /// pin it with `model_version`.
    #[serde(default)]
    pub ensemble: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrainResponse {
    pub models: Vec<ModelInfo>,
}

/// `regime.models.list`: the stored versions of one model (or of all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelsListRequest {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelsListResponse {
    pub models: Vec<ModelInfo>,
}

/// A stored model version; also the data of an `ML_MODEL_UPDATE` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelInfo {
    pub name: String,
    pub version: u64,
    /// Object name in the `models` bucket: `<name>/<version>`.
    pub object: String,
    /// `regime_hmm`, `regime_kmeans` or `ensemble`.
    pub kind: String,
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    /// Bars it was trained on.
    pub bars: u64,
    /// Open time of the last of them.
    pub trained_to: UnixNanos,
    pub created_ts: UnixNanos,
}

/// Data of a `REGIME_CHANGE` event on `evt.regime.<symbol>.<timeframe>.<method>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegimeChange {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub method: RegimeMethod,
    /// The label before (none for the first one after warm-up).
    pub from: Option<Regime>,
    pub to: Regime,
    pub features: Features,
    pub as_of: UnixNanos,
    pub model: ModelRef,
}
