//! The `sentiment` micro service: VADER sentiment of texts, with finance
//! terms, and of each symbol's news over time.
//!
//! - [`run`]: provisions NEWS and the score cache, follows NEWS into the
//!   per-symbol index, serves the endpoints until `shutdown`.
//! - `scorer`: the VADER rules over VADER's lexicon plus `data/finance_lexicon.tsv` (pure).
//! - `cache`: scores by text in the `sentiment-cache` KV bucket (expiring).
//! - `news`: the per-symbol index and its decayed aggregate (pure).
//! - `handlers/`: `sentiment.score`, `sentiment.batch`, `sentiment.symbol.get`.
//!
//! News is published by any client with [`bus::events::publish_news`]
//! (`trader news import FILE` reads JSON lines).

mod cache;
mod handlers;
pub mod import;
mod news;
pub mod scorer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use async_nats::Client;
use bus::api::sentiment::NewsItem;
use bus::follow::Applied;
use bus::jetstream::StreamSettings;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceSpec};
use model::Event;
use parking_lot::Mutex;

pub use scorer::Analyzer;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// How long a text's scores stay in the cache.
    pub cache_ttl: Duration,
    /// How long `sentiment.symbol.get` waits for news published before it.
    pub catch_up_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: StreamSettings::default(),
            cache_ttl: Duration::from_secs(24 * 3600),
            catch_up_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
}

pub(crate) struct Ctx {
    pub config: Config,
    pub analyzer: Analyzer,
    pub cache: kv::Store,
    pub news: Arc<Mutex<news::NewsIndex>>,
    pub news_applied: Applied,
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::sentiment::SERVICE,
            VERSION,
            "News sentiment: VADER scores with finance terms, cached; per-symbol decayed aggregate",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let news_stream = runner
        .stream(bus::jetstream::news_stream(&config.stream))
        .await?;
    let cache = runner
        .kv(kv::Config {
            bucket: subjects::buckets::SENTIMENT_CACHE.to_string(),
            description: "sentiment scores by text (expiring)".to_string(),
            history: 1,
            max_age: config.cache_ttl,
            num_replicas: config.stream.replicas,
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    let analyzer = Analyzer::new();
    let index = Arc::new(Mutex::new(news::NewsIndex::default()));
    let (applied, follower) = {
        let (index, scorer) = (index.clone(), Analyzer::new());
        bus::follow::follow(
            news_stream,
            0,
            move |sequence, message| match serde_json::from_slice::<Event<NewsItem>>(
                &message.payload,
            ) {
                Ok(event) => {
                    let compound = scorer.score(&event.data.text()).compound;
                    index.lock().add(&event.data, compound);
                }
                Err(e) => tracing::warn!(sequence, error = %e, "NEWS message does not parse"),
            },
            runner.stop_signal(),
        )
        .await?
    };
    runner.adopt("news-follower", follower);
    let ctx = Arc::new(Ctx {
        config,
        analyzer,
        cache,
        news: index,
        news_applied: applied,
    });
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}
