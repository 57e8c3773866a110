//! The `config` micro service: the settings of the running `trader run` and
//! of every profile, over the `config` KV bucket.
//!
//! - [`run`]: opens the bucket, serves the endpoints until `shutdown`, and logs
//!   every change in KV to a key that needs a restart to apply.
//! - `handlers/`: one file per endpoint (`config.get`, `config.set`,
//!   `config.profiles.list`).
//! - What the settings are (keys, kinds, profiles, layering) is the pure
//!   `trader_config` crate; the services that apply keys live follow the
//!   bucket themselves ([`bus::live_config`]).

mod handlers;

use std::future::Future;
use std::sync::Arc;

use async_nats::Client;
use bus::jetstream::StreamSettings;
use bus::live_config::ConfigBucket;
use bus::runner::Runner;
use bus::{subjects, BusError, ServiceError, ServiceSpec};
use tokio::sync::watch;
use trader_config::{Applies, Profile, Resolved};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
pub struct Config {
    pub stream: StreamSettings,
    /// The profile this process runs, resolved through every layer below KV
    /// (defaults, profile, file, env, flags): what `config.get` reports under
    /// the KV layer.
    pub base: Resolved,
    /// Services the binary can run (`config.set services …` must name only
    /// these); empty: not checked.
    pub known_services: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let profile =
            trader_config::builtin(trader_config::DEFAULT_PROFILE).expect("built-in profile");
        Config {
            stream: StreamSettings::default(),
            base: Resolved::new(&profile).expect("built-in profile is valid"),
            known_services: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Bus(#[from] BusError),
}

pub(crate) struct Ctx {
    pub config: Config,
    pub bucket: ConfigBucket,
}

impl Ctx {
    pub fn active(&self) -> &str {
        &self.config.base.profile
    }

    /// A profile's settings with KV on top: the running one over its own
    /// layers, another over its built-in values (file, env and flags belong
    /// to the process that runs it).
    pub fn resolve(&self, profile: &str) -> Result<Resolved, ServiceError> {
        if profile == self.active() {
            return Ok(self.bucket.over(&self.config.base));
        }
        let base = match trader_config::builtin(profile) {
            Some(p) => p,
            None => {
                let p = Profile::custom(profile)
                    .map_err(|e| ServiceError::bad_request(e.to_string()))?;
                if !self.bucket.profiles().iter().any(|n| n == profile) {
                    return Err(ServiceError::not_found(format!(
                        "no profile {profile:?}: not built in and no keys in the config bucket"
                    )));
                }
                p
            }
        };
        let base = Resolved::new(&base).map_err(|e| ServiceError::internal(e.to_string()))?;
        Ok(self.bucket.over(&base))
    }

    pub fn known_services(&self) -> Vec<&str> {
        self.config
            .known_services
            .iter()
            .map(String::as_str)
            .collect()
    }
}

pub async fn run(
    config: Config,
    client: Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let runner = Runner::new(
        client,
        ServiceSpec::new(
            subjects::config::SERVICE,
            VERSION,
            "Configuration: profiles and settings in the config KV bucket, layered, validated, watched live",
        ),
    );
    bus::runner::run(runner, shutdown, |runner| setup(config, runner)).await
}

async fn setup(config: Config, mut runner: Runner) -> Result<Runner, Error> {
    let bucket = ConfigBucket::open(
        runner.js(),
        config.stream.replicas,
        None,
        runner.stop_signal(),
    )
    .await?;
    let ctx = Arc::new(Ctx { config, bucket });
    runner.spawn(
        "restart-notes",
        restart_notes(ctx.clone(), runner.stop_signal()),
    );
    runner.serve(handlers::endpoints(ctx)).await?;
    Ok(runner)
}

/// Says in the log which changes to the running profile wait for a restart
/// (the live ones are logged by the services that apply them).
async fn restart_notes(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut changes = ctx.bucket.changes();
    let mut current = ctx.bucket.over(&ctx.config.base);
    loop {
        tokio::select! {
            _ = bus::follow::stopped(&mut stop) => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        let next = ctx.bucket.over(&ctx.config.base);
        for key in bus::live_config::changed_keys(&current, &next) {
            let value = next.settings.get(key).unwrap_or_default();
            match trader_config::spec(key).map(|s| s.applies) {
                Ok(Applies::Restart) => tracing::warn!(profile = ctx.active(), key, %value,
                    "config changed in KV; needs a restart of trader run to apply"),
                _ => {
                    tracing::info!(profile = ctx.active(), key, %value, "config changed in KV; applied live")
                }
            }
        }
        current = next;
    }
}
