//! `notify.rules.list`.

use std::sync::Arc;

use bus::api::notify::{Empty, RulesResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: Empty,
) -> Result<RulesResponse, ServiceError> {
    let rules = ctx
        .store
        .rules
        .snapshot()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(RulesResponse { rules })
}
