//! The service's view of the MARKET stream: every bar by series and time, and the
//! last quote per symbol. It is a projection: rebuilt from the stream at start
//! (see `projection.rs`), never written by request handlers directly, so every
//! instance converges on the same view.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bus::api::md::{SeriesInfo, SymbolInfo};
use model::{Bar, Quote, Symbol, Timeframe, UnixNanos};
use parking_lot::RwLock;
use tokio::sync::watch;

type SeriesKey = (Symbol, Timeframe);

#[derive(Default)]
struct Inner {
    series: HashMap<SeriesKey, BTreeMap<UnixNanos, Bar>>,
    quotes: HashMap<Symbol, Quote>,
}

pub struct MarketState {
    inner: RwLock<Inner>,
    /// Stream sequence applied so far.
    applied: watch::Sender<u64>,
}

impl Default for MarketState {
    fn default() -> Self {
        MarketState {
            inner: RwLock::default(),
            applied: watch::channel(0).0,
        }
    }
}

impl MarketState {
    pub fn apply_bar(&self, bar: Bar) {
        let mut inner = self.inner.write();
        let close_time = UnixNanos(bar.ts.0.saturating_add(bar.timeframe.nanos()));
        // A tick at the bar's close time is a better quote than the close itself.
        let newer = inner
            .quotes
            .get(&bar.symbol)
            .is_none_or(|q| close_time > q.ts);
        if newer {
            inner.quotes.insert(
                bar.symbol.clone(),
                Quote {
                    symbol: bar.symbol.clone(),
                    ts: close_time,
                    bid: bar.close,
                    ask: bar.close,
                    last: bar.close,
                },
            );
        }
        // One bar per (series, time): a re-published bar replaces the old one.
        inner
            .series
            .entry((bar.symbol.clone(), bar.timeframe))
            .or_default()
            .insert(bar.ts, bar);
    }

    pub fn apply_quote(&self, quote: Quote) {
        let mut inner = self.inner.write();
        let newer = inner
            .quotes
            .get(&quote.symbol)
            .is_none_or(|q| quote.ts >= q.ts);
        if newer {
            inner.quotes.insert(quote.symbol.clone(), quote);
        }
    }

    pub fn mark_applied(&self, sequence: u64) {
        self.applied.send_if_modified(|s| {
            if sequence > *s {
                *s = sequence;
                true
            } else {
                false
            }
        });
    }

    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the projection has applied `sequence`; false on timeout.
    pub async fn wait_applied(&self, sequence: u64, timeout: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s >= sequence))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn quote(&self, symbol: &Symbol) -> Option<Quote> {
        self.inner.read().quotes.get(symbol).cloned()
    }

    pub fn has_bar(&self, symbol: &Symbol, timeframe: Timeframe, ts: UnixNanos) -> bool {
        self.inner
            .read()
            .series
            .get(&(symbol.clone(), timeframe))
            .is_some_and(|s| s.contains_key(&ts))
    }

    /// Bars with `from <= ts <= to`, oldest first, at most `limit`; the second
    /// value is the time of the first bar left out, if any.
    pub fn bars(
        &self,
        symbol: &Symbol,
        timeframe: Timeframe,
        from: UnixNanos,
        to: UnixNanos,
        limit: usize,
    ) -> Option<(Vec<Bar>, Option<UnixNanos>)> {
        let inner = self.inner.read();
        let series = inner.series.get(&(symbol.clone(), timeframe))?;
        let mut range = series.range(from..=to);
        let bars: Vec<Bar> = range.by_ref().take(limit).map(|(_, b)| b.clone()).collect();
        let next = range.next().map(|(ts, _)| *ts);
        Some((bars, next))
    }

    /// Timeframes stored for a symbol (for error messages).
    pub fn timeframes_of(&self, symbol: &Symbol) -> Vec<Timeframe> {
        let inner = self.inner.read();
        let mut tfs: Vec<Timeframe> = inner
            .series
            .keys()
            .filter(|(s, _)| s == symbol)
            .map(|(_, tf)| *tf)
            .collect();
        tfs.sort();
        tfs
    }

    pub fn symbols(&self) -> Vec<SymbolInfo> {
        let inner = self.inner.read();
        let mut by_symbol: BTreeMap<Symbol, Vec<SeriesInfo>> = BTreeMap::new();
        for ((symbol, timeframe), bars) in &inner.series {
            let (Some((first, _)), Some((last, _))) =
                (bars.first_key_value(), bars.last_key_value())
            else {
                continue;
            };
            by_symbol
                .entry(symbol.clone())
                .or_default()
                .push(SeriesInfo {
                    timeframe: *timeframe,
                    bars: bars.len() as u64,
                    first_ts: *first,
                    last_ts: *last,
                });
        }
        for symbol in inner.quotes.keys() {
            by_symbol.entry(symbol.clone()).or_default();
        }
        by_symbol
            .into_iter()
            .map(|(symbol, mut series)| {
                series.sort_by_key(|s| s.timeframe);
                let quote = inner.quotes.get(&symbol);
                SymbolInfo {
                    last: quote.map(|q| q.last),
                    last_ts: quote.map(|q| q.ts),
                    symbol,
                    series,
                }
            })
            .collect()
    }
}
