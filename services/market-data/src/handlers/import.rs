//! `md.import`: CSV → validated bars → MARKET, idempotently.
//!
//! Strict mode refuses a file with any bad row (422, the report in `details`,
//! nothing published); lenient mode publishes the good rows and reports the bad.
//! Bars already stored are skipped, and each bar carries a `Nats-Msg-Id`, so a
//! re-import (even racing another instance) stores nothing twice.

use std::path::Path;
use std::sync::Arc;

use bus::api::md::{ImportMode, ImportReport, ImportRequest};
use bus::{subjects, RequestContext, ServiceError};

use crate::csv_import;
use crate::{publisher, Ctx};

/// Publishes this many bars before waiting for their acks.
const PUBLISH_WINDOW: usize = 512;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: ImportRequest,
) -> Result<ImportReport, ServiceError> {
    let text = match (&req.csv, &req.path) {
        (Some(csv), None) => csv.clone(),
        (None, Some(path)) => read_path(&ctx, path).await?,
        _ => {
            return Err(ServiceError::bad_request(
                "send exactly one of `csv` (the file's text) or `path` (a file under the service's import dir)",
            ))
        }
    };
    let parsed = csv_import::parse(&text, &req.symbol, req.timeframe, req.mode)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let mut report = parsed.report;
    let calendar = req.calendar.clone().unwrap_or_default();
    let assessed = crate::quality::assess(
        &req.symbol,
        req.timeframe,
        &parsed.bars,
        &calendar,
        &Default::default(),
    )
    .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    report.quality = Some(crate::quality::summary(&assessed));
    if report.rejected > 0 && req.mode == ImportMode::Strict {
        let reasons: Vec<String> = report
            .rejects
            .iter()
            .take(5)
            .map(|r| format!("line {}: {}", r.line, r.reason))
            .collect();
        return Err(ServiceError::unprocessable(format!(
            "{} of {} rows rejected, nothing imported (strict mode; use mode \"lenient\" to import the good rows): {}",
            report.rejected,
            report.rows,
            reasons.join("; ")
        ))
        .with_details(&report));
    }

    ctx.catch_up(&subjects::bar(&req.symbol, req.timeframe))
        .await?;
    let (existing, fresh): (Vec<_>, Vec<_>) = parsed
        .bars
        .into_iter()
        .partition(|b| ctx.state.has_bar(&b.symbol, b.timeframe, b.ts));
    report.duplicates = existing.len() as u64;

    let mut last_sequence = 0;
    for chunk in fresh.chunks(PUBLISH_WINDOW) {
        let mut acks = Vec::with_capacity(chunk.len());
        for bar in chunk {
            let ack = publisher::publish_bar(&ctx.js, bar, &rc.correlation_id)
                .await
                .map_err(|e| ServiceError::unavailable(e.to_string()))?;
            acks.push(ack);
        }
        for ack in acks {
            let ack = ack.await.map_err(|e| {
                ServiceError::unavailable(format!("MARKET did not acknowledge a bar: {e}"))
            })?;
            if ack.duplicate {
                report.duplicates += 1;
            } else {
                report.published += 1;
            }
            last_sequence = last_sequence.max(ack.sequence);
        }
    }
    // Reads on this instance right after the reply see the new bars.
    ctx.state
        .wait_applied(last_sequence, ctx.config.catch_up_timeout)
        .await;
    tracing::info!(
        symbol = %report.symbol,
        timeframe = %report.timeframe,
        rows = report.rows,
        published = report.published,
        duplicates = report.duplicates,
        rejected = report.rejected,
        "import done"
    );
    Ok(report)
}

async fn read_path(ctx: &Ctx, path: &str) -> Result<String, ServiceError> {
    let Some(dir) = &ctx.config.import_dir else {
        return Err(ServiceError::bad_request(
            "path imports are disabled on this instance (no import dir configured); send the file's text in `csv`",
        ));
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| ServiceError::internal(format!("import dir {}: {e}", dir.display())))?;
    let wanted = dir.join(Path::new(path));
    let resolved = wanted
        .canonicalize()
        .map_err(|e| ServiceError::bad_request(format!("cannot read {path}: {e}")))?;
    if !resolved.starts_with(&dir) {
        return Err(ServiceError::bad_request(format!(
            "{path} is outside the import dir {}",
            dir.display()
        )));
    }
    let cannot = |e: std::io::Error| ServiceError::bad_request(format!("cannot read {path}: {e}"));
    let max = ctx.config.max_import_bytes;
    let too_big = |size: u64| {
        ServiceError::bad_request(format!(
            "{path} is {size} bytes, over this instance's import limit of {max} bytes; split the file"
        ))
    };
    let size = tokio::fs::metadata(&resolved).await.map_err(cannot)?.len();
    if size > max {
        return Err(too_big(size));
    }
    // Read at most one byte over the limit: a file that grew meanwhile (or
    // one whose size the metadata does not tell) is refused too.
    let file = tokio::fs::File::open(&resolved).await.map_err(cannot)?;
    let mut bytes = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(
        &mut tokio::io::AsyncReadExt::take(file, max + 1),
        &mut bytes,
    )
    .await
    .map_err(cannot)?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        ServiceError::bad_request(format!(
            "cannot read {path}: not UTF-8 text (invalid byte at offset {}); save the file as UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })
}
