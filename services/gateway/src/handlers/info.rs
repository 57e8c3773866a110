use std::sync::Arc;

use bus::api::gateway::{GatewayInfo, InfoRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub(crate) async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: InfoRequest,
) -> Result<GatewayInfo, ServiceError> {
    Ok(GatewayInfo {
        instance: ctx.instance.clone(),
        http_addr: ctx.http_addr.to_string(),
        version: crate::VERSION.to_string(),
        routes: crate::routes::ROUTES.len() as u32,
    })
}
