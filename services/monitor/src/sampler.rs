//! Every interval: collect the status, publish it as a `SYSTEM_HEALTH` sample
//! into SYSTEM, and turn it into alerts.
//!
//! Samples are named by their interval (`health:<unix time / interval>`), so
//! several monitors store one sample per interval between them.

use std::sync::Arc;

use bus::api::monitor::{ConsumerSample, HealthSample, ServiceSample, SystemStatus};
use bus::{events, subjects};
use model::event::types;
use tokio::sync::watch;

use crate::detector::Detector;
use crate::episodes::Episodes;
use crate::{status, Ctx};

pub fn sample_of(status: &SystemStatus) -> HealthSample {
    HealthSample {
        ts: status.ts,
        monitor: status.monitor.clone(),
        services: status
            .services
            .iter()
            .map(|s| ServiceSample {
                name: s.name.clone(),
                instances: s.instances.len() as u32,
                requests: s.requests,
                errors: s.errors,
                average_processing_ns: s.average_processing_ns,
            })
            .collect(),
        consumers: status
            .jetstream
            .iter()
            .flat_map(|js| js.streams.iter())
            .flat_map(|s| {
                s.consumers.iter().map(|c| ConsumerSample {
                    stream: s.name.clone(),
                    consumer: c.name.clone(),
                    lag: c.lag,
                })
            })
            .collect(),
        connections: status
            .server
            .as_ref()
            .filter(|v| v.reachable)
            .map(|v| v.connections),
    }
}

async fn publish_sample(ctx: &Ctx, status: &SystemStatus, correlation_id: &str) {
    let interval = i64::try_from(ctx.config.interval.as_nanos().max(1)).unwrap_or(i64::MAX);
    let bucket = status.ts.0 / interval;
    let sample = sample_of(status);
    if let Err(e) = events::publish(
        &ctx.js,
        subjects::monitor::HEALTH.to_string(),
        &subjects::monitor::health_msg_id(bucket),
        types::SYSTEM_HEALTH,
        correlation_id,
        subjects::monitor::SERVICE,
        &sample,
        None,
    )
    .await
    {
        tracing::warn!(error = %e, "health sample not stored");
    }
}

pub async fn run(ctx: Arc<Ctx>, mut episodes: Episodes, mut stop: watch::Receiver<bool>) {
    let mut detector = Detector::new(ctx.config.thresholds.clone());
    let mut tick = tokio::time::interval(ctx.config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = bus::follow::stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        let round = async {
            let correlation_id = model::ids::new_correlation_id();
            let status = status::collect(&ctx).await;
            publish_sample(&ctx, &status, &correlation_id).await;
            let observations = detector.observe(&status);
            episodes.apply(observations, &correlation_id).await;
        };
        tokio::select! {
            _ = bus::follow::stopped(&mut stop) => return,
            _ = round => {}
        }
    }
}
