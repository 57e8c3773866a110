//! Runs the [`Simulator`] on the wall clock: bar intervals aligned to multiples of
//! the interval, a quote tick as each tick time passes, the bar when its interval
//! closes. Prices continue from the last bar in MARKET after a restart.
//!
//! Only one instance simulates: [`run_with_lease`] holds the `simulator` lease in
//! the `market-data-leases` bucket, and another instance with the simulator
//! enabled takes over when the holder dies.
//!
//! Its symbols, interval and seed can change while it runs (the `config`
//! bucket's `sim.*` keys): the holder restarts the simulation with the new
//! ones, prices continuing from MARKET as after a restart.

use std::sync::Arc;
use std::time::Duration;

use bus::subjects;
use model::{Bar, Event, UnixNanos};
use tokio::sync::watch;

use crate::simulator::{Simulator, SimulatorConfig};
use crate::{publisher, Ctx, Error};

const LEASE: &str = "simulator";

/// Runs the simulator while this instance holds the simulator lease.
pub async fn run_with_lease(
    mut configs: watch::Receiver<SimulatorConfig>,
    ctx: Arc<Ctx>,
    leases: bus::lease::Leases,
    ttl: Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    configs.borrow().validate()?;
    let mut live = true;
    let tick = ttl / 3;
    loop {
        if let Some(mut revision) = leases.try_acquire(LEASE).await {
            tracing::info!(holder = leases.holder(), "simulator lease taken");
            let (mut inner_stop, inner_rx) = watch::channel(false);
            let config = configs.borrow_and_update().clone();
            let mut task = tokio::spawn(run(config, ctx.clone(), inner_rx));
            enum Wake {
                Stop,
                Ended(Result<Result<(), Error>, tokio::task::JoinError>),
                Renew,
                Reconfigure,
            }
            let outcome = loop {
                let wake = tokio::select! {
                    _ = stop.wait_for(|s| *s) => Wake::Stop,
                    result = &mut task => Wake::Ended(result),
                    _ = tokio::time::sleep(tick) => Wake::Renew,
                    changed = configs.changed(), if live => match changed {
                        Ok(()) => Wake::Reconfigure,
                        Err(_) => { live = false; continue }
                    },
                };
                match wake {
                    Wake::Stop => break None,
                    Wake::Ended(result) => break Some(result),
                    Wake::Reconfigure => {
                        let _ = inner_stop.send(true);
                        let _ = (&mut task).await;
                        let config = configs.borrow_and_update().clone();
                        tracing::info!(
                            symbols = ?config.symbols.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                            interval_s = config.interval.as_secs(),
                            "simulator reconfigured"
                        );
                        let (tx, rx) = watch::channel(false);
                        inner_stop = tx;
                        task = tokio::spawn(run(config, ctx.clone(), rx));
                    }
                    Wake::Renew => match leases.renew(LEASE, revision).await {
                        Some(r) => revision = r,
                        None => {
                            tracing::warn!("simulator lease lost; another instance simulates now");
                            break None;
                        }
                    },
                }
            };
            let _ = inner_stop.send(true);
            let result = match outcome {
                Some(result) => result,
                None => task.await,
            };
            leases.release(LEASE, revision).await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "simulator failed; retrying"),
                Err(e) => tracing::warn!(error = %e, "simulator task failed; retrying"),
            }
        }
        let stopped = tokio::select! {
            _ = stop.wait_for(|s| *s) => true,
            _ = tokio::time::sleep(tick) => false,
        };
        if stopped {
            return Ok(());
        }
    }
}

pub async fn run(
    config: SimulatorConfig,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let timeframe = config.timeframe()?;
    let mut starts = std::collections::HashMap::new();
    for symbol in &config.symbols {
        let subject = bus::subjects::bar(symbol, timeframe);
        if let Ok(msg) = ctx.stream.direct_get_last_for_subject(subject).await {
            if let Ok(event) = serde_json::from_slice::<Event<Bar>>(&msg.payload) {
                starts.insert(symbol.clone(), event.data.close);
            }
        }
    }
    let mut sim = Simulator::new(config, |s| starts.get(s).copied())?;
    let interval = timeframe.nanos();
    let ticks = sim.config().ticks_per_bar as i64;
    tracing::info!(
        symbols = ?sim.config().symbols.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        timeframe = %timeframe,
        "simulator started"
    );

    let mut bar_ts = (UnixNanos::now().0 / interval + 1) * interval;
    loop {
        let steps = sim.step(UnixNanos(bar_ts));
        for k in 0..ticks as usize {
            let tick_time = bar_ts + (k as i64 + 1) * interval / ticks;
            if sleep_until(tick_time, &mut stop).await {
                return Ok(());
            }
            let correlation_id = model::ids::new_correlation_id();
            for step in &steps {
                match publisher::publish_quote(&ctx.js, &step.quotes[k], &correlation_id).await {
                    Ok(_ack) => {}
                    Err(e) => tracing::warn!(error = %e, "simulator: quote not published"),
                }
            }
        }
        let correlation_id = model::ids::new_correlation_id();
        for step in &steps {
            // Each bar starts a trace: its signal, order, fill and position follow it.
            let trace = bus::trace::TraceContext::root();
            let span = bus::trace_span!("bar", trace, service = subjects::md::SERVICE,
                symbol = %step.bar.symbol, correlation_id = %correlation_id);
            bus::trace::in_span(trace, span, async {
                let published =
                    match publisher::publish_bar(&ctx.js, &step.bar, &correlation_id).await {
                        Ok(ack) => ack.await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                match published {
                    Ok(_) => tracing::debug!(ts = step.bar.ts.0, "simulator: bar published"),
                    Err(e) => {
                        tracing::warn!(symbol = %step.bar.symbol, error = %e, "simulator: bar not stored")
                    }
                }
            })
            .await;
        }
        bar_ts += interval;
        // Fell behind (machine asleep, server down): skip to the current interval.
        let now = UnixNanos::now().0;
        if now > bar_ts + interval {
            bar_ts = (now / interval) * interval;
        }
    }
}

/// Takes the `config` bucket's `sim.*` values; true if anything changed.
pub fn reconfigure(current: &mut SimulatorConfig, sim: &trader_config::SimSettings) -> bool {
    let interval = Duration::from_secs(sim.bar_seconds);
    if current.symbols == sim.symbols && current.interval == interval && current.seed == sim.seed {
        return false;
    }
    current.symbols = sim.symbols.clone();
    current.interval = interval;
    current.seed = sim.seed;
    true
}

/// Sleeps until `at` (UTC ns); true when asked to stop first.
async fn sleep_until(at: i64, stop: &mut watch::Receiver<bool>) -> bool {
    let wait = Duration::from_nanos(at.saturating_sub(UnixNanos::now().0).max(0) as u64);
    let stopped = tokio::select! {
        _ = stop.wait_for(|s| *s) => true,
        _ = tokio::time::sleep(wait) => false,
    };
    stopped || *stop.borrow()
}
