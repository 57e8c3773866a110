//! Every subject, stream and bucket name of the platform, in one place.
//! `subjects.md` at the repository root documents the same list; keep them in step.
//!
//! Request subjects (served in queue group [`QUEUE_GROUP`]) never overlap stream
//! subjects: a stream listening on a request subject would answer requests with
//! publish acks.

use model::{Symbol, Timeframe};

/// Queue group of every endpoint (the micro protocol's default).
pub const QUEUE_GROUP: &str = "q";

/// market-data service.
pub mod md {
    pub const SERVICE: &str = "market-data";
    pub const SYMBOLS_LIST: &str = "md.symbols.list";
    pub const BARS_GET: &str = "md.bars.get";
    pub const QUOTE_GET: &str = "md.quote.get";
    pub const IMPORT: &str = "md.import";
}

/// strategy service (also serves `ind.compute`).
pub mod strategy {
    pub const SERVICE: &str = "strategy";
    pub const KINDS: &str = "strategy.kinds";
    pub const START: &str = "strategy.start";
    pub const STOP: &str = "strategy.stop";
    pub const LIST: &str = "strategy.list";
    pub const STATUS: &str = "strategy.status";
    pub const IND_COMPUTE: &str = "ind.compute";
}

/// backtest service.
pub mod backtest {
    pub const SERVICE: &str = "backtest";
    pub const RUN: &str = "backtest.run";
    pub const SWEEP_SUBMIT: &str = "backtest.sweep.submit";
    pub const JOB_GET: &str = "backtest.job.get";
    pub const JOB_CANCEL: &str = "backtest.job.cancel";
    /// Durable work-queue consumer every backtest instance pulls sweep tasks from.
    pub const WORKERS: &str = "backtest-workers";
}

/// analytics service.
pub mod analytics {
    pub const SERVICE: &str = "analytics";
    pub const PERFORMANCE_GET: &str = "analytics.performance.get";
    pub const REPORT_GET: &str = "analytics.report.get";
}

/// Streams and what they hold.
pub mod streams {
    /// Market data: bars (the history backtests and strategies replay).
    pub const MARKET: &str = "MARKET";
    pub const MARKET_SUBJECTS: [&str; 1] = ["md.bar.>"];
    /// Quote ticks, kept briefly: a busy feed must not push bar history out.
    pub const QUOTES: &str = "QUOTES";
    pub const QUOTES_SUBJECTS: [&str; 1] = ["md.tick.>"];
    /// Strategy signals.
    pub const SIGNALS: &str = "SIGNALS";
    pub const SIGNALS_SUBJECTS: [&str; 1] = ["evt.signal.>"];
    /// Backtest sweep tasks (work queue: each task to one worker, once).
    pub const JOBS: &str = "JOBS";
    pub const JOBS_SUBJECTS: [&str; 1] = ["job.backtest.>"];
    /// Backtest events (`BACKTEST_COMPLETE`).
    pub const BACKTESTS: &str = "BACKTESTS";
    pub const BACKTESTS_SUBJECTS: [&str; 1] = ["evt.backtest.>"];
}

/// KV buckets.
pub mod buckets {
    /// Started strategies (key: strategy id, value: `StrategyRecord` JSON).
    pub const STRATEGIES: &str = "strategies";
    /// Who runs what: `lease.<strategy id>` and `member.<instance id>`, expiring.
    pub const STRATEGY_LEASES: &str = "strategy-leases";
    /// `lease.simulator`: the one market-data instance that simulates.
    pub const MARKET_DATA_LEASES: &str = "market-data-leases";
    /// Sweep jobs (key: job id).
    pub const BACKTEST_JOBS: &str = "backtest-jobs";
    /// Sweep results (key: `<job id>.<task index>`).
    pub const BACKTEST_RESULTS: &str = "backtest-results";
}

/// `job.backtest.<job>`: one parameter set of a sweep.
pub fn backtest_task(job_id: &str) -> String {
    format!("job.backtest.{job_id}")
}

