//! `sentiment.batch`: many texts, scored (or read from the cache) concurrently,
//! answered in order.

use std::sync::Arc;

use bus::api::sentiment::{BatchRequest, BatchResponse, MAX_BATCH};
use bus::{RequestContext, ServiceError};
use futures::StreamExt;

use crate::Ctx;

/// Cache look-ups in flight at once for one batch.
const CONCURRENCY: usize = 64;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: BatchRequest,
) -> Result<BatchResponse, ServiceError> {
    if req.texts.len() > MAX_BATCH {
        return Err(ServiceError::bad_request(format!(
            "{} texts; at most {MAX_BATCH} per batch",
            req.texts.len()
        )));
    }
    for (i, text) in req.texts.iter().enumerate() {
        super::check_text(&format!("texts[{i}]"), text)?;
    }
    let results: Vec<_> = futures::stream::iter(req.texts)
        .map(|text| {
            let ctx = ctx.clone();
            async move { crate::cache::score(&ctx, &text).await }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let cached = results.iter().filter(|r| r.cached).count();
    Ok(BatchResponse { results, cached })
}
