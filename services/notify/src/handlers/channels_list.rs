//! `notify.channels.list`.

use std::sync::Arc;

use bus::api::notify::{ChannelsResponse, Empty};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: Empty,
) -> Result<ChannelsResponse, ServiceError> {
    let channels = ctx
        .store
        .channels
        .snapshot()
        .iter()
        .map(|(_, c)| super::view(c))
        .collect();
    Ok(ChannelsResponse { channels })
}
