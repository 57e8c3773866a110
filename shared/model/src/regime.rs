//! Market regimes: what a regime detector says a symbol's market is doing.

use serde::{Deserialize, Serialize};

/// A regime label, assigned to a hidden state or cluster by its mean return
/// and volatility.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    TrendingUp,
    TrendingDown,
    Ranging,
    HighVolatility,
}

impl Regime {
    pub const ALL: [Regime; 4] = [
        Regime::TrendingUp,
        Regime::TrendingDown,
        Regime::Ranging,
        Regime::HighVolatility,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::TrendingUp => "trending_up",
            Regime::TrendingDown => "trending_down",
            Regime::Ranging => "ranging",
            Regime::HighVolatility => "high_volatility",
        }
    }

    /// Position in [`Regime::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a regime is detected.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RegimeMethod {
    /// Gaussian hidden Markov model (Baum-Welch, Viterbi).
    #[default]
    Hmm,
    /// k-means (k-means++ seeding, fixed seed).
    Kmeans,
}

impl RegimeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RegimeMethod::Hmm => "hmm",
            RegimeMethod::Kmeans => "kmeans",
        }
    }
}

impl std::fmt::Display for RegimeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
