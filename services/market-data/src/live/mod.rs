//! The live market-data adapter (off unless [`crate::Config::live`] is set):
//! an Alpaca-style WebSocket stream of trades and quotes ([`alpaca`]) →
//! quotes into QUOTES, bars built from trades ([`bars`]) into MARKET through
//! [`crate::publisher`] (so `Nats-Msg-Id` de-duplicates a bar published twice,
//! e.g. by a backfill and the stream), gaps and outages backfilled over the
//! venue's REST bars ([`rest`]), reconnects with exponential back-off.

pub mod alpaca;
mod args;
pub mod bars;
pub mod rest;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::api::md::Calendar;
use futures::{SinkExt, StreamExt};
use model::{Decimal, Quote, Symbol, Timeframe, UnixNanos};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::publisher;
use crate::quality::TradingCalendar;
use crate::Ctx;
use alpaca::StreamMsg;
pub use args::LiveArgs;
use bars::{Action, BarBook, TradeOutcome};

/// Which venue's messages the stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    Alpaca,
}

impl std::str::FromStr for Venue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "alpaca" => Ok(Venue::Alpaca),
            other => Err(format!("unknown live feed {other:?}: supported: alpaca")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LiveFeedConfig {
    pub venue: Venue,
    /// WebSocket stream URL (`ws://…`, e.g. `ws://127.0.0.1:9000/v2/iex`).
    pub ws_url: String,
    /// REST base URL for backfills (`http://…`); `None`: gaps are only logged.
    pub rest_url: Option<String>,
    pub symbols: Vec<Symbol>,
    /// Bars built from trades (default 1m).
    pub timeframes: Vec<Timeframe>,
    /// API key id and secret (`APCA_API_KEY_ID`, `APCA_API_SECRET_KEY`).
    pub key_id: String,
    pub secret: String,
    /// When the venue trades, for gap detection (default: always open).
    pub calendar: Calendar,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub rest_timeout: Duration,
    /// Counters (shared, so a caller can read them).
    pub stats: Arc<FeedStats>,
}

impl LiveFeedConfig {
    pub fn new(venue: Venue, ws_url: impl Into<String>, symbols: Vec<Symbol>) -> Self {
        LiveFeedConfig {
            venue,
            ws_url: ws_url.into(),
            rest_url: None,
            symbols,
            timeframes: vec![Timeframe::parse("1m").expect("1m")],
            key_id: std::env::var("APCA_API_KEY_ID").unwrap_or_default(),
            secret: std::env::var("APCA_API_SECRET_KEY").unwrap_or_default(),
            calendar: Calendar::always_open(),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            rest_timeout: Duration::from_secs(10),
            stats: Arc::default(),
        }
    }
}

/// What the feed has done since it started.
#[derive(Debug, Default)]
pub struct FeedStats {
    pub connects: AtomicU64,
    pub trades: AtomicU64,
    pub quotes: AtomicU64,
    pub duplicates: AtomicU64,
    pub late: AtomicU64,
    pub malformed: AtomicU64,
    pub bars_published: AtomicU64,
    pub gaps: AtomicU64,
    pub bars_backfilled: AtomicU64,
    pub bars_unfilled: AtomicU64,
}

impl FeedStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Runs the feed until `stop`.
pub(crate) async fn run(
    config: LiveFeedConfig,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), crate::Error> {
    let calendar = TradingCalendar::new(&config.calendar)
        .map_err(|e| crate::Error::Internal(format!("live feed calendar: {e}")))?;
    let mut book = BarBook::new(config.timeframes.clone(), calendar);
    let mut backoff = config.backoff_initial;
    loop {
        let session = tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            r = session(&config, &ctx, &mut book) => r,
        };
        book.disconnected();
        match session {
            Ok(true) => backoff = config.backoff_initial,
            Ok(false) => {}
            Err(e) => tracing::warn!(url = %config.ws_url, error = %e, "live feed disconnected"),
        }
        tracing::info!(
            after_ms = backoff.as_millis() as u64,
            "live feed reconnecting"
        );
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(config.backoff_max);
    }
}

