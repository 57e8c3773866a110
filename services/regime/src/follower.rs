//! Every bar of MARKET, in order (ordered consumer from the start: an
//! instance that restarts rebuilds its features by replaying).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bus::subjects;
use futures::StreamExt;
use model::{Bar, Event};
use tokio::sync::watch;

use crate::state::Series;
use crate::{training, Ctx};

pub async fn follow(ctx: Arc<Ctx>, market: Stream, mut stop: watch::Receiver<bool>) {
    let config = pull::OrderedConfig {
        deliver_policy: DeliverPolicy::All,
        filter_subject: subjects::streams::ALL_BARS.to_string(),
        ..Default::default()
    };
    let Some(mut messages) = bus::follow::retry_until(
        "regime: following MARKET",
        Duration::from_millis(500),
        &mut stop,
        || async {
            let consumer = market
                .create_consumer(config.clone())
                .await
                .map_err(|e| e.to_string())?;
            consumer.messages().await.map_err(|e| e.to_string())
        },
    )
    .await
    else {
        return;
    };
    loop {
        let next = tokio::select! {
            biased;
            _ = bus::follow::stopped(&mut stop) => return,
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "regime: following MARKET: retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            None => {
                tracing::warn!("regime: MARKET follower ended");
                return;
            }
        };
        let event: Event<Bar> = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "bar does not parse; skipped");
                continue;
            }
        };
        let bar = event.data;
        let key = (bar.symbol.clone(), bar.timeframe);
        let outcome = {
            let mut all = ctx.series.lock();
            all.series
                .entry(key.clone())
                .or_insert_with(|| Series::new(ctx.config.window))
                .on_bar(&bar, &ctx.config)
        };
        for change in outcome.changes {
            training::publish_change(&ctx, &key, change, &event.correlation_id).await;
        }
        for method in outcome.train {
            if let Err(e) = training::train(&ctx, &key, method, &event.correlation_id).await {
                tracing::warn!(symbol = %key.0, %method, error = %e, "training failed");
            }
        }
    }
}
