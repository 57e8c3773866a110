//! Per-caller token buckets: `burst` requests at once, refilled at
//! `per_second`. Per instance: behind a load balancer over N gateways a
//! caller gets up to N times the rate (a shared counter in NATS would cost a
//! round trip per request).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Rate limit of each key or user.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 50.0,
            burst: 100.0,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets of every caller seen (idle ones are dropped now and then).
pub struct Limiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// `None`: no limit.
    pub fn new(limit: Option<RateLimit>) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of `caller`; `Err(wait)` when there is none (retry after `wait`).
    pub fn take(&self, caller: &str) -> Result<(), Duration> {
        self.take_at(caller, Instant::now())
    }

    fn take_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock();
        if buckets.len() > 100_000 {
            // Full buckets are the same as absent ones.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * limit.per_second < limit.burst
            });
        }
        let bucket = buckets.entry(caller.to_string()).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * limit.per_second;
        bucket.tokens = (bucket.tokens + refill).min(limit.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(
                missing / limit.per_second.max(1e-9),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = Limiter::new(Some(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        }));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take_at("a", t0).is_ok());
        }
        let wait = limiter.take_at("a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(limiter.take_at("b", t0).is_ok(), "buckets are per caller");
        assert!(limiter
            .take_at("a", t0 + Duration::from_millis(500))
            .is_ok());
        assert!(limiter
            .take_at("a", t0 + Duration::from_millis(500))
            .is_err());
        assert!(Limiter::new(None).take("a").is_ok());
    }
}
