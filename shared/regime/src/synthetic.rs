//! Close series with known regimes, for tests and benchmarks: log returns
//! drawn (fixed seed, Box-Muller) with each regime's drift and volatility.

use crate::kmeans::SplitMix64;
use crate::Regime;

/// Drift and volatility of the log return per bar in each regime.
pub fn regime_params(regime: Regime) -> (f64, f64) {
    match regime {
        Regime::TrendingUp => (0.005, 0.005),
        Regime::TrendingDown => (-0.005, 0.005),
        Regime::Ranging => (0.0, 0.005),
        Regime::HighVolatility => (0.0, 0.02),
    }
}

/// `segments` of (regime, bars): the closes (one more than the bars: the
/// first is the start price) and the regime of each return.
pub fn series(segments: &[(Regime, usize)], seed: u64) -> (Vec<f64>, Vec<Regime>) {
    let mut rng = SplitMix64::new(seed);
    let mut closes = vec![100.0];
    let mut truth = Vec::new();
    for (regime, bars) in segments {
        let (mu, sigma) = regime_params(*regime);
        for _ in 0..*bars {
            let u1 = rng.next_f64().max(1e-300);
            let u2 = rng.next_f64();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let last = *closes.last().unwrap_or(&100.0);
            closes.push(last * (mu + sigma * z).exp());
            truth.push(*regime);
        }
    }
    (closes, truth)
}

/// Two rounds through every regime, 300 bars each.
pub fn standard_segments() -> Vec<(Regime, usize)> {
    use Regime::*;
    [
        TrendingUp,
        Ranging,
        HighVolatility,
        TrendingDown,
        Ranging,
        TrendingUp,
        HighVolatility,
        TrendingDown,
    ]
    .into_iter()
    .map(|r| (r, 300))
    .collect()
}
