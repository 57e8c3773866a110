//! `orchestrator.status`: services up (`$SRV.PING`), the monitor's view if a
//! monitor answers, every stream, the strategies running, each account's
//! risk state and summary, and this instance's breakers. A part that does
//! not answer is listed in `missing`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bus::api::orchestrator::{
    AccountState, ServiceUp, StatusRequest, StrategySummary, StreamSummary, SystemStatus,
};
use bus::api::strategy::{ListRequest, ListResponse};
use bus::{subjects, RequestContext, ServiceError};
use futures::StreamExt;
use model::UnixNanos;
use serde_json::{json, Value};

use crate::{call, Ctx};

/// How long discovery waits after the last `$SRV.PING` answer.
const PING_QUIET: Duration = Duration::from_millis(250);
const MAX_ACCOUNTS: usize = 50;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: StatusRequest,
) -> Result<SystemStatus, ServiceError> {
    let accounts = req
        .accounts
        .unwrap_or_else(|| vec![bus::api::strategy::DEFAULT_PAPER_ACCOUNT.to_string()]);
    if accounts.len() > MAX_ACCOUNTS {
        return Err(ServiceError::bad_request(format!(
            "at most {MAX_ACCOUNTS} accounts"
        )));
    }
    for a in &accounts {
        bus::error::check_id("account", a)?;
    }
    let cid = rc.correlation_id.as_str();
    let empty = json!({});
    let (services, monitor, streams, strategies, account_states) = tokio::join!(
        services_up(&ctx),
        call::request::<_, Value>(&ctx, "monitor", subjects::monitor::STATUS, &empty, cid),
        streams(&ctx),
        call::request::<_, ListResponse>(
            &ctx,
            "strategy",
            subjects::strategy::LIST,
            &ListRequest {},
            cid
        ),
        futures::future::join_all(accounts.iter().map(|a| account(&ctx, a, cid))),
    );
    let mut missing = Vec::new();
    if services.is_empty() {
        missing.push("services".to_string());
    }
    if monitor.value.is_none() {
        missing.push("monitor".to_string());
    }
    if streams.is_none() {
        missing.push("streams".to_string());
    }
    if strategies.value.is_none() {
        missing.push("strategies".to_string());
    }
    for (state, gaps) in &account_states {
        for gap in gaps {
            missing.push(format!("{gap}:{}", state.account));
        }
    }
    Ok(SystemStatus {
        ts: UnixNanos::now(),
        services,
        monitor: monitor.value,
        streams: streams.unwrap_or_default(),
        strategies: strategies.value.map(|l| {
            l.strategies
                .into_iter()
                .map(|s| StrategySummary {
                    id: s.record.id,
                    kind: s.record.kind,
                    state: format!("{:?}", s.record.state).to_lowercase(),
                    owner: s.owner,
                    signals: s.signals,
                })
                .collect()
        }),
        accounts: account_states.into_iter().map(|(s, _)| s).collect(),
        breakers: ctx.breakers.report(),
        missing,
    })
}

/// Every micro service answering `$SRV.PING`, with its instance count.
async fn services_up(ctx: &Ctx) -> Vec<ServiceUp> {
    let mut by_name: BTreeMap<String, ServiceUp> = BTreeMap::new();
    let inbox = ctx.client.new_inbox();
    let Ok(mut replies) = ctx.client.subscribe(inbox.clone()).await else {
        return Vec::new();
    };
    if ctx
        .client
        .publish_with_reply("$SRV.PING", inbox, "".into())
        .await
        .is_err()
    {
        return Vec::new();
    }
    let deadline = tokio::time::Instant::now() + ctx.config.step_timeout;
    loop {
        let wait = PING_QUIET.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let Ok(Some(msg)) = tokio::time::timeout(wait, replies.next()).await else {
            break;
        };
        let Ok(pong) = serde_json::from_slice::<Value>(&msg.payload) else {
            continue;
        };
        let (Some(name), Some(version)) = (pong["name"].as_str(), pong["version"].as_str()) else {
            continue;
        };
        by_name
            .entry(name.to_string())
            .or_insert_with(|| ServiceUp {
                name: name.to_string(),
                instances: 0,
                version: version.to_string(),
            })
            .instances += 1;
    }
    by_name.into_values().collect()
}

async fn streams(ctx: &Ctx) -> Option<Vec<StreamSummary>> {
    let list = async {
        let mut out = Vec::new();
        let mut infos = ctx.js.streams();
        while let Some(info) = infos.next().await {
            let info = info.ok()?;
            out.push(StreamSummary {
                name: info.config.name,
                messages: info.state.messages,
                bytes: info.state.bytes,
                consumers: info.state.consumer_count,
            });
        }
        Some(out)
    };
    tokio::time::timeout(ctx.config.step_timeout, list)
        .await
        .ok()
        .flatten()
}

async fn account(ctx: &Ctx, account: &str, cid: &str) -> (AccountState, Vec<&'static str>) {
    let body = json!({ "account": account });
    let (risk, summary) = tokio::join!(
        call::request::<_, Value>(ctx, "risk", subjects::risk::STATUS, &body, cid),
        call::request::<_, Value>(
            ctx,
            "portfolio",
            subjects::portfolio::SUMMARY_GET,
            &body,
            cid
        ),
    );
    let mut gaps = Vec::new();
    if risk.value.is_none() {
        gaps.push("risk");
    }
    if summary.value.is_none() {
        gaps.push("portfolio");
    }
    (
        AccountState {
            account: account.to_string(),
            risk: risk.value,
            summary: summary.value,
        },
        gaps,
    )
}
