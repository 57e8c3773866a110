//! `config.set`: one key of one profile into the `config` bucket, checked
//! first (an unknown key or a bad value is a 400 naming the key).

use std::sync::Arc;

use bus::api::config::{Applies, SetRequest, SetResponse};
use bus::{RequestContext, ServiceError};

use crate::Ctx;

pub async fn handle(
    ctx: Arc<Ctx>,
    _rc: RequestContext,
    req: SetRequest,
) -> Result<SetResponse, ServiceError> {
    let profile = req.profile.unwrap_or_else(|| ctx.active().to_string());
    if !trader_config::valid_profile_name(&profile) {
        return Err(ServiceError::bad_request(
            trader_config::ConfigError::BadProfile(profile).to_string(),
        ));
    }
    let bad = |e: trader_config::ConfigError| ServiceError::bad_request(e.to_string());
    let spec = trader_config::spec(&req.key).map_err(bad)?;
    // Checked against what the profile is now (a new custom profile starts
    // from the defaults).
    let current = match ctx.resolve(&profile) {
        Err(e) if e.kind == bus::ErrorKind::NotFound => {
            let base = trader_config::Resolved::new(
                &trader_config::Profile::custom(&profile).map_err(bad)?,
            )
            .map_err(bad)?;
            ctx.bucket.over(&base)
        }
        other => other?,
    };
    let revision = if req.reset {
        ctx.bucket.delete(&profile, spec.key).await.map_err(|e| {
            ServiceError::unavailable(format!("cannot write the config bucket: {e}"))
        })?;
        0
    } else {
        let next = current.settings.with(spec.key, req.value).map_err(bad)?;
        let known = ctx.known_services();
        if spec.key == "services" && !known.is_empty() {
            next.check_services(&known).map_err(bad)?;
        }
        let value = next.get(spec.key).map_err(bad)?;
        ctx.bucket
            .put(&profile, spec.key, &value)
            .await
            .map_err(|e| {
                ServiceError::unavailable(format!("cannot write the config bucket: {e}"))
            })?
    };
    let now = ctx.resolve(&profile)?;
    let value = now.settings.get(spec.key).map_err(bad)?;
    let (applies, service) = super::applies(spec.applies);
    let needs_restart = match applies {
        Applies::Restart if profile == ctx.active() => vec![spec.key.to_string()],
        _ => Vec::new(),
    };
    if needs_restart.is_empty() {
        tracing::info!(profile, key = spec.key, %value, revision, "config set");
    } else {
        tracing::warn!(profile, key = spec.key, %value, revision, "config set; needs a restart of trader run to apply");
    }
    Ok(SetResponse {
        source: now
            .source(spec.key)
            .unwrap_or(trader_config::Source::Default),
        profile,
        key: spec.key.to_string(),
        value,
        revision,
        applies,
        service,
        needs_restart,
    })
}
