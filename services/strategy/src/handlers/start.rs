//! `strategy.start`: validates the definition, checks the symbols have bars, and
//! records the strategy as running in KV; the scheduler of some instance picks
//! it up within one lease tick.

use std::collections::HashSet;
use std::sync::Arc;

use async_nats::jetstream::stream::DirectGetErrorKind;
use bus::api::strategy::{
    valid_strategy_id, DesiredState, Mode, PaperSettings, StartRequest, StrategyRecord,
    DEFAULT_PAPER_ACCOUNT,
};
use bus::{subjects, ErrorKind, RequestContext, ServiceError};
use model::UnixNanos;

use crate::records::RecordError;
use crate::{runner, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: StartRequest,
) -> Result<StrategyRecord, ServiceError> {
    if !valid_strategy_id(&req.id) {
        return Err(ServiceError::bad_request(format!(
            "invalid strategy id {:?}: use 1 to 64 of A-Z a-z 0-9 - _",
            req.id
        )));
    }
    if req.symbols.is_empty() {
        return Err(ServiceError::bad_request("symbols must not be empty"));
    }
    let unique: HashSet<_> = req.symbols.iter().collect();
    if unique.len() != req.symbols.len() {
        return Err(ServiceError::bad_request("symbols must not repeat"));
    }
    let params = strategy::resolve_params(&req.kind, &req.params)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let paper = match req.mode {
        Mode::Signals => {
            if req.account.is_some() || req.sizing.is_some() || req.sizing_at.is_some() {
                return Err(ServiceError::bad_request(
                    "account, sizing and sizing_at apply to mode \"paper\" only",
                ));
            }
            None
        }
        Mode::Paper => {
            let account = req
                .account
                .clone()
                .unwrap_or_else(|| DEFAULT_PAPER_ACCOUNT.to_string());
            bus::error::check_id("account", &account)?;
            let sizing = req.sizing.clone().unwrap_or_default();
            sizing.validate().map_err(ServiceError::bad_request)?;
            Some(PaperSettings {
                account,
                sizing,
                sizing_at: req.sizing_at.unwrap_or_default(),
            })
        }
    };
    let now = UnixNanos::now();
    let mut record = StrategyRecord {
        id: req.id.clone(),
        kind: req.kind,
        params,
        symbols: req.symbols,
        timeframe: req.timeframe,
        mode: req.mode,
        paper,
        state: DesiredState::Running,
        created_ts: now,
        updated_ts: now,
    };
    let models = runner::load_models(&ctx.js, &record).await?;
    runner::build_all(&record, &models).map_err(ServiceError::bad_request)?;
    for symbol in &record.symbols {
        let subject = subjects::bar(symbol, record.timeframe);
        match ctx.market.direct_get_last_for_subject(subject).await {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), DirectGetErrorKind::NotFound) => {
                return Err(ServiceError::not_found(format!(
                    "unknown symbol {symbol}: no {} bars in MARKET (import or simulate it first)",
                    record.timeframe
                )))
            }
            Err(e) => {
                return Err(ServiceError::unavailable(format!(
                    "cannot read MARKET: {e}"
                )))
            }
        }
    }

    let existing = ctx.records.get(&record.id).await.map_err(store_error)?;
    let revision = match existing {
        Some((old, revision)) => {
            let same = old.kind == record.kind
                && old.params == record.params
                && old.symbols == record.symbols
                && old.timeframe == record.timeframe
                && old.mode == record.mode
                && old.paper == record.paper;
            if old.state == DesiredState::Running {
                if same {
                    return Ok(old);
                }
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    format!(
                        "strategy {} is running with another definition; stop it first",
                        record.id
                    ),
                ));
            }
            record.created_ts = old.created_ts;
            Some(revision)
        }
        None => None,
    };
    ctx.records
        .save(&record, revision)
        .await
        .map_err(store_error)?;
    tracing::info!(strategy = %record.id, kind = %record.kind, "strategy started");
    Ok(record)
}

pub(crate) fn store_error(e: RecordError) -> ServiceError {
    match e {
        RecordError::Conflict(_) => ServiceError::new(ErrorKind::Conflict, e.to_string()),
        RecordError::Store(_) => ServiceError::unavailable(e.to_string()),
    }
}
