//! A seeded market simulator: geometric Brownian motion per symbol,
//! `S(t+dt) = S(t) · exp((μ − σ²/2)·dt + σ·√dt·Z)`, with `dt` in years of 365
//! days, sampled `ticks_per_bar` times per bar interval.
//!
//! The same seed and start prices give the same quotes and bars, whatever the
//! wall clock: time only labels them. The random walk itself runs in f64 (it is
//! a model, not accounting); every price leaves it as a `Decimal` quantised to
//! the tick size.

use std::time::Duration;

use model::{Bar, Decimal, Quote, Symbol, Timeframe, UnixNanos};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    pub symbols: Vec<Symbol>,
    /// Bar interval (whole seconds); also the bar timeframe (`1s`, `1m`, …).
    pub interval: Duration,
    pub ticks_per_bar: u32,
    /// Price of a symbol with no bars in MARKET yet.
    pub start_price: Decimal,
    /// Annual drift μ.
    pub drift: f64,
    /// Annual volatility σ.
    pub volatility: f64,
    pub seed: u64,
    pub tick_size: Decimal,
    /// Bid and ask sit this many ticks below and above the last price.
    pub half_spread_ticks: u32,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            symbols: ["SIM-A", "SIM-B", "SIM-C"]
                .iter()
                .map(|s| Symbol::new(s).unwrap())
                .collect(),
            interval: Duration::from_secs(1),
            ticks_per_bar: 4,
            start_price: Decimal::ONE_HUNDRED,
            drift: 0.05,
            volatility: 0.6,
            seed: 42,
            tick_size: Decimal::new(1, 2),
            half_spread_ticks: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulatorConfigError {
    #[error("simulator interval must be a whole number of seconds, at least 1 s (got {0:?})")]
    Interval(Duration),
    #[error("simulator needs at least one symbol")]
    NoSymbols,
    #[error("simulator {0} must be positive")]
    NotPositive(&'static str),
    #[error("simulator volatility and drift must be finite, volatility >= 0")]
    BadParameters,
}

impl SimulatorConfig {
    pub fn timeframe(&self) -> Result<Timeframe, SimulatorConfigError> {
        if self.interval.subsec_nanos() != 0 {
            return Err(SimulatorConfigError::Interval(self.interval));
        }
        Timeframe::from_seconds(self.interval.as_secs())
            .ok_or(SimulatorConfigError::Interval(self.interval))
    }

    pub fn validate(&self) -> Result<(), SimulatorConfigError> {
        self.timeframe()?;
        if self.symbols.is_empty() {
            return Err(SimulatorConfigError::NoSymbols);
        }
        if self.ticks_per_bar == 0 {
            return Err(SimulatorConfigError::NotPositive("ticks_per_bar"));
        }
        if self.start_price <= Decimal::ZERO {
            return Err(SimulatorConfigError::NotPositive("start_price"));
        }
        if self.tick_size <= Decimal::ZERO {
            return Err(SimulatorConfigError::NotPositive("tick_size"));
        }
        if !self.drift.is_finite() || !self.volatility.is_finite() || self.volatility < 0.0 {
            return Err(SimulatorConfigError::BadParameters);
        }
        Ok(())
    }
}

struct Path {
    symbol: Symbol,
    price: f64,
    rng: StdRng,
}

/// Quotes of one bar interval for one symbol, and the bar they make.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub quotes: Vec<Quote>,
    pub bar: Bar,
}

pub struct Simulator {
    config: SimulatorConfig,
    timeframe: Timeframe,
    paths: Vec<Path>,
}

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

