//! `config.get`: a profile's settings, or one key, with their sources.

use std::sync::Arc;

use bus::api::config::{ConfigView, GetRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: GetRequest,
) -> Result<ConfigView, ServiceError> {
    let profile = req.profile.unwrap_or_else(|| ctx.active().to_string());
    if let Some(key) = &req.key {
        trader_config::spec(key).map_err(|e| ServiceError::bad_request(e.to_string()))?;
    }
    let resolved = ctx.resolve(&profile)?;
    let entries = resolved
        .entries()
        .into_iter()
        .filter(|e| req.key.as_deref().is_none_or(|k| k == e.key))
        .map(super::entry)
        .collect();
    Ok(ConfigView {
        profile,
        active: ctx.active().to_string(),
        entries,
    })
}
