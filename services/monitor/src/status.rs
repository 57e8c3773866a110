//! One [`SystemStatus`]: services, JetStream and the server view, collected
//! at the same time.

use bus::api::monitor::SystemStatus;
use model::UnixNanos;

use crate::{discovery, jetstream_state, server_view, Ctx};

pub async fn collect(ctx: &Ctx) -> SystemStatus {
    let server = async {
        match &ctx.config.server_monitor_url {
            Some(url) => Some(server_view::view(url).await),
            None => None,
        }
    };
    let (services, jetstream, server) = tokio::join!(
        discovery::services(&ctx.client, ctx.config.discovery_quiet),
        jetstream_state::state(&ctx.js),
        server
    );
    let jetstream = match jetstream {
        Ok(js) => Some(js),
        Err(e) => {
            tracing::debug!(error = %e, "JetStream state not available");
            None
        }
    };
    SystemStatus {
        ts: UnixNanos::now(),
        monitor: ctx.instance.clone(),
        services,
        jetstream,
        server,
    }
}
