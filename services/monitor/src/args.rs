//! The monitor's command-line options, shared by its binary and `trader run`.

use std::time::Duration;

use crate::Config;

/// The monitor's own options (also `trader run`'s).
#[derive(clap::Args, Debug, Clone)]
pub struct MonitorArgs {
    /// nats-server's HTTP monitoring URL (e.g. http://127.0.0.1:8222) for the
    /// server's view in monitor.status: connections, cluster peers, leaf links.
    #[arg(long, env = "TRADER_SERVER_MONITOR_URL")]
    pub server_monitor_url: Option<String>,
    /// Seconds between SYSTEM_HEALTH samples (and alert checks).
    #[arg(long, default_value_t = 5.0)]
    pub health_interval: f64,
    /// Error replies per thousand requests in one interval that raise an alert.
    #[arg(long, default_value_t = 200)]
    pub alert_error_permille: u64,
    /// Fewer requests in an interval never raise an error-rate alert.
    #[arg(long, default_value_t = 20)]
    pub alert_min_requests: u64,
    /// Consumer lag (pending + unacknowledged) that raises an alert.
    #[arg(long, default_value_t = 1000)]
    pub alert_consumer_lag: u64,
}

impl MonitorArgs {
    /// Applies the options to `config`; a bad interval is an error.
    pub fn apply(&self, config: &mut Config) -> Result<(), String> {
        if !(self.health_interval.is_finite() && self.health_interval >= 0.05) {
            return Err(format!(
                "--health-interval must be at least 0.05 seconds, got {}",
                self.health_interval
            ));
        }
        config.interval = Duration::from_secs_f64(self.health_interval);
        config.server_monitor_url = self.server_monitor_url.clone();
        config.thresholds.max_error_permille = self.alert_error_permille;
        config.thresholds.min_requests = self.alert_min_requests;
        config.thresholds.max_consumer_lag = self.alert_consumer_lag;
        Ok(())
    }
}
