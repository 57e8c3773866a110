//! `analytics.report.get`.

use std::sync::Arc;

use bus::api::analytics::{Report, ReportFormat, ReportRequest, Source};
use bus::{RequestContext, ServiceError};

use crate::{html, source, Ctx};

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: ReportRequest,
) -> Result<Report, ServiceError> {
    let backtest = source::report(&ctx, &rc, &req.source).await?;
    let title = req.title.clone().unwrap_or_else(|| match &req.source {
        Source::Backtest(run) => format!(
            "Backtest: {} {}",
            run.strategy.kind,
            serde_json::Value::Object(run.strategy.params.clone())
        ),
        Source::SweepResult { job_id, index } => format!("Sweep {job_id}, result {index}"),
        Source::Account { account, .. } => format!("Account {account}"),
    });
    let performance = source::performance(&backtest);
    let page =
        (req.format == ReportFormat::Html).then(|| html::render(&title, &performance, &backtest));
    Ok(Report {
        title,
        performance,
        backtest,
        html: page,
    })
}
