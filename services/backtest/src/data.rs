//! Bars for a backtest: stored bars through `md.bars.get`, or inline.

use bus::api::backtest::DataSpec;
use bus::queries::fetch_bars;
use bus::{RequestOptions, ServiceError};
use model::{Bar, Symbol};

use crate::Ctx;

pub async fn load(
    ctx: &Ctx,
    data: &DataSpec,
    correlation_id: &str,
) -> Result<Vec<Bar>, ServiceError> {
    let bars = match (&data.bars, &data.symbol) {
        (Some(inline), symbol) => {
            if inline.len() > ctx.config.max_bars {
                return Err(ServiceError::bad_request(format!(
                    "at most {} bars",
                    ctx.config.max_bars
                )));
            }
            let symbol = symbol
                .clone()
                .unwrap_or_else(|| Symbol::new("DATA").expect("valid symbol"));
            inline
                .iter()
                .map(|b| Bar {
                    symbol: symbol.clone(),
                    timeframe: data.timeframe,
                    ts: b.ts,
                    open: b.open,
                    high: b.high,
                    low: b.low,
                    close: b.close,
                    volume: b.volume,
                })
                .collect()
        }
        (None, Some(symbol)) => {
            fetch_bars(
                &ctx.client,
                symbol,
                data.timeframe,
                (data.from, data.to),
                ctx.config.max_bars,
                RequestOptions {
                    timeout: ctx.config.request_timeout,
                    correlation_id: Some(correlation_id.to_string()),
                },
            )
            .await?
        }
        (None, None) => {
            return Err(ServiceError::bad_request(
                "data needs `symbol` (stored bars) or `bars` (inline)",
            ))
        }
    };
    if bars.is_empty() {
        return Err(ServiceError::bad_request("no bars to backtest over"));
    }
    Ok(bars)
}
