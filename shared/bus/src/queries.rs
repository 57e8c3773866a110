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