/// `evt.backtest.<job>.complete`: a sweep finished (event type BACKTEST_COMPLETE).
pub fn backtest_complete(job_id: &str) -> String {
    format!("evt.backtest.{job_id}.complete")
}

/// `evt.signal.<strategy>.<symbol>`: a strategy's signal (event type TRADING_SIGNAL).
pub fn signal(strategy_id: &str, symbol: &Symbol) -> String {
    format!("evt.signal.{strategy_id}.{symbol}")
}

/// Every signal of one strategy.
pub fn signals_of(strategy_id: &str) -> String {
    format!("evt.signal.{strategy_id}.>")
}

/// Deterministic `Nats-Msg-Id` of a signal: replays and restarts re-publish the
/// same id, and JetStream drops the repeat.
pub fn signal_msg_id(
    strategy_id: &str,
    symbol: &Symbol,
    timeframe: Timeframe,
    ts: model::UnixNanos,
) -> String {
    format!("sig:{strategy_id}:{symbol}:{timeframe}:{}", ts.0)
}

/// Durable consumer on MARKET that feeds one strategy.
pub fn strategy_consumer(strategy_id: &str) -> String {
    format!("strategy-{strategy_id}")
}

/// `md.bar.<symbol>.<timeframe>`: one closed bar (event type MARKET_DATA_UPDATE).
pub fn bar(symbol: &Symbol, timeframe: Timeframe) -> String {
    format!("md.bar.{symbol}.{timeframe}")
}

/// `md.bar.*.*`-style filter for every bar of a symbol (any timeframe).
pub fn bars_of_symbol(symbol: &Symbol) -> String {
    format!("md.bar.{symbol}.*")
}

/// `md.tick.<symbol>`: one quote update (event type QUOTE_UPDATE).
pub fn tick(symbol: &Symbol) -> String {
    format!("md.tick.{symbol}")
}

/// Deterministic `Nats-Msg-Id` of a bar: a re-import or a replayed simulator
/// step is dropped by JetStream de-duplication.
pub fn bar_msg_id(symbol: &Symbol, timeframe: Timeframe, ts: model::UnixNanos) -> String {
    format!("bar:{symbol}:{timeframe}:{}", ts.0)
}

/// What a subject on the MARKET stream carries, parsed back from the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketSubject {
    Bar(Symbol, Timeframe),
    Tick(Symbol),
}

pub fn parse_market_subject(subject: &str) -> Option<MarketSubject> {
    let mut parts = subject.split('.');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("md"), Some("bar"), Some(sym), Some(tf), None) => Some(MarketSubject::Bar(
            Symbol::new(sym).ok()?,
            Timeframe::parse(tf).ok()?,
        )),
        (Some("md"), Some("tick"), Some(sym), None, None) => {
            Some(MarketSubject::Tick(Symbol::new(sym).ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_subjects_do_not_overlap_streams() {
        for req in [
            md::SYMBOLS_LIST,
            md::BARS_GET,
            md::QUOTE_GET,
            md::IMPORT,
            strategy::KINDS,
            strategy::START,
            strategy::STOP,
            strategy::LIST,
            strategy::STATUS,
            strategy::IND_COMPUTE,
            backtest::RUN,
            backtest::SWEEP_SUBMIT,
            backtest::JOB_GET,
            backtest::JOB_CANCEL,
            analytics::PERFORMANCE_GET,
            analytics::REPORT_GET,
        ] {
            assert!(!req.starts_with("job."), "{req}");
            assert!(!req.starts_with("evt."), "{req}");
            assert!(parse_market_subject(req).is_none(), "{req}");
        }
    }

    #[test]
    fn market_subjects_round_trip() {
        let s = Symbol::new("GOOG").unwrap();
        let tf = Timeframe::DAY;
        assert_eq!(bar(&s, tf), "md.bar.GOOG.1d");
        assert_eq!(
            parse_market_subject(&bar(&s, tf)),
            Some(MarketSubject::Bar(s.clone(), tf))
        );
        assert_eq!(
            parse_market_subject(&tick(&s)),
            Some(MarketSubject::Tick(s))
        );
    }
}
