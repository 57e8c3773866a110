//! `PORTFOLIO_UPDATE`s. The id `pf:<account>:<orders sequence>:<mark ts>`
//! names what made an update, so every node publishes the same one and
//! JetStream keeps the first. Beyond JetStream's duplicate window that is not
//! enough: a replay (snapshot deleted, a node far behind) would store old
//! updates again, and risk, which follows PORTFOLIO, would see the past as
//! news. So an update no newer than the account's newest one in PORTFOLIO is
//! not published at all.

use bus::api::portfolio::PortfolioUpdate;
use bus::{events, subjects};
use model::event::types;

use crate::Ctx;

/// Publishes `update`, made by ORDERS `sequence` and the mark at `mark_ts`
/// (0: none), unless PORTFOLIO has it or a newer one.
pub async fn publish(
    ctx: &Ctx,
    account: &str,
    sequence: u64,
    mark_ts: i64,
    update: &PortfolioUpdate,
    correlation_id: &str,
) {
    let position = (sequence, mark_ts);
    let known = ctx.published.lock().get(account).copied();
    let newest = match known {
        Some(newest) => Some(newest),
        None => newest_in_stream(ctx, account).await,
    };
    if newest.is_some_and(|newest| position <= newest) {
        tracing::debug!(account, sequence, mark_ts, "update already in PORTFOLIO");
        return;
    }
    let msg_id = subjects::msg_id::portfolio_update(account, sequence, mark_ts);
    match events::publish(
        &ctx.js,
        subjects::portfolio_update(account),
        &msg_id,
        types::PORTFOLIO_UPDATE,
        correlation_id,
        subjects::portfolio::SERVICE,
        update,
        None,
    )
    .await
    {
        Ok(_) => {
            let mut published = ctx.published.lock();
            let entry = published.entry(account.to_string()).or_insert(position);
            *entry = (*entry).max(position);
        }
        Err(e) => tracing::warn!(account, error = %e, "PORTFOLIO_UPDATE not stored"),
    }
}

/// (sequence, mark ts) of the account's newest update in PORTFOLIO, from its
/// `Nats-Msg-Id`; `None` when there is none or it cannot be read (then the
/// update is published and JetStream's de-duplication is what is left).
async fn newest_in_stream(ctx: &Ctx, account: &str) -> Option<(u64, i64)> {
    let message = ctx
        .portfolio
        .direct_get_last_for_subject(subjects::portfolio_update(account))
        .await
        .ok()?;
    let id = message.headers.get(bus::headers::MSG_ID)?.as_str();
    let newest = parse_id(id)?;
    let mut published = ctx.published.lock();
    let entry = published.entry(account.to_string()).or_insert(newest);
    *entry = (*entry).max(newest);
    Some(*entry)
}

/// `pf:<account>:<sequence>:<mark ts>` → (sequence, mark ts).
fn parse_id(id: &str) -> Option<(u64, i64)> {
    let mut parts = id.rsplitn(3, ':');
    let mark_ts = parts.next()?.parse().ok()?;
    let sequence = parts.next()?.parse().ok()?;
    parts
        .next()?
        .starts_with("pf:")
        .then_some((sequence, mark_ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_the_ids_it_writes() {
        let id = subjects::msg_id::portfolio_update("acc-1", 42, 1_704_153_600_000_000_000);
        assert_eq!(parse_id(&id), Some((42, 1_704_153_600_000_000_000)));
        assert_eq!(
            parse_id(&subjects::msg_id::portfolio_update("a", 7, 0)),
            Some((7, 0))
        );
        assert_eq!(parse_id("x:1:2"), None);
        assert_eq!(parse_id("pf:a:b:c"), None);
    }
}
