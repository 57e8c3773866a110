//! Market regime detection, pure (no I/O, no clock, no randomness beyond a
//! fixed seed): the same bars always give the same labels.
//!
//! - [`features`]: rolling mean and volatility of log returns, O(1) per bar.
//! - [`hmm`]: a Gaussian HMM (scaled forward-backward, Baum-Welch, Viterbi).
//! - [`kmeans`]: k-means++ from a fixed seed, then Lloyd.
//! - [`RegimeModel`]: either, trained on features, with each state or cluster
//!   labelled by its mean return and volatility ([`label_states`]); what the
//!   regime service stores as a model version.
//! - [`RegimeTracker`]: a model following one close series bar by bar.

pub mod features;
pub mod hmm;
pub mod kmeans;
pub mod synthetic;

pub use features::{FeatureVector, RollingFeatures};
pub use hmm::GaussianHmm;
pub use kmeans::KMeans;
pub use model::{Regime, RegimeMethod};

use serde::{Deserialize, Serialize};

/// One state or cluster per label.
pub const STATES: usize = 4;

/// Seed of every k-means++ (and so of every HMM's initialisation).
pub const SEED: u64 = 0x5EED_F2E6_10E5_0001;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegimeError {
    #[error("need at least {needed} observations, got {got}")]
    TooFewObservations { needed: usize, got: usize },
    #[error("invalid model: {0}")]
    InvalidModel(String),
}

/// Standardisation of observations (fitted on the training set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Scaler {
    pub fn fit(points: &[[f64; 2]]) -> Scaler {
        let n = points.len().max(1) as f64;
        let mut mean = vec![0.0; 2];
        let mut std = vec![0.0; 2];
        for d in 0..2 {
            mean[d] = points.iter().map(|p| p[d]).sum::<f64>() / n;
            let var = points.iter().map(|p| (p[d] - mean[d]).powi(2)).sum::<f64>() / n;
            std[d] = if var > 1e-24 { var.sqrt() } else { 1.0 };
        }
        Scaler { mean, std }
    }

    pub fn apply(&self, p: [f64; 2]) -> Vec<f64> {
        (0..2)
            .map(|d| (p[d] - self.mean[d]) / self.std[d])
            .collect()
    }
}

/// What a model says about one bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub regime: Regime,
    /// Per label, in [`Regime::ALL`] order: the HMM's filtered posterior, or
    /// k-means' inverse squared distances normalised.
    pub probabilities: [f64; STATES],
    /// k-means only: distance to each label's centroid (standardised units).
    pub distances: Option<[f64; STATES]>,
}

/// A trained regime model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeModel {
    pub method: RegimeMethod,
    /// Rolling window (bars) of the features it was trained on.
    pub window: usize,
    pub scaler: Scaler,
    /// The label of each state (HMM) or cluster (k-means).
    pub labels: Vec<Regime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmm: Option<GaussianHmm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kmeans: Option<KMeans>,
    /// Feature vectors it was trained on.
    pub trained_on: usize,
}

/// Labels states by their (standardised) means of `[trend strength, ln volatility]`
/// ([`FeatureVector::observation`]):
/// the most volatile is `high_volatility`; of the others the strongest
/// trend is `trending_up`, the lowest `trending_down`, the rest `ranging`.
pub fn label_states(means: &[Vec<f64>]) -> Vec<Regime> {
    let k = means.len();
    let mut labels = vec![Regime::Ranging; k];
    if k == 0 {
        return labels;
    }
    let volatile = (0..k)
        .max_by(|a, b| means[*a][1].total_cmp(&means[*b][1]).then(b.cmp(a)))
        .unwrap_or(0);
    labels[volatile] = Regime::HighVolatility;
    let mut rest: Vec<usize> = (0..k).filter(|i| *i != volatile).collect();
    rest.sort_by(|a, b| means[*a][0].total_cmp(&means[*b][0]).then(a.cmp(b)));
    if rest.len() >= 2 {
        labels[rest[0]] = Regime::TrendingDown;
        labels[*rest.last().unwrap_or(&0)] = Regime::TrendingUp;
    }
    labels
}

impl RegimeModel {
    /// Trains a model on feature vectors (at least 10 per state).
    pub fn train(
        method: RegimeMethod,
        window: usize,
        features: &[FeatureVector],
    ) -> Result<RegimeModel, RegimeError> {
        let needed = 10 * STATES;
        if features.len() < needed {
            return Err(RegimeError::TooFewObservations {
                needed,
                got: features.len(),
            });
        }
        let raw: Vec<[f64; 2]> = features.iter().map(|f| f.observation()).collect();
        let scaler = Scaler::fit(&raw);
        let z: Vec<Vec<f64>> = raw.iter().map(|p| scaler.apply(*p)).collect();
        let km = KMeans::fit(&z, STATES, SEED, 300)?;
        let (labels, hmm, kmeans) = match method {
            RegimeMethod::Kmeans => (label_states(&km.centroids), None, Some(km)),
            RegimeMethod::Hmm => {
                let mut hmm = init_hmm(&z, &km);
                hmm.train(&z, 200, 1e-6)?;
                (label_states(&hmm.means), Some(hmm), None)
            }
        };
        Ok(RegimeModel {
            method,
            window,
            scaler,
            labels,
            hmm,
            kmeans,
            trained_on: features.len(),
        })
    }

