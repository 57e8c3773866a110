//! Layering: defaults < profile < file < env < flags < KV. Each layer is a
//! list of (key, value); a later layer wins key by key, and [`Resolved`]
//! remembers which layer each key's value came from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{env_name, Applies, ConfigError, Profile, Settings, KEYS};

/// Where a key's value came from, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `Settings::default()`.
    Default,
    /// The profile's own value.
    Profile,
    /// The `--config` TOML file.
    File,
    /// A `TRADER_<KEY>` environment variable.
    Env,
    /// A command-line flag.
    Flag,
    /// The `config` KV bucket (`<profile>.<key>`), watched live.
    Kv,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Source::Default => "default",
            Source::Profile => "profile",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
            Source::Kv => "kv",
        };
        f.write_str(name)
    }
}

/// Values from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub source: Source,
    pub values: Vec<(String, Value)>,
}

impl Layer {
    pub fn new(source: Source) -> Self {
        Layer {
            source,
            values: Vec::new(),
        }
    }

    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.values.push((key.to_string(), value.into()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// One key as `trader config show` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: &'static str,
    pub value: Value,
    pub source: Source,
    pub applies: Applies,
    pub help: &'static str,
}

/// The settings of a profile after some layers, with the source of every key.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub profile: String,
    pub settings: Settings,
    sources: BTreeMap<&'static str, Source>,
}

impl Resolved {
    /// Defaults, then the profile's values.
    pub fn new(profile: &Profile) -> Result<Resolved, ConfigError> {
        let mut resolved = Resolved {
            profile: profile.name.clone(),
            settings: Settings::default(),
            sources: KEYS.iter().map(|k| (k.key, Source::Default)).collect(),
        };
        resolved.apply(&Layer {
            source: Source::Profile,
            values: profile.values.clone(),
        })?;
        Ok(resolved)
    }

    /// Applies a layer over this one; the first bad key fails it (naming the key).
    pub fn apply(&mut self, layer: &Layer) -> Result<(), ConfigError> {
        let mut next = self.clone();
        for (key, value) in &layer.values {
            next.set(layer.source, key, value.clone())
                .map_err(|e| with_source(e, layer.source))?;
        }
        *self = next;
        Ok(())
    }

    /// Applies what is valid of a layer (KV written by any client) and
    /// returns what was skipped.
    pub fn apply_lenient(&mut self, layer: &Layer) -> Vec<ConfigError> {
        let mut skipped = Vec::new();
        for (key, value) in &layer.values {
            if let Err(e) = self.set(layer.source, key, value.clone()) {
                skipped.push(with_source(e, layer.source));
            }
        }
        skipped
    }

    fn set(&mut self, source: Source, key: &str, value: Value) -> Result<(), ConfigError> {
        self.settings = self.settings.with(key, value)?;
        let spec = crate::spec(key)?;
        self.sources.insert(spec.key, source);
        Ok(())
    }

    pub fn source(&self, key: &str) -> Option<Source> {
        self.sources.get(key).copied()
    }

    /// Every key with its value and source, in [`KEYS`] order.
    pub fn entries(&self) -> Vec<Entry> {
        KEYS.iter()
            .map(|spec| Entry {
                key: spec.key,
                value: self.settings.get(spec.key).expect("known key"),
                source: self.sources[spec.key],
                applies: spec.applies,
                help: spec.help,
            })
            .collect()
    }
}

fn with_source(e: ConfigError, source: Source) -> ConfigError {
    match e {
        ConfigError::BadValue { key, message } => ConfigError::BadValue {
            key,
            message: format!("{message} (from {source})"),
        },
        other => other,
    }
}

/// The keys of a TOML file's text: tables are key prefixes, so
/// `[sim] bar_seconds = 5` and `"sim.bar_seconds" = 5` are the same key.
pub fn toml_layer(text: &str) -> Result<Layer, ConfigError> {
    let doc = toml_edit::Document::parse(text.to_string())
        .map_err(|e| ConfigError::File(e.to_string()))?;
    let mut layer = Layer::new(Source::File);
    flatten(&table_value(doc.as_table())?, "", &mut layer)?;
    Ok(layer)
}

/// Objects are key prefixes (no setting is an object itself).
fn flatten(value: &Value, prefix: &str, layer: &mut Layer) -> Result<(), ConfigError> {
    match value {
        Value::Object(map) => {
            for (name, value) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(value, &key, layer)?;
            }
            Ok(())
        }
        value => {
            crate::spec(prefix)?;
            layer.values.push((prefix.to_string(), value.clone()));
            Ok(())
        }
    }
}

fn table_value(table: &toml_edit::Table) -> Result<Value, ConfigError> {
    let mut map = serde_json::Map::new();
    for (name, item) in table.iter() {
        let value = match item {
            toml_edit::Item::Table(table) => table_value(table)?,
            toml_edit::Item::Value(value) => toml_value(value),
            toml_edit::Item::ArrayOfTables(_) | toml_edit::Item::None => {
                return Err(ConfigError::File(format!(
                    "`{name}`: arrays of tables are not settings"
                )))
            }
        };
        map.insert(name.to_string(), value);
    }
    Ok(Value::Object(map))
}

fn toml_value(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(items) => Value::Array(items.iter().map(toml_value).collect()),
        toml_edit::Value::InlineTable(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.to_string(), toml_value(v)))
                .collect(),
        ),
    }
}

/// The keys set in the environment (`TRADER_SIM_BAR_SECONDS=5`); other
/// variables are ignored, values are strings as on the command line.
pub fn env_layer(vars: impl IntoIterator<Item = (String, String)>) -> Layer {
    let vars: BTreeMap<String, String> = vars.into_iter().collect();
    let mut layer = Layer::new(Source::Env);
    for spec in KEYS {
        if let Some(value) = vars.get(&env_name(spec.key)) {
            layer
                .values
                .push((spec.key.to_string(), Value::String(value.clone())));
        }
    }
    layer
}
