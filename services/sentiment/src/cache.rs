//! Scores by text, cached in the `sentiment-cache` KV bucket (expiring): the
//! same text is scored once per TTL, by whichever instance sees it first.

use bus::api::sentiment::{label, ScoreResponse, Scores};
use bus::subjects;
use serde::{Deserialize, Serialize};

use crate::Ctx;

#[derive(Serialize, Deserialize)]
struct Cached {
    /// The text itself, so a hash collision is never taken for a hit.
    text: String,
    scores: Scores,
}

fn key(ctx: &Ctx, text: &str) -> String {
    subjects::sentiment::cache_key(
        ctx.analyzer.version(),
        model::ids::stable_hash64(text.as_bytes()),
    )
}

/// The scores of `text`, from the cache when it holds them, else computed
/// and stored. A cache that does not answer only costs the cache.
pub async fn score(ctx: &Ctx, text: &str) -> ScoreResponse {
    let key = key(ctx, text);
    if let Ok(Some(bytes)) = ctx.cache.get(&key).await {
        match serde_json::from_slice::<Cached>(&bytes) {
            Ok(hit) if hit.text == text => return response(hit.scores, true),
            Ok(_) => tracing::debug!(key, "sentiment cache: hash collision, scoring"),
            Err(e) => tracing::debug!(key, error = %e, "sentiment cache entry unreadable"),
        }
    }
    let scores = ctx.analyzer.score(text);
    let entry = Cached {
        text: text.to_string(),
        scores,
    };
    match serde_json::to_vec(&entry) {
        Ok(bytes) => {
            if let Err(e) = ctx.cache.put(&key, bytes.into()).await {
                tracing::warn!(key, error = %e, "sentiment cache: cannot store scores");
            }
        }
        Err(e) => tracing::warn!(error = %e, "sentiment cache: cannot encode scores"),
    }
    response(scores, false)
}

pub fn response(scores: Scores, cached: bool) -> ScoreResponse {
    ScoreResponse {
        scores,
        label: label(scores.compound).to_string(),
        cached,
    }
}
