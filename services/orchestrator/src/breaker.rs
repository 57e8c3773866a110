//! Circuit breakers, one per dependency: after `threshold` failures in a
//! row the breaker opens and the dependency is not asked for `cool_down`;
//! then one request goes through (half-open): success closes it, failure
//! opens it again. Pure: the time is passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bus::api::orchestrator::BreakerState;
use parking_lot::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open {
        since: Instant,
    },
    /// One probe is in flight; others are turned away until it ends.
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Ask the dependency.
    Allowed,
    /// Ask it as the half-open probe.
    Probe,
    /// Do not ask: the breaker is open.
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: State,
    failures: u32,
    opened: u64,
    threshold: u32,
    cool_down: Duration,
}

impl Breaker {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Breaker {
            state: State::Closed,
            failures: 0,
            opened: 0,
            threshold: threshold.max(1),
            cool_down,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> State {
        self.state
    }

    pub fn allow(&mut self, now: Instant) -> Permit {
        match self.state {
            State::Closed => Permit::Allowed,
            State::Open { since } if now.duration_since(since) >= self.cool_down => {
                self.state = State::HalfOpen;
                Permit::Probe
            }
            State::Open { .. } | State::HalfOpen => Permit::Rejected,
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
    }

    pub fn failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let trip = match self.state {
            State::HalfOpen => true,
            State::Closed => self.failures >= self.threshold,
            State::Open { .. } => false,
        };
        if trip {
            self.state = State::Open { since: now };
            self.opened += 1;
        }
    }

    fn report(&self, dependency: &str) -> BreakerState {
        BreakerState {
            dependency: dependency.to_string(),
            state: match self.state {
                State::Closed => "closed",
                State::Open { .. } => "open",
                State::HalfOpen => "half_open",
            }
            .to_string(),
            consecutive_failures: self.failures,
            opened: self.opened,
        }
    }
}

/// Every dependency's breaker in this instance.
pub struct Breakers {
    threshold: u32,
    cool_down: Duration,
    by_dependency: Mutex<BTreeMap<&'static str, Breaker>>,
}

impl Breakers {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Breakers {
            threshold,
            cool_down,
            by_dependency: Mutex::new(BTreeMap::new()),
        }
    }

    fn with<T>(&self, dependency: &'static str, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut all = self.by_dependency.lock();
        let breaker = all
            .entry(dependency)
            .or_insert_with(|| Breaker::new(self.threshold, self.cool_down));
        f(breaker)
    }

    pub fn allow(&self, dependency: &'static str) -> Permit {
        self.with(dependency, |b| b.allow(Instant::now()))
    }

    pub fn success(&self, dependency: &'static str) {
        self.with(dependency, Breaker::success)
    }

    pub fn failure(&self, dependency: &'static str) {
        self.with(dependency, |b| b.failure(Instant::now()))
    }

    pub fn report(&self) -> Vec<BreakerState> {
        self.by_dependency
            .lock()
            .iter()
            .map(|(name, b)| b.report(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens_after_cool_down() {
        let t0 = Instant::now();
        let cool = Duration::from_secs(10);
        let mut b = Breaker::new(3, cool);
        for _ in 0..2 {
            assert_eq!(b.allow(t0), Permit::Allowed);
            b.failure(t0);
        }
        assert_eq!(b.state(), State::Closed);
        b.failure(t0);
        assert_eq!(b.state(), State::Open { since: t0 });
        assert_eq!(b.allow(t0 + Duration::from_secs(9)), Permit::Rejected);
        // Cool-down over: one probe, the others wait for it.
        assert_eq!(b.allow(t0 + cool), Permit::Probe);
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(b.allow(t0 + cool), Permit::Rejected);
        // The probe fails: open again at once, for another cool-down.
        let t1 = t0 + cool;
        b.failure(t1);
        assert_eq!(b.state(), State::Open { since: t1 });
        assert_eq!(b.allow(t1 + Duration::from_secs(1)), Permit::Rejected);
        // The next probe succeeds: closed, the count starts over.
        assert_eq!(b.allow(t1 + cool), Permit::Probe);
        b.success();
        assert_eq!(b.state(), State::Closed);
        b.failure(t1 + cool);
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.report("x").opened, 2);
    }

    #[test]
    fn success_resets_the_count() {
        let t = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(1));
        b.failure(t);
        b.success();
        b.failure(t);
        assert_eq!(b.state(), State::Closed);
    }
}
