//! `risk.internal.check.<partition>`: checks other risk instances forward to
//! this one because it owns the account's partition. Served on a plain queue
//! subscription while the lease is held (not a public endpoint). An instance
//! that no longer owns the partition answers 409, which tells the sender to
//! ask again (the next owner will answer).

use std::sync::Arc;

use bus::api::risk::{CheckRequest, CheckResponse};
use bus::internal::InternalEndpoint;
use bus::{subjects, BusError, ErrorKind, RequestContext, ServiceError};

use crate::partitions::partition_of;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: CheckRequest,
    partition: u16,
) -> Result<CheckResponse, ServiceError> {
    super::check::validate(&req)?;
    if partition_of(&req.account, ctx.ownership.partitions()) != partition {
        return Err(ServiceError::bad_request(format!(
            "account {} is not in partition {partition}",
            req.account
        )));
    }
    if !ctx.ownership.owns(partition) {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            format!("this risk instance no longer owns partition {partition}"),
        ));
    }
    super::check::decide(ctx, rc, req).await
}

/// Starts serving one partition's internal subject.
pub async fn serve(ctx: &Arc<Ctx>, partition: u16) -> Result<InternalEndpoint, BusError> {
    let c = ctx.clone();
    bus::internal::serve(
        &ctx.client,
        subjects::risk::internal_check(partition),
        subjects::QUEUE_GROUP,
        "internal-check",
        move |rc, req| handle(c.clone(), rc, req, partition),
    )
    .await
}
