//! `trader backtest` (a CSV file, run here with the same engine and strategies
//! as the services) and `trader sweep` (a parameter sweep on the backtest
//! service, with a progress bar).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use bus::api::backtest::{JobState, JobStatus, Objective, Search, SweepAccepted};
use bus::api::md::ImportMode;
use bus::{request, RequestOptions};
use model::{Decimal, Symbol, Timeframe};

use crate::Connection;

fn parse_params(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut out = serde_json::Map::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .with_context(|| format!("--param {pair:?}: use name=value"))?;
        let v: f64 = v
            .parse()
            .with_context(|| format!("--param {pair:?}: the value is not a number"))?;
        let v = if v.fract() == 0.0 {
            serde_json::Value::from(v as i64)
        } else {
            serde_json::Value::from(v)
        };
        out.insert(k.to_string(), v);
    }
    Ok(out)
}

#[derive(clap::Args, Debug)]
pub struct BacktestArgs {
    /// CSV with header Date,Open,High,Low,Close,Volume.
    file: PathBuf,
    /// Strategy kind (see `nats req strategy.kinds ''`).
    #[arg(long, default_value = "sma_cross")]
    kind: String,
    /// Strategy parameter, repeatable: --param fast=10 --param slow=20.
    #[arg(long = "param")]
    params: Vec<String>,
    /// Starting cash.
    #[arg(long, default_value = "10000")]
    cash: String,
    /// Commission per side as a fraction of traded value (0.002 = 0.2 %).
    #[arg(long, default_value = "0")]
    commission: String,
    /// Close trades still open at the end.
    #[arg(long)]
    finalize: bool,
    /// Symbol the bars are labelled with (in the report).
    #[arg(long, default_value = "DATA")]
    symbol: String,
    /// Timeframe of the file's bars (1d, 1h, 5m, 1s …).
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// Print the whole report as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write a self-contained HTML report (SVG charts, trades) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

pub fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let symbol = Symbol::new(&args.symbol)?;
    let timeframe = Timeframe::parse(&args.timeframe)?;
    let parsed = market_data::csv_import::parse(&text, &symbol, timeframe, ImportMode::Strict)?;
    if parsed.report.rejected > 0 {
        let first: Vec<String> = parsed
            .report
            .rejects
            .iter()
            .take(5)
            .map(|r| format!("line {}: {} ({})", r.line, r.reason, r.message))
            .collect();
        bail!(
            "{} of {} rows are invalid: {}",
            parsed.report.rejected,
            parsed.report.rows,
            first.join("; ")
        );
    }
    let params = parse_params(&args.params)?;
    let mut s = strategy::build(&args.kind, &params, symbol, timeframe)?;
    let report = backtest::run(
        &parsed.bars,
        s.as_mut(),
        &backtest::BacktestConfig {
            cash: Decimal::from_str(&args.cash).context("--cash")?,
            commission: Decimal::from_str(&args.commission).context("--commission")?,
            finalize_trades: args.finalize,
            sizing: Default::default(),
            sizing_at: Default::default(),
            exits: None,
        },
    )?;
    if let Some(path) = &args.html {
        use analytics_service::html;
        let title = format!(
            "{} on {} {timeframe} ({})",
            html::strategy_title(&args.kind, &params),
            args.symbol,
            args.file.display()
        );
        let performance = analytics_service::performance(&report);
        let prices: Vec<html::Price> = parsed.bars.iter().map(html::Price::of).collect();
        std::fs::write(path, html::render(&title, &performance, &report, &prices))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_stats(&report.stats);
    Ok(())
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.5}"))
        .unwrap_or_else(|| "-".to_string())
}