impl Simulator {
    /// `start` gives a symbol's starting price (e.g. the last close in MARKET);
    /// others start at `config.start_price`.
    pub fn new(
        config: SimulatorConfig,
        start: impl Fn(&Symbol) -> Option<Decimal>,
    ) -> Result<Self, SimulatorConfigError> {
        config.validate()?;
        let timeframe = config.timeframe()?;
        let paths = config
            .symbols
            .iter()
            .enumerate()
            .map(|(i, symbol)| {
                let price = start(symbol).unwrap_or(config.start_price);
                Path {
                    symbol: symbol.clone(),
                    price: price.to_f64().unwrap_or(100.0),
                    // One independent, reproducible stream per symbol.
                    rng: StdRng::seed_from_u64(
                        config
                            .seed
                            .wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                    ),
                }
            })
            .collect();
        Ok(Simulator {
            config,
            timeframe,
            paths,
        })
    }

    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.config
    }

    /// Simulates the bar interval that opens at `bar_ts`, for every symbol.
    pub fn step(&mut self, bar_ts: UnixNanos) -> Vec<Step> {
        let ticks = self.config.ticks_per_bar;
        let dt_years = self.config.interval.as_secs_f64() / ticks as f64 / SECONDS_PER_YEAR;
        let drift = (self.config.drift - self.config.volatility.powi(2) / 2.0) * dt_years;
        let diffusion = self.config.volatility * dt_years.sqrt();
        let tick_nanos = self.timeframe.nanos() / ticks as i64;
        let tick_size = self.config.tick_size;
        let half_spread = tick_size * Decimal::from(self.config.half_spread_ticks);
        let mut steps = Vec::with_capacity(self.paths.len());
        for path in &mut self.paths {
            let mut quotes = Vec::with_capacity(ticks as usize);
            let mut volume = Decimal::ZERO;
            let (mut open, mut high, mut low, mut close) =
                (None, Decimal::MIN, Decimal::MAX, Decimal::ZERO);
            for k in 0..ticks {
                let z: f64 = path.rng.sample(StandardNormal);
                path.price *= (drift + diffusion * z).exp();
                let last = quantise(path.price, tick_size);
                volume += Decimal::from(100 * path.rng.gen_range(1..=20u32));
                open.get_or_insert(last);
                high = high.max(last);
                low = low.min(last);
                close = last;
                quotes.push(Quote {
                    symbol: path.symbol.clone(),
                    ts: UnixNanos(bar_ts.0 + (k as i64 + 1) * tick_nanos),
                    bid: (last - half_spread).max(tick_size),
                    ask: last + half_spread,
                    last,
                });
            }
            let bar = Bar {
                symbol: path.symbol.clone(),
                timeframe: self.timeframe,
                ts: bar_ts,
                open: open.unwrap_or(close),
                high,
                low,
                close,
                volume,
            };
            steps.push(Step { quotes, bar });
        }
        steps
    }
}

/// Rounds to the nearest multiple of the tick size, never below one tick.
fn quantise(price: f64, tick_size: Decimal) -> Decimal {
    let raw = Decimal::from_f64(price).unwrap_or(tick_size);
    let ticks = (raw / tick_size).round();
    (ticks * tick_size)
        .max(tick_size)
        .normalize()
        .max(tick_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(seed: u64) -> Simulator {
        Simulator::new(
            SimulatorConfig {
                seed,
                ..Default::default()
            },
            |_| None,
        )
        .unwrap()
    }

    #[test]
    fn same_seed_same_market() {
        let (mut a, mut b, mut c) = (sim(7), sim(7), sim(8));
        let ts = |i: i64| UnixNanos(i * 1_000_000_000);
        let run = |s: &mut Simulator| (0..200).flat_map(|i| s.step(ts(i))).collect::<Vec<_>>();
        let (ra, rb, rc) = (run(&mut a), run(&mut b), run(&mut c));
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
    }

    #[test]
    fn bars_are_valid_and_consistent_with_their_quotes() {
        let mut s = sim(1);
        for i in 0..500 {
            for step in s.step(UnixNanos(i * 1_000_000_000)) {
                step.bar.validate().unwrap();
                assert_eq!(step.bar.open, step.quotes[0].last);
                assert_eq!(step.bar.close, step.quotes.last().unwrap().last);
                assert!(step
                    .quotes
                    .iter()
                    .all(|q| q.bid < q.ask && q.last >= step.bar.low && q.last <= step.bar.high));
                assert!(step.bar.close.scale() <= 2, "quantised to the tick size");
            }
        }
    }

    #[test]
    fn drift_and_volatility_show_up_in_log_returns() {
        // One bar per simulated day, one tick per bar: daily log returns should
        // have mean (μ − σ²/2)/365 and standard deviation σ/√365.
        let config = SimulatorConfig {
            symbols: vec![Symbol::new("X").unwrap()],
            interval: Duration::from_secs(86_400),
            ticks_per_bar: 1,
            start_price: Decimal::from(10_000),
            drift: 0.1,
            volatility: 0.3,
            seed: 3,
            tick_size: Decimal::new(1, 4),
            half_spread_ticks: 1,
        };
        let mut s = Simulator::new(config, |_| None).unwrap();
        let closes: Vec<f64> = (0..20_000)
            .map(|i| {
                s.step(UnixNanos(i * 86_400_000_000_000))[0]
                    .bar
                    .close
                    .to_f64()
                    .unwrap()
            })
            .collect();
        let rets: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let n = rets.len() as f64;
        let mean = rets.iter().sum::<f64>() / n;
        let sd = (rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let want_sd = 0.3 / 365f64.sqrt();
        assert!((sd / want_sd - 1.0).abs() < 0.03, "sd {sd} vs {want_sd}");
        let want_mean = (0.1 - 0.045) / 365.0;
        // the mean is noisy: within 4 standard errors
        assert!(
            (mean - want_mean).abs() < 4.0 * want_sd / n.sqrt(),
            "mean {mean} vs {want_mean}"
        );
    }

    #[test]
    fn rejects_bad_config() {
        let bad = SimulatorConfig {
            interval: Duration::from_millis(1500),
            ..Default::default()
        };
        assert!(Simulator::new(bad, |_| None).is_err());
        let bad = SimulatorConfig {
            symbols: vec![],
            ..Default::default()
        };
        assert!(Simulator::new(bad, |_| None).is_err());
    }
}
