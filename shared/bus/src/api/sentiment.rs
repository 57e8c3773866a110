//! sentiment service: `sentiment.score`, `sentiment.batch`,
//! `sentiment.symbol.get`; and the `NEWS_PUBLISHED` event it aggregates.
//!
//! Scores are plain `f64` (not money): VADER's compound in [-1, 1] and the
//! positive, neutral and negative shares of the text.

use model::{Symbol, UnixNanos};
use serde::{Deserialize, Serialize};

/// Longest text scored (bytes); longer ones are refused.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most texts in one `sentiment.batch`.
pub const MAX_BATCH: usize = 1_000;

/// `sentiment.score`: one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    pub text: String,
}

/// The scores of one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Scores {
    /// Normalised sum of valences, in [-1, 1]: above 0.05 positive, below
    /// -0.05 negative, else neutral (VADER's usual thresholds).
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
}

/// `sentiment.score` response (and one item of a batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreResponse {
    #[serde(flatten)]
    pub scores: Scores,
    /// `positive`, `negative` or `neutral`.
    pub label: String,
    /// The scores came from the cache (the text was scored before).
    pub cached: bool,
}

/// `sentiment.batch`: many texts, answered in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchResponse {
    pub results: Vec<ScoreResponse>,
    /// How many came from the cache.
    pub cached: usize,
}

/// `sentiment.symbol.get`: the decayed mean compound of a symbol's news with
/// `at - window_secs <= ts <= at`; an item of age `a` weighs `0.5^(a / half_life_secs)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SymbolRequest {
    pub symbol: Symbol,
    /// Window length in seconds (default 7 days).
    #[serde(default)]
    pub window_secs: Option<u64>,
    /// Half-life of an item's weight in seconds (default 1 day).
    #[serde(default)]
    pub half_life_secs: Option<u64>,
    /// End of the window (default: now).
    #[serde(default)]
    pub at: Option<UnixNanos>,
}

pub const DEFAULT_WINDOW_SECS: u64 = 7 * 24 * 3600;
pub const DEFAULT_HALF_LIFE_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SymbolSentiment {
    pub symbol: Symbol,
    /// Σ wᵢ·compoundᵢ / Σ wᵢ; 0 when no news is in the window.
    pub score: f64,
    /// `positive`, `negative` or `neutral` (of `score`).
    pub label: String,
    /// News items in the window.
    pub count: usize,
    /// Σ wᵢ.
    pub weight: f64,
    pub window_secs: u64,
    pub half_life_secs: u64,
    pub at: UnixNanos,
    /// The items, newest first.
    pub items: Vec<ScoredNews>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoredNews {
    pub id: String,
    pub ts: UnixNanos,
    pub headline: String,
    pub compound: f64,
    pub weight: f64,
}

/// Data of a `NEWS_PUBLISHED` event on `evt.news.<id>`; also one line of a
/// `trader news import` JSON-lines file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsItem {
    /// 1 to 64 of `A-Z a-z 0-9 - _` (a subject token and the de-duplication id).
    pub id: String,
    /// When it was published (UTC ns; RFC 3339 text is accepted too).
    pub ts: UnixNanos,
    pub headline: String,
    /// Text besides the headline (scored with it).
    #[serde(default)]
    pub body: Option<String>,
    pub symbols: Vec<Symbol>,
    #[serde(default)]
    pub source: Option<String>,
}

impl NewsItem {
    /// What is scored: the headline, and the body when there is one.
    pub fn text(&self) -> String {
        match &self.body {
            Some(body) if !body.is_empty() => format!("{} {body}", self.headline),
            _ => self.headline.clone(),
        }
    }
}

/// The label of a compound score.
pub fn label(compound: f64) -> &'static str {
    if compound >= 0.05 {
        "positive"
    } else if compound <= -0.05 {
        "negative"
    } else {
        "neutral"
    }
}