/// backtesting.py's report layout and names.
fn print_stats(s: &backtest::Stats) {
    use std::io::Write;
    // Quietly stop when the reader goes away (`trader backtest … | head`).
    let mut out = std::io::stdout().lock();
    for (name, value) in s.named() {
        if writeln!(out, "{name:<26}{value:>24}").is_err() {
            return;
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    connection: Connection,
    /// Strategy kind (see `nats req strategy.kinds ''`).
    #[arg(long, default_value = "sma_cross")]
    kind: String,
    /// Stored bars of this symbol (import them first).
    #[arg(long)]
    symbol: String,
    /// Timeframe of the stored bars.
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// Grid values of a parameter, repeatable: --grid fast=5,10,15 --grid slow=20,30.
    #[arg(long)]
    grid: Vec<String>,
    /// Random search with this many samples (instead of --grid).
    #[arg(long)]
    random: Option<u32>,
    /// Genetic search with this population (instead of --grid), see --generations.
    #[arg(long)]
    genetic: Option<u32>,
    /// Generations of the genetic search.
    #[arg(long, default_value_t = 5)]
    generations: u32,
    /// Seed of the random and genetic searches (same seed, same candidates).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Statistic results are ranked by (sharpe_ratio, return_pct, sortino_ratio, …).
    #[arg(long, default_value = "sharpe_ratio")]
    objective: String,
    /// Starting cash of each backtest.
    #[arg(long, default_value = "10000")]
    cash: String,
    /// Commission per side as a fraction of traded value (0.002 = 0.2 %).
    #[arg(long, default_value = "0")]
    commission: String,
    /// Best results to show.
    #[arg(long, default_value_t = 10)]
    top: u32,
}

pub async fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    let search = match (args.random, args.genetic, args.grid.is_empty()) {
        (Some(samples), None, true) => Search::Random {
            samples,
            seed: args.seed,
        },
        (None, Some(population), true) => Search::Genetic {
            population,
            generations: args.generations,
            seed: args.seed,
            mutation: 0.2,
        },
        (None, None, false) => {
            let mut grid = BTreeMap::new();
            for g in &args.grid {
                let (k, vs) = g
                    .split_once('=')
                    .with_context(|| format!("--grid {g:?}: use name=v1,v2,..."))?;
                let values = vs
                    .split(',')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("--grid {g:?}"))?;
                grid.insert(k.to_string(), values);
            }
            Search::Grid(grid)
        }
        _ => bail!("give one of --grid name=v1,v2 (repeatable), --random N or --genetic N"),
    };
    let objective: Objective =
        serde_json::from_value(serde_json::Value::String(args.objective.clone()))
            .with_context(|| format!("unknown objective {:?}", args.objective))?;
    let body = serde_json::json!({
        "kind": args.kind,
        "data": {"symbol": args.symbol, "timeframe": args.timeframe},
        "search": search,
        "objective": objective,
        "cash": args.cash,
        "commission": args.commission,
    });
    let client = bus::connect::connect(
        &args.connection.nats_url,
        "trader-cli",
        Some(Duration::from_secs(5)),
    )
    .await?;
    let accepted: SweepAccepted = request(
        &client,
        bus::subjects::backtest::SWEEP_SUBMIT,
        &body,
        RequestOptions::timeout(Duration::from_secs(60)),
    )
    .await?;
    eprintln!(
        "job {}: {} parameter sets ({} refused by the strategy)",
        accepted.job_id, accepted.tasks, accepted.skipped
    );
    let bar = indicatif::ProgressBar::new(accepted.tasks as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} backtests  {elapsed_precise}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let status = loop {
        let s: JobStatus = request(
            &client,
            bus::subjects::backtest::JOB_GET,
            &serde_json::json!({"job_id": accepted.job_id, "top": args.top}),
            RequestOptions::timeout(Duration::from_secs(30)),
        )
        .await?;
        bar.set_position(s.done as u64);
        if s.state != JobState::Running {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    bar.finish();
    println!("{:>5}  {:>14}  params", "rank", args.objective);
    for (i, r) in status.best.iter().enumerate() {
        println!(
            "{:>5}  {:>14}  {}",
            i + 1,
            num(r.objective),
            serde_json::Value::Object(r.params.clone())
        );
    }
    Ok(())
}
