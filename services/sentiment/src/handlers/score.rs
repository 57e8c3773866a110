//! `sentiment.score`: one text.

use std::sync::Arc;

use bus::api::sentiment::{ScoreRequest, ScoreResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: ScoreRequest,
) -> Result<ScoreResponse, ServiceError> {
    super::check_text("text", &req.text)?;
    Ok(crate::cache::score(&ctx, &req.text).await)
}