    /// Checks a model read back from storage.
    pub fn validate(&self) -> Result<(), RegimeError> {
        let bad = |m: &str| Err(RegimeError::InvalidModel(m.to_string()));
        if self.scaler.mean.len() != 2
            || self.scaler.std.len() != 2
            || self.scaler.std.iter().any(|s| !s.is_finite() || *s <= 0.0)
        {
            return bad("scaler must have two positive deviations");
        }
        let states = match (self.method, &self.hmm, &self.kmeans) {
            (RegimeMethod::Hmm, Some(h), _) => {
                h.validate()?;
                h.states()
            }
            (RegimeMethod::Kmeans, _, Some(k)) => k.centroids.len(),
            _ => return bad("parameters of its method are missing"),
        };
        if states != self.labels.len() || states == 0 {
            return bad("one label per state");
        }
        Ok(())
    }

    /// Labels a whole feature series at once (HMM: Viterbi; k-means: nearest).
    pub fn decode(&self, features: &[FeatureVector]) -> Vec<Regime> {
        let z: Vec<Vec<f64>> = features
            .iter()
            .map(|f| self.scaler.apply(f.observation()))
            .collect();
        match (&self.hmm, &self.kmeans) {
            (Some(h), _) => h.viterbi(&z).into_iter().map(|s| self.labels[s]).collect(),
            (None, Some(k)) => z.iter().map(|p| self.labels[k.nearest(p)]).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// One bar: the decision and the HMM's new filter state (`prev`: the one
    /// before, `None` at the start).
    pub fn step(
        &self,
        prev: Option<&[f64]>,
        features: &FeatureVector,
    ) -> (Decision, Option<Vec<f64>>) {
        let z = self.scaler.apply(features.observation());
        let mut probabilities = [0.0; STATES];
        match (&self.hmm, &self.kmeans) {
            (Some(h), _) => {
                let post = h.filter_step(prev, &z);
                for (s, p) in post.iter().enumerate() {
                    probabilities[self.labels[s].index()] += p;
                }
                let regime = best(&probabilities);
                (
                    Decision {
                        regime,
                        probabilities,
                        distances: None,
                    },
                    Some(post),
                )
            }
            (None, Some(k)) => {
                let d = k.distances(&z);
                let mut distances = [f64::INFINITY; STATES];
                for (c, dist) in d.iter().enumerate() {
                    let l = self.labels[c].index();
                    distances[l] = distances[l].min(*dist);
                }
                let inv: Vec<f64> = distances.iter().map(|d| 1.0 / (d * d + 1e-12)).collect();
                let total: f64 = inv.iter().sum();
                for (p, v) in probabilities.iter_mut().zip(&inv) {
                    *p = v / total;
                }
                let regime = self.labels[k.nearest(&z)];
                (
                    Decision {
                        regime,
                        probabilities,
                        distances: Some(distances),
                    },
                    None,
                )
            }
            (None, None) => (
                Decision {
                    regime: Regime::Ranging,
                    probabilities,
                    distances: None,
                },
                None,
            ),
        }
    }
}

fn best(p: &[f64; STATES]) -> Regime {
    let mut i = 0;
    for j in 1..STATES {
        if p[j] > p[i] {
            i = j;
        }
    }
    Regime::ALL[i]
}

/// The HMM's starting point: the k-means clusters (means, variances), sticky
/// transitions, uniform start.
fn init_hmm(z: &[Vec<f64>], km: &KMeans) -> GaussianHmm {
    let k = km.centroids.len();
    let d = z[0].len();
    let mut sums = vec![vec![0.0; d]; k];
    let mut counts = vec![0usize; k];
    for p in z {
        let c = km.nearest(p);
        counts[c] += 1;
        for dim in 0..d {
            sums[c][dim] += (p[dim] - km.centroids[c][dim]).powi(2);
        }
    }
    let vars = (0..k)
        .map(|c| {
            (0..d)
                .map(|dim| (sums[c][dim] / counts[c].max(1) as f64).max(hmm::VARIANCE_FLOOR * 10.0))
                .collect()
        })
        .collect();
    let stay = 0.95;
    let a = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    if i == j {
                        stay
                    } else {
                        (1.0 - stay) / (k - 1) as f64
                    }
                })
                .collect()
        })
        .collect();
    GaussianHmm {
        pi: vec![1.0 / k as f64; k],
        a,
        means: km.centroids.clone(),
        vars,
    }
}

/// A model following one close series: rolling features, then a decision
/// per bar (the HMM filtered forward: no look-ahead).
#[derive(Debug, Clone)]
pub struct RegimeTracker {
    model: RegimeModel,
    features: RollingFeatures,
    filter: Option<Vec<f64>>,
}

impl RegimeTracker {
    pub fn new(model: RegimeModel) -> Self {
        let features = RollingFeatures::new(model.window);
        RegimeTracker {
            model,
            features,
            filter: None,
        }
    }

    pub fn model(&self) -> &RegimeModel {
        &self.model
    }

    /// Feeds one close.
    pub fn on_close(&mut self, close: f64) -> Option<(FeatureVector, Decision)> {
        let f = self.features.update(close)?;
        Some((f, self.on_features(&f)))
    }

    /// Feeds one feature vector (when features are computed elsewhere).
    pub fn on_features(&mut self, f: &FeatureVector) -> Decision {
        let (decision, filter) = self.model.step(self.filter.as_deref(), f);
        self.filter = filter;
        decision
    }

    pub fn reset(&mut self) {
        self.features.reset();
        self.filter = None;
    }
}
