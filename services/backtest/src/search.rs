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
                .map(|_| random_set(&info.params, &mut rng))
                .collect()
        }
        Search::Genetic {
            population,
            generations,
            seed,
            mutation,
        } => {
            let total = *population as usize * *generations as usize;
            if *population < 2 || *generations == 0 || total > MAX_SETS {
                return Err(format!(
                    "genetic search needs population >= 2, generations >= 1 and population × generations <= {MAX_SETS}"
                ));
            }
            if !(0.0..=1.0).contains(mutation) {
                return Err("mutation must be between 0 and 1".to_string());
            }
            let mut rng = StdRng::seed_from_u64(*seed);
            (0..*population)
                .map(|_| random_set(&info.params, &mut rng))
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

/// One value per parameter, uniform on its range and step.
fn random_set(specs: &[strategy::ParamSpec], rng: &mut StdRng) -> ParamSet {
    specs
        .iter()
        .map(|p| (p.name.to_string(), random_value(p, rng)))
        .collect()
}

fn random_value(p: &strategy::ParamSpec, rng: &mut StdRng) -> Value {
    let steps = ((p.max - p.min) / p.step).floor() as u64;
    let v = p.min + p.step * rng.gen_range(0..=steps) as f64;
    number(if p.kind == ParamKind::Int {
        v.round()
    } else {
        v
    })
}

/// The next generation of a genetic search, bred from every result so far
/// (`scored`: parameter set and objective, in task order). Deterministic for a
/// given seed and generation, so any worker computes the same one. Returns up
/// to `population` valid sets not tried before.
pub fn next_generation(
    kind: &str,
    scored: &[(ParamSet, Option<f64>)],
    tried: &[ParamSet],
    population: u32,
    seed: u64,
    generation: u32,
    mutation: f64,
) -> Vec<ParamSet> {
    let Some(info) = strategy::catalog().into_iter().find(|i| i.kind == kind) else {
        return Vec::new();
    };
    if scored.is_empty() {
        return Vec::new();
    }
    let mut rng =
        StdRng::seed_from_u64(seed ^ (generation as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let fitness = |i: usize| scored[i].1.unwrap_or(f64::NEG_INFINITY);
    let tournament = |rng: &mut StdRng| {
        (0..3)
            .map(|_| rng.gen_range(0..scored.len()))
            .max_by(|a, b| fitness(*a).total_cmp(&fitness(*b)).then(b.cmp(a)))
            .unwrap_or(0)
    };
    let mut children: Vec<ParamSet> = Vec::new();
    let mut attempts = 0;
    while children.len() < population as usize && attempts < population as usize * 50 {
        attempts += 1;
        let (a, b) = (tournament(&mut rng), tournament(&mut rng));
        let child: ParamSet = info
            .params
            .iter()
            .map(|p| {
                let from = if rng.gen_bool(0.5) {
                    &scored[a].0
                } else {
                    &scored[b].0
                };
                let value = if rng.gen_bool(mutation) {
                    random_value(p, &mut rng)
                } else {
                    from.get(p.name)
                        .cloned()
                        .unwrap_or_else(|| number(p.default))
                };
                (p.name.to_string(), value)
            })
            .collect();
        if let Ok(resolved) = strategy::resolve_params(kind, &child) {
            if !tried.contains(&resolved) && !children.contains(&resolved) {
                children.push(resolved);
            }
        }
    }
    children
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
    fn generations_breed_from_the_best_and_never_repeat() {
        let (first, _) = param_sets(
            "sma_cross",
            &Search::Genetic {
                population: 20,
                generations: 3,
                seed: 5,
                mutation: 0.2,
            },
        )
        .unwrap();
        // Fitness: the closer fast is to 10, the better.
        let scored: Vec<(ParamSet, Option<f64>)> = first
            .iter()
            .map(|s| (s.clone(), Some(-(s["fast"].as_f64().unwrap() - 10.0).abs())))
            .collect();
        let next = next_generation("sma_cross", &scored, &first, 20, 5, 1, 0.1);
        assert_eq!(
            next,
            next_generation("sma_cross", &scored, &first, 20, 5, 1, 0.1),
            "deterministic"
        );
        assert!(!next.is_empty());
        assert!(
            next.iter().all(|s| !first.contains(s)),
            "nothing tried twice"
        );
        let mean = |sets: &[ParamSet]| {
            sets.iter()
                .map(|s| (s["fast"].as_f64().unwrap() - 10.0).abs())
                .sum::<f64>()
                / sets.len() as f64
        };
        assert!(
            mean(&next) < mean(&first),
            "selection moves towards the fitter sets"
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
        let g = Search::Genetic {
            population: 1,
            generations: 3,
            seed: 1,
            mutation: 0.2,
        };
        assert!(param_sets("sma_cross", &g).is_err());
        assert!(param_sets(
            "sma_cross",
            &Search::Grid(BTreeMap::from([("x".to_string(), vec![1.0])]))
        )
        .is_err());
    }
}
