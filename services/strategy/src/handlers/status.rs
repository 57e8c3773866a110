//! `strategy.status`: read from JetStream (lease, consumer, SIGNALS), so any
//! instance answers for any strategy.

use std::sync::Arc;

use async_nats::jetstream::consumer::pull;
use bus::api::strategy::{SignalEvent, StrategyIdRequest, StrategyRecord, StrategyStatus};
use bus::{subjects, RequestContext, ServiceError};
use futures::StreamExt;
use model::Event;

use super::start::store_error;
use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: StrategyIdRequest,
) -> Result<StrategyStatus, ServiceError> {
    // The id is a KV key: a bad one is the caller's error, not the store's.
    bus::error::check_id("strategy id", &req.id)?;
    let Some((record, _)) = ctx.records.get(&req.id).await.map_err(store_error)? else {
        return Err(ServiceError::not_found(format!(
            "unknown strategy {:?}",
            req.id
        )));
    };
    status_of(&ctx, record).await
}

pub(crate) async fn status_of(
    ctx: &Ctx,
    record: StrategyRecord,
) -> Result<StrategyStatus, ServiceError> {
    let owner = ctx.leases.holder_of(&record.id).await;
    let (mut position, mut pending_bars) = (0, 0);
    if let Ok(mut consumer) = ctx
        .market
        .get_consumer::<pull::Config>(&subjects::strategy_consumer(&record.id))
        .await
    {
        if let Ok(info) = consumer.info().await {
            position = info.ack_floor.stream_sequence;
            pending_bars = info.num_pending + info.num_ack_pending as u64;
        }
    }
    let signals_stream = ctx.signals.clone();
    let mut signals = 0;
    if let Ok(mut counts) = signals_stream
        .info_with_subjects(subjects::signals_of(&record.id))
        .await
    {
        while let Some(Ok((_, n))) = counts.next().await {
            signals += n as u64;
        }
    }
    let mut last_signal = None;
    for symbol in &record.symbols {
        if let Ok(msg) = ctx
            .signals
            .direct_get_last_for_subject(subjects::signal(&record.id, symbol))
            .await
        {
            if let Ok(event) = serde_json::from_slice::<Event<SignalEvent>>(&msg.payload) {
                let newer = last_signal
                    .as_ref()
                    .is_none_or(|s: &model::Signal| event.data.signal.ts > s.ts);
                if newer {
                    last_signal = Some(event.data.signal);
                }
            }
        }
    }
    Ok(StrategyStatus {
        record,
        owner,
        position,
        pending_bars,
        signals,
        last_signal,
    })
}
