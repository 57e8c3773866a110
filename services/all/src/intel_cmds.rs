//! Client commands of the sentiment and orchestrator services: `trader news
//! import FILE`, `trader sentiment TEXT`, `trader predict SYMBOL`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bus::api::orchestrator::{PredictRequest, PredictResponse, StrategySpec};
use bus::api::sentiment::{ScoreRequest, ScoreResponse};
use bus::{request, RequestOptions};
use model::{Symbol, Timeframe};

use crate::Connection;

async fn connect(c: &Connection) -> anyhow::Result<async_nats::Client> {
    Ok(bus::connect::connect(&c.nats_url, "trader-cli", Some(Duration::from_secs(5))).await?)
}

#[derive(clap::Args, Debug)]
pub struct NewsArgs {
    #[command(subcommand)]
    command: NewsCommand,
}

#[derive(clap::Subcommand, Debug)]
enum NewsCommand {
    /// Publish news items from a JSON-lines file to NEWS (one item per line:
    /// {"id","ts","headline","symbols",["body"],["source"]}); ids de-duplicate.
    Import {
        #[command(flatten)]
        connection: Connection,
        file: PathBuf,
    },
}

pub async fn news(args: NewsArgs) -> anyhow::Result<()> {
    match args.command {
        NewsCommand::Import { connection, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let client = connect(&connection).await?;
            let js = async_nats::jetstream::new(client.clone());
            let report = sentiment_service::import::import_lines(&js, &text, "trader-cli")
                .await
                .with_context(|| format!("{}", file.display()))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            client.flush().await?;
            Ok(())
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct SentimentArgs {
    #[command(flatten)]
    connection: Connection,
    /// The text to score (e.g. a headline).
    text: String,
}

pub async fn sentiment(args: SentimentArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let scores: ScoreResponse = request(
        &client,
        bus::subjects::sentiment::SCORE,
        &ScoreRequest { text: args.text },
        RequestOptions::default(),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&scores)?);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    connection: Connection,
    symbol: String,
    #[arg(long, default_value = "1d")]
    timeframe: String,
    /// Strategy kind (see `strategy.kinds`), default parameters.
    #[arg(long, default_value = "sma_cross")]
    strategy: String,
    /// Account risk sizes the order for (no sizing without one).
    #[arg(long)]
    account: Option<String>,
    /// Units proposed to risk.
    #[arg(long)]
    qty: Option<model::Decimal>,
}

pub async fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let client = connect(&args.connection).await?;
    let req = PredictRequest {
        symbol: Symbol::new(&args.symbol)?,
        timeframe: Timeframe::parse(&args.timeframe)?,
        strategy: Some(StrategySpec {
            kind: args.strategy,
            params: Default::default(),
            weight: None,
        }),
        ensemble: None,
        account: args.account,
        qty: args.qty,
        lookback: None,
    };
    let p: PredictResponse = request(
        &client,
        bus::subjects::orchestrator::PREDICT,
        &req,
        RequestOptions::timeout(Duration::from_secs(30)),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&p)?);
    Ok(())
}
