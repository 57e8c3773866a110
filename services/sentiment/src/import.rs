//! News from a JSON-lines file (one [`NewsItem`] per line) into NEWS: what
//! `trader news import FILE` does. Every line is checked before anything is
//! published; a repeated id is stored once (its `Nats-Msg-Id`).

use async_nats::jetstream;
use bus::api::sentiment::NewsItem;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Non-blank lines read.
    pub lines: usize,
    /// Items newly stored in NEWS.
    pub published: usize,
    /// Items NEWS had already (same id).
    pub duplicates: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error(transparent)]
    Publish(#[from] bus::events::PublishError),
}

/// Parses every line (1-based line numbers in errors).
pub fn parse_lines(text: &str) -> Result<Vec<NewsItem>, ImportError> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| ImportError::Line {
            line: i + 1,
            message,
        };
        let item: NewsItem = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        bus::error::check_id("id", &item.id).map_err(|e| bad(e.message))?;
        if item.symbols.is_empty() {
            return Err(bad("no symbols".to_string()));
        }
        if item.headline.len() > bus::api::sentiment::MAX_TEXT_BYTES {
            return Err(bad("headline too long".to_string()));
        }
        items.push(item);
    }
    Ok(items)
}

/// Parses `text` and publishes every item to NEWS.
pub async fn import_lines(
    js: &jetstream::Context,
    text: &str,
    source: &str,
) -> Result<ImportReport, ImportError> {
    let items = parse_lines(text)?;
    let correlation_id = model::ids::new_correlation_id();
    let mut report = ImportReport {
        lines: items.len(),
        published: 0,
        duplicates: 0,
    };
    for item in &items {
        let stored = bus::events::publish_news(js, item, &correlation_id, source).await?;
        if stored.duplicate {
            report.duplicates += 1;
        } else {
            report.published += 1;
        }
    }
    Ok(report)
}
