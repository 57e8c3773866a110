//! Parameter sets of a sweep. Sets the strategy refuses (out of range,
//! `fast >= slow`) are skipped and counted.

use bus::api::backtest::Search;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use strategy::ParamKind;

pub type ParamSet = Map<String, Value>;

/// Most parameter sets one sweep may have.
pub const MAX_SETS: usize = 100_000;

pub fn param_sets(kind: &str, search: &Search) -> Result<(Vec<ParamSet>, u32), String> {
    let info = strategy::catalog()
        .into_iter()
        .find(|i| i.kind == kind)
        .ok_or_else(|| strategy::StrategyError::UnknownKind(kind.to_string()).to_string())?;
    let candidates: Vec<ParamSet> = match search {
        Search::Grid(grid) => {
            for name in grid.keys() {
                if !info.params.iter().any(|p| p.name == name) {
                    let known: Vec<&str> = info.params.iter().map(|p| p.name).collect();
                    return Err(format!(
                        "unknown parameter {name:?} for {kind}; known: {}",
                        known.join(", ")
                    ));
                }
            }
            let total: usize = grid.values().map(|v| v.len().max(1)).product();
            if grid.values().any(|v| v.is_empty()) {
                return Err("every grid parameter needs at least one value".to_string());
            }
            if total > MAX_SETS {
                return Err(format!("the grid has {total} sets; at most {MAX_SETS}"));
            }
            let mut sets = vec![Map::new()];
            for (name, values) in grid {
                sets = sets
                    .into_iter()
                    .flat_map(|set| {
                        values.iter().map(move |v| {
                            let mut s = set.clone();
                            s.insert(name.clone(), number(*v));
                            s
                        })
                    })
                    .collect();
            }
            sets
        }
        Search::Random { samples, seed } => {
            if *samples == 0 || *samples as usize > MAX_SETS {
                return Err(format!("samples must be between 1 and {MAX_SETS}"));
            }
            let mut rng = StdRng::seed_from_u64(*seed);
            (0..*samples)
                .map(|_| {
                    info.params
                        .iter()
                        .map(|p| {
                            let steps = ((p.max - p.min) / p.step).floor() as u64;
                            let v = p.min + p.step * rng.gen_range(0..=steps) as f64;
                            let v = if p.kind == ParamKind::Int {
                                v.round()
                            } else {
                                v
                            };
                            (p.name.to_string(), number(v))
                        })
                        .collect()
                })
                .collect()
        }
    };
    let mut sets = Vec::new();
    let mut skipped = 0;
    for set in candidates {
        match strategy::resolve_params(kind, &set) {
            Ok(resolved) if !sets.contains(&resolved) => sets.push(resolved),
            Ok(_) => {} // a repeat (random search)
            Err(_) => skipped += 1,
        }
    }
    Ok((sets, skipped))
}

/// Whole numbers as JSON integers, so integer parameters validate.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn grid_is_the_cartesian_product_minus_refused_sets() {
        let grid = BTreeMap::from([
            ("fast".to_string(), vec![5.0, 10.0, 20.0]),
            ("slow".to_string(), vec![10.0, 20.0, 30.0]),
        ]);
        let (sets, skipped) = param_sets("sma_cross", &Search::Grid(grid)).unwrap();
        // fast < slow: (5,10) (5,20) (5,30) (10,20) (10,30) (20,30)
        assert_eq!(sets.len(), 6);
        assert_eq!(skipped, 3);
        assert_eq!(
            Value::Object(sets[0].clone()),
            serde_json::json!({"fast": 5, "slow": 10})
        );
    }

    #[test]
    fn random_is_seeded_and_in_range() {
        let s = Search::Random {
            samples: 40,
            seed: 7,
        };
        let a = param_sets("rsi_reversion", &s).unwrap();
        assert_eq!(a, param_sets("rsi_reversion", &s).unwrap());
        for set in &a.0 {
            let p = set["period"].as_u64().unwrap();
            assert!((2..=500).contains(&p));
        }
        assert!(param_sets("nope", &s).is_err());
        assert!(param_sets(
            "sma_cross",
            &Search::Grid(BTreeMap::from([("x".to_string(), vec![1.0])]))
        )
        .is_err());
    }
}
