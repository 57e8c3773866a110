//! Parameter declarations (defaults and ranges, also what optimisers search)
//! and their validation from JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::StrategyError;

/// Whether a parameter takes whole numbers (periods) or any number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    Int,
    Float,
}

/// One parameter of a strategy: its default and the range `build` accepts
/// (and an optimiser searches, in steps of `step`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    /// Grid step for parameter sweeps.
    pub step: f64,
    pub description: &'static str,
}

impl ParamSpec {
    pub const fn int(
        name: &'static str,
        default: f64,
        min: f64,
        max: f64,
        description: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Int,
            default,
            min,
            max,
            step: 1.0,
            description,
        }
    }
    pub const fn float(
        name: &'static str,
        default: f64,
        min: f64,
        max: f64,
        step: f64,
        description: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            kind: ParamKind::Float,
            default,
            min,
            max,
            step,
            description,
        }
    }
}

/// Validated parameter values.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    values: BTreeMap<&'static str, (ParamKind, f64)>,
}

impl Params {
    /// Fills defaults, rejects unknown names, wrong types and out-of-range values.
    pub fn resolve(
        kind: &str,
        specs: &[ParamSpec],
        given: &Map<String, Value>,
    ) -> Result<Params, StrategyError> {
        for name in given.keys() {
            if !specs.iter().any(|s| s.name == name) {
                return Err(StrategyError::UnknownParam {
                    kind: kind.to_string(),
                    name: name.clone(),
                    known: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                });
            }
        }
        let mut values = BTreeMap::new();
        for spec in specs {
            let invalid = |reason: String| StrategyError::InvalidParam {
                name: spec.name.to_string(),
                reason,
            };
            let value = match given.get(spec.name) {
                None | Some(Value::Null) => spec.default,
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| invalid(format!("expected a number, got {v}")))?,
            };
            if spec.kind == ParamKind::Int && value.fract() != 0.0 {
                return Err(invalid(format!("expected a whole number, got {value}")));
            }
            if !value.is_finite() || value < spec.min || value > spec.max {
                return Err(invalid(format!(
                    "must be between {} and {}, got {value}",
                    spec.min, spec.max
                )));
            }
            values.insert(spec.name, (spec.kind, value));
        }
        Ok(Params { values })
    }

    pub fn int(&self, name: &str) -> usize {
        self.values
            .get(name)
            .map(|(_, v)| *v as usize)
            .unwrap_or_default()
    }

    pub fn float(&self, name: &str) -> f64 {
        self.values.get(name).map(|(_, v)| *v).unwrap_or_default()
    }

    pub fn to_json(&self) -> Map<String, Value> {
        self.values
            .iter()
            .map(|(k, (kind, v))| {
                let value = match kind {
                    ParamKind::Int => Value::from(*v as i64),
                    ParamKind::Float => Value::from(*v),
                };
                (k.to_string(), value)
            })
            .collect()
    }
}