/// One connection; Ok(true) if it got as far as streaming data.
async fn session(config: &LiveFeedConfig, ctx: &Ctx, book: &mut BarBook) -> Result<bool, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(config.ws_url.as_str())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    bump(&config.stats.connects, 1);
    ws.send(Message::text(alpaca::auth(&config.key_id, &config.secret)))
        .await
        .map_err(|e| format!("send auth: {e}"))?;
    let mut streaming = false;
    let mut last_price: std::collections::HashMap<Symbol, Decimal> = Default::default();
    while let Some(frame) = ws.next().await {
        let frame = frame.map_err(|e| format!("read: {e}"))?;
        let text = match frame {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Ping(p) => {
                let _ = ws.send(Message::Pong(p)).await;
                continue;
            }
            Message::Close(_) => return Ok(streaming),
            _ => continue,
        };
        let (msgs, bad) = alpaca::parse_frame(&text);
        if bad > 0 {
            bump(&config.stats.malformed, bad);
            tracing::warn!(
                frame = %text.chars().take(200).collect::<String>(),
                malformed = bad,
                "live feed: skipping malformed message(s)"
            );
        }
        let mut actions = Vec::new();
        for msg in msgs {
            match msg {
                StreamMsg::Success(m) if m == "authenticated" => {
                    ws.send(Message::text(alpaca::subscribe(&config.symbols)))
                        .await
                        .map_err(|e| format!("send subscribe: {e}"))?;
                }
                StreamMsg::Success(_) | StreamMsg::Other => {}
                StreamMsg::Subscribed => {
                    streaming = true;
                    tracing::info!(url = %config.ws_url, "live feed subscribed");
                }
                StreamMsg::Error(e) => return Err(format!("venue error: {e}")),
                StreamMsg::Trade {
                    symbol,
                    id,
                    price,
                    size,
                    ts,
                } => match book.trade(&symbol, id, price, size, ts, &mut actions) {
                    TradeOutcome::Applied => {
                        bump(&config.stats.trades, 1);
                        last_price.insert(symbol, price);
                    }
                    TradeOutcome::Duplicate => bump(&config.stats.duplicates, 1),
                    TradeOutcome::Late => bump(&config.stats.late, 1),
                },
                StreamMsg::Quote {
                    symbol,
                    bid,
                    ask,
                    ts,
                } => {
                    let last = last_price
                        .get(&symbol)
                        .copied()
                        .unwrap_or((bid + ask) / Decimal::TWO);
                    let quote = Quote {
                        symbol,
                        ts,
                        bid,
                        ask,
                        last,
                    };
                    let correlation_id = model::ids::new_correlation_id();
                    match publisher::publish_quote(&ctx.js, &quote, &correlation_id).await {
                        Ok(_) => bump(&config.stats.quotes, 1),
                        Err(e) => tracing::warn!(error = %e, "live feed: quote not published"),
                    }
                }
            }
        }
        for action in actions {
            apply(config, ctx, action).await;
        }
    }
    Ok(streaming)
}

async fn apply(config: &LiveFeedConfig, ctx: &Ctx, action: Action) {
    let correlation_id = model::ids::new_correlation_id();
    match action {
        Action::Publish(bar) => {
            if store(ctx, &bar, &correlation_id).await {
                bump(&config.stats.bars_published, 1);
            }
        }
        Action::Backfill {
            symbol,
            timeframe,
            times,
        } => {
            bump(&config.stats.gaps, 1);
            let wanted: BTreeSet<UnixNanos> = times.iter().copied().collect();
            let filled = match backfill(config, &symbol, timeframe, &wanted).await {
                Ok(bars) => bars,
                Err(e) => {
                    tracing::warn!(%symbol, %timeframe, error = %e, "live feed: backfill failed");
                    Vec::new()
                }
            };
            let mut got = BTreeSet::new();
            for bar in filled {
                if wanted.contains(&bar.ts) && store(ctx, &bar, &correlation_id).await {
                    got.insert(bar.ts);
                    bump(&config.stats.bars_backfilled, 1);
                }
            }
            let unfilled = wanted.len() - got.len();
            if unfilled > 0 {
                bump(&config.stats.bars_unfilled, unfilled as u64);
                tracing::warn!(%symbol, %timeframe, unfilled, "live feed: gap not backfilled (md.quality.get reports it)");
            } else {
                tracing::info!(%symbol, %timeframe, bars = got.len(), "live feed: gap backfilled from REST");
            }
        }
    }
}

async fn store(ctx: &Ctx, bar: &model::Bar, correlation_id: &str) -> bool {
    let result = match publisher::publish_bar(&ctx.js, bar, correlation_id).await {
        Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(symbol = %bar.symbol, error = %e, "live feed: bar not stored");
            false
        }
    }
}

async fn backfill(
    config: &LiveFeedConfig,
    symbol: &Symbol,
    timeframe: Timeframe,
    wanted: &BTreeSet<UnixNanos>,
) -> Result<Vec<model::Bar>, String> {
    let Some(base) = &config.rest_url else {
        return Err("no REST URL configured".into());
    };
    let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
        return Ok(Vec::new());
    };
    let headers = [
        ("APCA-API-KEY-ID", config.key_id.as_str()),
        ("APCA-API-SECRET-KEY", config.secret.as_str()),
    ];
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _page in 0..100 {
        let path = alpaca::bars_path(symbol, timeframe, *first, *last, token.as_deref())
            .ok_or_else(|| format!("the venue has no {timeframe} bars"))?;
        let body = rest::get(base, &path, &headers, config.rest_timeout).await?;
        let (bars, next) = alpaca::parse_bars(&body, symbol, timeframe)?;
        out.extend(bars);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Ok(out)
}
