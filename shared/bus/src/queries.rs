//! Requests other services make of each other, written once.

use model::{Bar, Symbol, Timeframe, UnixNanos};

use crate::api::md::{BarsRequest, BarsResponse};
use crate::client::{request, RequestError, RequestOptions};
use crate::subjects;

/// Every bar of a series in `[from, to]`, following `md.bars.get`'s pages;
/// fails past `max_bars`.
pub async fn fetch_bars(
    client: &async_nats::Client,
    symbol: &Symbol,
    timeframe: Timeframe,
    (from, to): (Option<UnixNanos>, Option<UnixNanos>),
    max_bars: usize,
    options: RequestOptions,
) -> Result<Vec<Bar>, FetchError> {
    let mut from = from;
    let mut out = Vec::new();
    loop {
        let page: BarsResponse = request(
            client,
            subjects::md::BARS_GET,
            &BarsRequest {
                symbol: symbol.clone(),
                timeframe,
                from,
                to,
                limit: None,
            },
            options.clone(),
        )
        .await?;
        out.extend(page.bars);
        if out.len() > max_bars {
            return Err(FetchError::TooMany(max_bars));
        }
        match page.next_from {
            Some(next) => from = Some(next),
            None => return Ok(out),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("more than {0} bars in range; narrow from/to")]
    TooMany(usize),
}

impl From<FetchError> for crate::ServiceError {
    /// For a service answering its own request: market-data's error passes
    /// through; no answer at all is `unavailable`; too many bars is the caller's.
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Request(r) => r
                .service_error()
                .cloned()
                .unwrap_or_else(|| crate::ServiceError::unavailable(format!("market-data: {r}"))),
            FetchError::TooMany(_) => crate::ServiceError::bad_request(e.to_string()),
        }
    }
}

/// The newest bar stored in MARKET for `symbol` (of `timeframe`, or of any
/// series when `None`), read with one direct get; `Ok(None)` when there is none.
pub async fn newest_bar(
    market: &async_nats::jetstream::stream::Stream,
    symbol: &Symbol,
    timeframe: Option<Timeframe>,
) -> Result<Option<model::Event<Bar>>, NewestBarError> {
    use async_nats::jetstream::stream::DirectGetErrorKind;
    let subject = match timeframe {
        Some(tf) => subjects::bar(symbol, tf),
        None => subjects::bars_of_symbol(symbol),
    };
    match market.direct_get_last_for_subject(subject).await {
        Ok(message) => serde_json::from_slice(&message.payload)
            .map(Some)
            .map_err(|e| NewestBarError::Decode(e.to_string())),
        Err(e) if matches!(e.kind(), DirectGetErrorKind::NotFound) => Ok(None),
        Err(e) => Err(NewestBarError::Read(e.to_string())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NewestBarError {
    #[error("cannot read MARKET: {0}")]
    Read(String),
    #[error("bar in MARKET does not parse: {0}")]
    Decode(String),
}
