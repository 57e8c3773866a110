//! `config.profiles.list`: the built-in profiles, then any other with keys in
//! the `config` bucket (and the running one).

use std::sync::Arc;

use bus::api::config::{ProfileInfo, ProfilesList, ProfilesRequest};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    _req: ProfilesRequest,
) -> Result<ProfilesList, ServiceError> {
    let mut names: Vec<(String, String, bool)> = trader_config::builtin_profiles()
        .into_iter()
        .map(|p| (p.name, p.description, true))
        .collect();
    let running = std::iter::once(ctx.active().to_string());
    for name in ctx.bucket.profiles().into_iter().chain(running) {
        if !names.iter().any(|(n, _, _)| *n == name) {
            let description = trader_config::Profile::custom(&name)
                .map(|p| p.description)
                .unwrap_or_default();
            names.push((name, description, false));
        }
    }
    let mut profiles = Vec::new();
    for (name, description, builtin) in names {
        let Ok(resolved) = ctx.resolve(&name) else {
            continue;
        };
        profiles.push(ProfileInfo {
            services: resolved.settings.services.clone(),
            kv_keys: ctx
                .bucket
                .layer(&name)
                .values
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
            name,
            description,
            builtin,
        });
    }
    Ok(ProfilesList {
        active: ctx.active().to_string(),
        profiles,
    })
}
