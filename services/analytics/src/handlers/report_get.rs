//! `analytics.report.get`.

use std::sync::Arc;

use bus::api::analytics::{Report, ReportFormat, ReportRequest, Source};
use bus::api::backtest::RunRequest;
use bus::{RequestContext, ServiceError};

use crate::{html, source, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: ReportRequest,
) -> Result<Report, ServiceError> {
    let sourced = source::sourced(&ctx, &rc, &req.source).await?;
    let strategy = |run: &RunRequest| {
        let on = run
            .data
            .symbol
            .as_ref()
            .map(|s| format!(" on {s} {}", run.data.timeframe))
            .unwrap_or_default();
        format!(
            "{}{on}",
            html::strategy_title(&run.strategy.kind, &run.strategy.params)
        )
    };
    let title = req
        .title
        .clone()
        .unwrap_or_else(|| match (&req.source, &sourced.run) {
            (Source::Backtest(_), Some(run)) => format!("Backtest: {}", strategy(run)),
            (Source::SweepResult { job_id, index }, Some(run)) => {
                format!("Sweep {job_id}, result {index}: {}", strategy(run))
            }
            (Source::Account { account, .. }, _) => format!("Account {account}"),
            (_, None) => "Report".to_string(),
        });
    let performance = source::performance(&sourced.report);
    let page = (req.format == ReportFormat::Html)
        .then(|| html::render(&title, &performance, &sourced.report, &sourced.prices));
    Ok(Report {
        title,
        performance,
        backtest: sourced.report,
        html: page,
    })
}
