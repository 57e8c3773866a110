//! `strategy.kinds`: the built-in strategies and their parameters.

use std::sync::Arc;

use bus::api::strategy::{KindInfo, KindsRequest, KindsResponse, ParamInfo};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    _ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: KindsRequest,
) -> Result<KindsResponse, ServiceError> {
    let kinds = strategy::catalog()
        .into_iter()
        .map(|info| KindInfo {
            kind: info.kind.to_string(),
            description: info.description.to_string(),
            params: info
                .params
                .into_iter()
                .map(|p| ParamInfo {
                    name: p.name.to_string(),
                    kind: format!("{:?}", p.kind).to_lowercase(),
                    default: p.default,
                    min: p.min,
                    max: p.max,
                    step: p.step,
                    description: p.description.to_string(),
                })
                .collect(),
        })
        .collect();
    Ok(KindsResponse { kinds })
}
