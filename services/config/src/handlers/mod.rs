//! One file per endpoint; [`endpoints`] is the service's endpoint table.

mod get;
mod profiles_list;
mod set;

use std::sync::Arc;

use bus::api::config::{Applies, ConfigEntry};
use bus::{runner::Endpoints, subjects::config as s};

use crate::Ctx;

pub(crate) fn endpoints(ctx: Arc<Ctx>) -> Endpoints {
    Endpoints::new()
        .json(
            s::GET,
            "A profile's settings (or one key) with the source of each value",
            {
                let c = ctx.clone();
                move |rc, req| get::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::SET,
            "Write one setting of a profile into the config bucket (validated); says whether it applies live",
            {
                let c = ctx.clone();
                move |rc, req| set::handle(c.clone(), rc, req)
            },
        )
        .json(
            s::PROFILES_LIST,
            "Built-in profiles and those with keys in the config bucket",
            {
                let c = ctx.clone();
                move |rc, req| profiles_list::handle(c.clone(), rc, req)
            },
        )
}

/// The wire form of when a key applies.
pub(crate) fn applies(a: trader_config::Applies) -> (Applies, Option<String>) {
    match a {
        trader_config::Applies::Live(service) => (Applies::Live, Some(service.to_string())),
        trader_config::Applies::Restart => (Applies::Restart, None),
    }
}

pub(crate) fn entry(e: trader_config::Entry) -> ConfigEntry {
    let (applies, service) = applies(e.applies);
    ConfigEntry {
        key: e.key.to_string(),
        value: e.value,
        source: e.source,
        applies,
        service,
        help: e.help.to_string(),
    }
}
