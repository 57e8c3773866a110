//! The live feed's command-line flags (the `market-data` binary and `trader run`).

use bus::api::md::Calendar;
use model::{Symbol, Timeframe};

use super::{LiveFeedConfig, Venue};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct LiveArgs {
    /// Run the live market-data feed of this venue's kind (`alpaca`); off when unset.
    /// Keys from APCA_API_KEY_ID / APCA_API_SECRET_KEY.
    #[arg(long, env = "TRADER_LIVE_FEED")]
    pub live_feed: Option<String>,
    /// The feed's WebSocket stream URL (ws://…).
    #[arg(long, env = "TRADER_LIVE_URL")]
    pub live_url: Option<String>,
    /// The venue's REST base URL (http://…) for backfilling gaps; unset: gaps are only logged.
    #[arg(long, env = "TRADER_LIVE_REST_URL")]
    pub live_rest_url: Option<String>,
    /// Symbols to subscribe to (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub live_symbols: Vec<String>,
    /// Bars to build from trades (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1m")]
    pub live_timeframes: Vec<String>,
    /// Trading session for gap detection, HH:MM-HH:MM UTC (default: all day).
    #[arg(long)]
    pub live_session: Option<String>,
    /// Saturdays and Sundays are closed (no gaps there); default: open (crypto).
    #[arg(long)]
    pub live_weekends_closed: bool,
}

impl LiveArgs {
    /// The feed's configuration, `None` when `--live-feed` is unset.
    pub fn config(&self) -> Result<Option<LiveFeedConfig>, String> {
        let Some(venue) = &self.live_feed else {
            return Ok(None);
        };
        let venue: Venue = venue.parse()?;
        let url = self
            .live_url
            .clone()
            .ok_or("--live-feed needs --live-url (the stream's ws:// URL)")?;
        if self.live_symbols.is_empty() {
            return Err("--live-feed needs --live-symbols".into());
        }
        let symbols = self
            .live_symbols
            .iter()
            .map(|s| Symbol::new(s).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = LiveFeedConfig::new(venue, url, symbols);
        config.rest_url = self.live_rest_url.clone();
        config.timeframes = self
            .live_timeframes
            .iter()
            .map(|t| Timeframe::parse(t).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        config.calendar = Calendar {
            weekends: !self.live_weekends_closed,
            session: self.live_session.clone(),
            holidays: Vec::new(),
        };
        crate::quality::TradingCalendar::new(&config.calendar).map_err(|e| e.to_string())?;
        Ok(Some(config))
    }
}
