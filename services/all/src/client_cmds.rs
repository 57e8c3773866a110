//! Client commands: small, typed requests against a running platform.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bus::api::md::{
    BarsRequest, BarsResponse, Calendar, ImportMode, ImportReport, ImportRequest, QualityReport,
    QualityRequest, QuoteRequest,
};
use bus::{request, RequestOptions};
use futures::StreamExt;
use model::{Symbol, Timeframe, UnixNanos};

use crate::Connection;

async fn connect(c: &Connection) -> anyhow::Result<async_nats::Client> {
    Ok(bus::connect::connect(&c.nats_url, "trader-cli", Some(Duration::from_secs(5))).await?)
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    connection: Connection,
    /// Symbol to store the bars under.
    #[arg(long)]
    symbol: String,
    /// Timeframe of the file's bars (1d, 1h, 5m, 1s …).
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// Import the good rows of a file with bad ones (default: strict, all or nothing).
    #[arg(long)]
    lenient: bool,
    /// CSV file with header Date,Open,High,Low,Close,Volume.
    file: PathBuf,
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let csv = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let req = ImportRequest {
        symbol: Symbol::new(&args.symbol)?,
        timeframe: Timeframe::parse(&args.timeframe)?,
        mode: if args.lenient {
            ImportMode::Lenient
        } else {
            ImportMode::Strict
        },
        csv: Some(csv),
        path: None,
        calendar: None,
    };
    let client = connect(&args.connection).await?;
    match request::<_, ImportReport>(
        &client,
        bus::subjects::md::IMPORT,
        &req,
        RequestOptions::timeout(Duration::from_secs(120)),
    )
    .await
    {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Err(e) => {
            if let Some(err) = e.service_error() {
                eprintln!("{}", serde_json::to_string_pretty(&err.details)?);
            }
            Err(e.into())
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct QuoteArgs {
    #[command(flatten)]
    connection: Connection,
    /// Symbol, e.g. SIM-A.
    symbol: String,
}

pub async fn quote(args: QuoteArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let req = QuoteRequest {
        symbol: Symbol::new(&args.symbol)?,
    };
    let quote: model::Quote = request(
        &client,
        bus::subjects::md::QUOTE_GET,
        &req,
        RequestOptions::default(),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&quote)?);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BarsArgs {
    #[command(flatten)]
    connection: Connection,
    /// Symbol, e.g. GOOG.
    symbol: String,
    /// Timeframe (1d, 1h, 5m, 1s …).
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// From (ns, RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Up to (ns, RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Most bars to print (the service pages beyond its own limit).
    #[arg(long)]
    limit: Option<u32>,
}

pub async fn bars(args: BarsArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let req = BarsRequest {
        symbol: Symbol::new(&args.symbol)?,
        timeframe: Timeframe::parse(&args.timeframe)?,
        from: args.from.as_deref().map(UnixNanos::parse).transpose()?,
        to: args.to.as_deref().map(UnixNanos::parse).transpose()?,
        limit: args.limit,
    };
    let resp: BarsResponse = request(
        &client,
        bus::subjects::md::BARS_GET,
        &req,
        RequestOptions::default(),
    )
    .await?;
    println!(
        "{:<26} {:>12} {:>12} {:>12} {:>12} {:>14}",
        "time", "open", "high", "low", "close", "volume"
    );
    for b in &resp.bars {
        println!(
            "{:<26} {:>12} {:>12} {:>12} {:>12} {:>14}",
            b.ts.to_rfc3339(),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        );
    }
    if let Some(next) = resp.next_from {
        println!("… more from {next}");
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct QualityArgs {
    #[command(flatten)]
    connection: Connection,
    /// Symbol, e.g. GOOG.
    symbol: String,
    /// Timeframe (1d, 1h, 5m, 1s …).
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// From (ns, RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Up to (ns, RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Saturdays and Sundays are trading days (default: closed).
    #[arg(long)]
    weekends: bool,
    /// Daily session for intraday bars, HH:MM-HH:MM in UTC (e.g. 14:30-21:00).
    #[arg(long)]
    session: Option<String>,
    /// A closed day (YYYY-MM-DD), not a gap; repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    holiday: Vec<String>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

/// `md.quality.get`: the score, each rule's count and the bars concerned.
pub async fn quality(args: QualityArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let req = QualityRequest {
        symbol: Symbol::new(&args.symbol)?,
        timeframe: Timeframe::parse(&args.timeframe)?,
        from: args.from.as_deref().map(UnixNanos::parse).transpose()?,
        to: args.to.as_deref().map(UnixNanos::parse).transpose()?,
        calendar: Some(Calendar {
            weekends: args.weekends,
            session: args.session,
            holidays: args.holiday,
        }),
        thresholds: None,
    };
    let report: QualityReport = request(
        &client,
        bus::subjects::md::QUALITY_GET,
        &req,
        RequestOptions::timeout(Duration::from_secs(60)),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} {}: score {} ({} bars, {} expected, {} possible holidays not scored)",
        report.symbol,
        report.timeframe,
        report.score,
        report.bars,
        report.expected,
        report.possible_holidays
    );
    for (name, part) in [
        ("gaps", &report.gaps),
        ("outliers", &report.outliers),
        ("stale", &report.stale),
        ("ohlc", &report.ohlc),
        ("volume", &report.volume),
    ] {
        println!("{name:<9} {:>6}  score {}", part.count, part.score);
        for f in &part.bars {
            println!("  {}  {:<22} {}", f.ts.to_rfc3339(), f.kind, f.detail);
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ServicesArgs {
    #[command(flatten)]
    connection: Connection,
}

pub async fn services(args: ServicesArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await?;
    client
        .publish_with_reply("$SRV.INFO", inbox, "".into())
        .await?;
    let mut rows = Vec::new();
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(500), sub.next()).await {
        if let Ok(info) = serde_json::from_slice::<serde_json::Value>(&msg.payload) {
            if info["type"] == "io.nats.micro.v1.info_response" {
                rows.push(info);
            }
        }
    }
    rows.sort_by_key(|i| {
        (
            i["name"].as_str().unwrap_or("").to_string(),
            i["id"].as_str().unwrap_or("").to_string(),
        )
    });
    if rows.is_empty() {
        println!("no services answered $SRV.INFO");
    }
    for info in rows {
        println!(
            "{} {} (id {})",
            info["name"].as_str().unwrap_or("?"),
            info["version"].as_str().unwrap_or("?"),
            info["id"].as_str().unwrap_or("?")
        );
        let mut endpoints: Vec<&serde_json::Value> =
            info["endpoints"].as_array().into_iter().flatten().collect();
        endpoints.sort_by_key(|e| e["subject"].as_str().unwrap_or("").to_string());
        for e in endpoints {
            println!(
                "  {:<18} {}",
                e["subject"].as_str().unwrap_or("?"),
                e["metadata"]["description"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// The endpoint to probe (`/health/ready` or `/health/live` of a process's
    /// `--metrics-addr`).
    #[arg(long, default_value = "http://127.0.0.1:9464/health/ready")]
    url: String,
}

/// Prints the body; fails unless the answer is 200.
pub async fn health(args: HealthArgs) -> anyhow::Result<()> {
    let (status, body) = bus::observe::get(&args.url).await?;
    println!("{body}");
    anyhow::ensure!(status == 200, "{} answered {status}", args.url);
    Ok(())
}
