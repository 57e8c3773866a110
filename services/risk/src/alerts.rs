//! `RISK_ALERT` events into ALERTS (`evt.alert.<severity>.risk`): rejected
//! orders are warnings, halts are critical.

use bus::api::risk::{RiskAlert, TradingState, Violation};
use bus::{events, subjects};
use model::event::types;

use crate::Ctx;

pub const WARNING: &str = "warning";
pub const CRITICAL: &str = "critical";
pub const INFO: &str = "info";

pub struct AlertSpec<'a> {
    pub account: &'a str,
    pub severity: &'static str,
    pub message: String,
    pub violations: Vec<Violation>,
    pub state: TradingState,
    pub client_order_id: Option<String>,
}

/// Publishes an alert and waits for ALERTS to store it; failures are logged
/// (an alert must never block or fail a check).
pub async fn publish(ctx: &Ctx, spec: AlertSpec<'_>, correlation_id: &str) {
    let alert = RiskAlert {
        account: spec.account.to_string(),
        severity: spec.severity.to_string(),
        message: spec.message,
        violations: spec.violations,
        state: spec.state,
        client_order_id: spec.client_order_id,
    };
    let id = model::ids::new_id();
    let subject = subjects::alert(spec.severity, subjects::risk::SERVICE);
    if let Err(e) = events::publish(
        &ctx.js,
        subject,
        &id,
        types::RISK_ALERT,
        correlation_id,
        subjects::risk::SERVICE,
        &alert,
        None,
    )
    .await
    {
        tracing::warn!(correlation_id, account = %alert.account, error = %e, "risk alert not stored");
    }
}
