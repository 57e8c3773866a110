//! Values by dotted path in the JSON form of `Settings`, and the one place a
//! raw value (JSON, or a string from a flag or the environment) becomes the
//! JSON a key's kind expects.

use std::str::FromStr;

use model::{Decimal, Symbol};
use serde_json::Value;

use crate::Kind;

pub(crate) fn get_path(tree: &Value, key: &str) -> Value {
    key.split('.')
        .try_fold(tree, |node, part| node.get(part))
        .cloned()
        .unwrap_or(Value::Null)
}

pub(crate) fn set_path(tree: &mut Value, key: &str, value: Value) {
    let mut node = tree;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

/// The JSON form `kind` takes, from JSON or a command-line string.
pub(crate) fn normalize(kind: Kind, value: Value) -> Result<Value, String> {
    let optional = matches!(kind, Kind::OptDecimal | Kind::OptCount | Kind::OptSymbols);
    if optional && is_none(&value) {
        return Ok(Value::Null);
    }
    match kind {
        Kind::Bool => match &value {
            Value::Bool(_) => Ok(value),
            Value::String(s) => match s.trim() {
                "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(Value::Bool(false)),
                other => Err(format!("expected true or false, got {other:?}")),
            },
            other => Err(format!("expected true or false, got {other}")),
        },
        Kind::Count | Kind::OptCount => {
            let n = match &value {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            n.map(Value::from)
                .ok_or_else(|| format!("expected a whole number >= 0, got {value}"))
        }
        Kind::Decimal | Kind::OptDecimal => {
            let text = match &value {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_string(),
                _ => return Err(format!("expected a decimal number, got {value}")),
            };
            match Decimal::from_str(&text) {
                Ok(d) => Ok(Value::String(d.normalize().to_string())),
                Err(_) => Err(format!("expected a decimal number, got {text:?}")),
            }
        }
        Kind::Names => list(value).map(|items| items.into_iter().map(Value::String).collect()),
        Kind::Symbols | Kind::OptSymbols => {
            let items = list(value)?;
            items
                .into_iter()
                .map(|s| {
                    Symbol::new(&s)
                        .map(|s| Value::String(s.to_string()))
                        .map_err(|e| e.to_string())
                })
                .collect()
        }
    }
}

fn is_none(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => matches!(s.trim(), "" | "none" | "null"),
        _ => false,
    }
}

/// A JSON array of strings, or one comma-separated string.
fn list(value: Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(format!("expected a list of names, got {other}")),
            })
            .collect(),
        other => Err(format!(
            "expected a list (JSON array or comma-separated), got {other}"
        )),
    }
}
