//! One file per endpoint; this registers them.

mod bars_get;
mod import;
mod quote_get;
mod symbols_list;

use std::sync::Arc;

use bus::{subjects::md, BusError, EndpointSpec, MicroService};

use crate::Ctx;

pub(crate) async fn register(service: &mut MicroService, ctx: Arc<Ctx>) -> Result<(), BusError> {
    let c = ctx.clone();
    service
        .add_endpoint(
            EndpointSpec {
                name: "symbols_list",
                subject: md::SYMBOLS_LIST,
                description: "Symbols with stored series and their last price",
            },
            move |rc, req| symbols_list::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint_with_protobuf(
            EndpointSpec {
                name: "bars_get",
                subject: md::BARS_GET,
                description: "Bars of a symbol and timeframe in a time range, oldest first",
            },
            move |rc, req| bars_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx.clone();
    service
        .add_endpoint_with_protobuf(
            EndpointSpec {
                name: "quote_get",
                subject: md::QUOTE_GET,
                description: "Last quote of a symbol",
            },
            move |rc, req| quote_get::handle(c.clone(), rc, req),
        )
        .await?;
    let c = ctx;
    service
        .add_endpoint(
            EndpointSpec {
                name: "import",
                subject: md::IMPORT,
                description: "Import OHLCV bars from CSV into MARKET (strict or lenient)",
            },
            move |rc, req| import::handle(c.clone(), rc, req),
        )
        .await?;
    Ok(())
}
