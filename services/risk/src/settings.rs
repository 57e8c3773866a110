//! Limits and trading states: KV buckets `risk-limits` and `risk-state`, kept
//! in memory by a watch on each ([`bus::kv::KvCache`]), so a change made
//! through `risk.limits.set`, `risk.halt` or any KV client applies to the next
//! order without a restart. The default limits (accounts with none of their
//! own) follow the `config` bucket's `risk.*` keys the same way.

use std::sync::Arc;

use async_nats::jetstream;
use bus::api::risk::{RiskLimits, StateRecord, TradingState};
use bus::kv::KvCache;
use bus::{subjects, BusError};
use model::UnixNanos;
use parking_lot::RwLock;
use tokio::sync::watch;

/// Both buckets.
#[derive(Clone)]
pub struct Settings {
    pub limits: KvCache<RiskLimits>,
    pub states: KvCache<StateRecord>,
    /// Replaced when the `config` bucket's `risk.*` keys change.
    pub default_limits: Arc<RwLock<RiskLimits>>,
}

impl Settings {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        default_limits: RiskLimits,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, BusError> {
        Ok(Settings {
            limits: KvCache::open(
                js,
                subjects::buckets::RISK_LIMITS,
                "risk limits per account (RiskLimits JSON)",
                replicas,
                stop.clone(),
            )
            .await?,
            states: KvCache::open(
                js,
                subjects::buckets::RISK_STATE,
                "trading state per account (ACTIVE, REDUCING, HALTED)",
                replicas,
                stop,
            )
            .await?,
            default_limits: Arc::new(RwLock::new(default_limits)),
        })
    }

    /// The account's limits and their revision (0: the defaults).
    pub fn limits_of(&self, account: &str) -> (RiskLimits, u64) {
        self.limits
            .get(account)
            .unwrap_or_else(|| (self.default_limits.read().clone(), 0))
    }

    pub fn state_of(&self, account: &str) -> StateRecord {
        self.states
            .get(account)
            .map(|(s, _)| s)
            .unwrap_or_else(|| StateRecord {
                account: account.to_string(),
                state: TradingState::Active,
                reason: "default".to_string(),
                since: UnixNanos(0),
            })
    }
}
