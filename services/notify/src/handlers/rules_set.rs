//! `notify.rules.set`: the channel must exist.

use std::sync::Arc;

use bus::api::notify::Rule;
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(ctx: Arc<Ctx>, rc: RequestContext, rule: Rule) -> Result<Rule, ServiceError> {
    bus::error::check_id("rule id", &rule.id)?;
    if ctx.store.channel(&rule.channel).is_none() {
        return Err(ServiceError::not_found(format!(
            "unknown channel {:?}: create it with notify.channels.set",
            rule.channel
        )));
    }
    ctx.store
        .rules
        .put(&rule.id, &rule)
        .await
        .map_err(|e| super::unavailable("store the rule", e))?;
    tracing::info!(correlation_id = %rc.correlation_id, rule = %rule.id, channel = %rule.channel, "rule set");
    Ok(rule)
}
