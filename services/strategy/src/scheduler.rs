//! Which strategies this instance runs.
//!
//! Every `lease_ttl / 3`, and at once when a strategy is started or stopped
//! (a watch on the `strategies` bucket), it: says it is alive (`member.<id>`); renews the leases
//! of the strategies it runs, stopping any it lost, that were stopped, or that
//! failed; gives up strategies beyond its fair share (`ceil(running / members)`),
//! so a new instance gets some; and takes unowned running strategies up to
//! that share. A dead instance stops renewing, its leases expire, and the others
//! take its strategies within about one time to live.

use std::collections::HashMap;
use std::sync::Arc;

use bus::api::strategy::{DesiredState, StrategyRecord};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{runner, Ctx, Error};

struct Owned {
    revision: u64,
    record: StrategyRecord,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), Error>>,
}

impl Owned {
    async fn stop(self) -> u64 {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(Err(e)) => {
                tracing::warn!(strategy = %self.record.id, error = %e, "strategy ended with an error")
            }
            Err(e) => {
                tracing::warn!(strategy = %self.record.id, error = %e, "strategy task failed")
            }
            Ok(Ok(())) => {}
        }
        self.revision
    }
}

pub async fn run(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let tick = ctx.config.lease_ttl / 3;
    let mut owned: HashMap<String, Owned> = HashMap::new();
    let mut changes = ctx.records.watch().await;
    loop {
        if let Err(e) = ctx.leases.heartbeat().await {
            tracing::warn!(error = %e, "lease heartbeat failed");
        }
        match ctx.records.all().await {
            Ok(records) => reconcile(&ctx, &mut owned, records).await,
            Err(e) => tracing::warn!(error = %e, "cannot read strategies; keeping what runs"),
        }
        let changed = async {
            match changes.as_mut() {
                Some(watch) => watch.next().await,
                None => std::future::pending().await,
            }
        };
        let wake = tokio::select! {
            _ = stop.wait_for(|s| *s) => None,
            _ = tokio::time::sleep(tick) => Some(true),
            change = changed => Some(change.is_some_and(|c| c.is_ok())),
        };
        match wake {
            None => break,
            // The watch ended or failed: fall back to the tick alone.
            Some(false) => changes = None,
            Some(true) => {}
        }
    }
    for (id, o) in owned.drain() {
        let revision = o.stop().await;
        ctx.leases.release(&id, revision).await;
    }
    ctx.leases.leave().await;
}

async fn reconcile(
    ctx: &Arc<Ctx>,
    owned: &mut HashMap<String, Owned>,
    records: Vec<StrategyRecord>,
) {
    let running: Vec<&StrategyRecord> = records
        .iter()
        .filter(|r| r.state == DesiredState::Running)
        .collect();

    // Keep, renew or drop what we run.
    let ids: Vec<String> = owned.keys().cloned().collect();
    for id in ids {
        let desired = running.iter().find(|r| r.id == id);
        let o = owned.get(&id).expect("listed above");
        let changed = desired.is_none_or(|r| r.updated_ts != o.record.updated_ts);
        if o.task.is_finished() || changed {
            let o = owned.remove(&id).expect("listed above");
            let revision = o.stop().await;
            ctx.leases.release(&id, revision).await;
            continue;
        }
        match ctx.leases.renew(&id, o.revision).await {
            Some(revision) => owned.get_mut(&id).expect("listed above").revision = revision,
            None => {
                tracing::warn!(strategy = %id, "lease lost; stopping here");
                owned.remove(&id).expect("listed above").stop().await;
            }
        }
    }

    // Fair share.
    let members = ctx.leases.members().await;
    let share = running.len().div_ceil(members);
    while owned.len() > share {
        let Some(id) = owned.keys().max().cloned() else {
            break;
        };
        let o = owned.remove(&id).expect("just found");
        tracing::info!(strategy = %id, share, "handing over to another instance");
        let revision = o.stop().await;
        ctx.leases.release(&id, revision).await;
    }
    for record in running {
        if owned.len() >= share {
            break;
        }
        if owned.contains_key(&record.id) {
            continue;
        }
        let Some(revision) = ctx.leases.try_acquire(&record.id).await else {
            continue;
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(runner::run(ctx.clone(), record.clone(), stop_rx));
        tracing::info!(strategy = %record.id, "took over");
        owned.insert(
            record.id.clone(),
            Owned {
                revision,
                record: record.clone(),
                stop: stop_tx,
                task,
            },
        );
    }
}
