//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod bars_get;
mod import;
mod quality_get;
mod quote_get;
mod symbols_list;

use std::sync::Arc;

use bus::{runner::Endpoints, subjects::md};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            md::SYMBOLS_LIST,
            "Symbols with stored series and their last price",
            {
                let c = ctx.clone();
                move |rc, req| symbols_list::handle(c.clone(), rc, req)
            },
        )
        .json_and_protobuf(
            md::BARS_GET,
            "Bars of a symbol and timeframe in a time range, oldest first",
            {
                let c = ctx.clone();
                move |rc, req| bars_get::handle(c.clone(), rc, req)
            },
        )
        .json_and_protobuf(md::QUOTE_GET, "Last quote of a symbol", {
            let c = ctx.clone();
            move |rc, req| quote_get::handle(c.clone(), rc, req)
        })
        .json(
            md::IMPORT,
            "Import OHLCV bars from CSV into MARKET (strict or lenient)",
            {
                let c = ctx.clone();
                move |rc, req| import::handle(c.clone(), rc, req)
            },
        )
        .json(
            md::QUALITY_GET,
            "Quality score of a stored series: gaps, outliers, stale prices, OHLC and volume anomalies",
            {
                let c = ctx.clone();
                move |rc, req| quality_get::handle(c.clone(), rc, req)
            },
        )
}
