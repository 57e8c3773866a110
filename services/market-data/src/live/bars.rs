//! Bars from trades, and what to do with each (pure): publish a bar built from
//! the stream, or take it from the venue's REST bars because the stream missed
//! part of it.
//!
//! Rules, per symbol:
//! - a trade id seen before is a duplicate (dropped);
//! - a trade older than the bar being built, or of a bar already closed, is late
//!   (dropped);
//! - a bar closes when the first trade of a later interval arrives;
//! - a hole between the last closed bar and the new one, as the calendar sees it
//!   ([`crate::quality::missing_bars`], the same rule as `md.quality.get`), is a
//!   gap: those bars are backfilled and their span is *tainted*;
//! - a disconnect drops the bars being built and taints everything from the
//!   oldest of them up to the end of the first interval traded after the
//!   reconnect (its start may have been missed);
//! - a bar (of any timeframe) whose interval overlaps a tainted span is
//!   backfilled, not published from the stream.

use std::collections::{HashMap, HashSet, VecDeque};

use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};

use crate::quality::{missing_bars, TradingCalendar};

/// Trade ids remembered per symbol for de-duplication.
const SEEN_IDS: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Publish(Bar),
    Backfill {
        symbol: Symbol,
        timeframe: Timeframe,
        times: Vec<UnixNanos>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeOutcome {
    Applied,
    Duplicate,
    Late,
}

struct Series {
    timeframe: Timeframe,
    current: Option<Bar>,
    last_closed: Option<UnixNanos>,
}

#[derive(Default)]
struct SymbolBook {
    series: Vec<Series>,
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    tainted: Vec<(i64, i64)>,
    outage_since: Option<i64>,
}

pub struct BarBook {
    timeframes: Vec<Timeframe>,
    calendar: TradingCalendar,
    symbols: HashMap<Symbol, SymbolBook>,
}

impl BarBook {
    pub fn new(mut timeframes: Vec<Timeframe>, calendar: TradingCalendar) -> Self {
        timeframes.sort();
        timeframes.dedup();
        BarBook {
            timeframes,
            calendar,
            symbols: HashMap::new(),
        }
    }

    pub fn trade(
        &mut self,
        symbol: &Symbol,
        id: u64,
        price: Decimal,
        size: Decimal,
        ts: UnixNanos,
        actions: &mut Vec<Action>,
    ) -> TradeOutcome {
        let timeframes = &self.timeframes;
        let book = self
            .symbols
            .entry(symbol.clone())
            .or_insert_with(|| SymbolBook {
                series: timeframes
                    .iter()
                    .map(|&timeframe| Series {
                        timeframe,
                        current: None,
                        last_closed: None,
                    })
                    .collect(),
                ..Default::default()
            });
        if book.seen.contains(&id) {
            return TradeOutcome::Duplicate;
        }
        // Late for the finest series is late for all (coarser bars started earlier).
        let finest = &book.series[0];
        let bucket0 = bucket(ts, finest.timeframe);
        let late = match (&finest.current, finest.last_closed) {
            (Some(cur), _) => bucket0 < cur.ts.0,
            (None, Some(last)) => bucket0 <= last.0,
            (None, None) => false,
        };
        if late {
            return TradeOutcome::Late;
        }
        book.seen.insert(id);
        book.order.push_back(id);
        if book.order.len() > SEEN_IDS {
            if let Some(old) = book.order.pop_front() {
                book.seen.remove(&old);
            }
        }
        if let Some(since) = book.outage_since.take() {
            let end = bucket0 + finest.timeframe.nanos();
            book.tainted.push((since, end));
        }
        for i in 0..book.series.len() {
            let tf = book.series[i].timeframe;
            let b = bucket(ts, tf);
            let series = &mut book.series[i];
            let same = series.current.as_ref().is_some_and(|c| c.ts.0 == b);
            if same {
                if let Some(cur) = series.current.as_mut() {
                    cur.high = cur.high.max(price);
                    cur.low = cur.low.min(price);
                    cur.close = price;
                    cur.volume += size;
                }
                continue;
            }
            // A later interval: close the current bar, look for a hole.
            if let Some(closed) = series.current.take() {
                series.last_closed = Some(closed.ts);
                let end = closed.ts.0 + tf.nanos();
                if overlaps(&book.tainted, closed.ts.0, end) {
                    actions.push(Action::Backfill {
                        symbol: symbol.clone(),
                        timeframe: tf,
                        times: vec![closed.ts],
                    });
                } else {
                    actions.push(Action::Publish(closed));
                }
            }
            let series = &mut book.series[i];
            if let Some(last) = series.last_closed {
                let run = missing_bars(last, UnixNanos(b), tf, &self.calendar, 1_000_000);
                if let (Some(first), Some(end)) = (run.times.first(), run.times.last()) {
                    book.tainted.push((first.0, end.0 + tf.nanos()));
                    actions.push(Action::Backfill {
                        symbol: symbol.clone(),
                        timeframe: tf,
                        times: run.times,
                    });
                }
            }
            book.series[i].current = Some(Bar {
                symbol: symbol.clone(),
                timeframe: tf,
                ts: UnixNanos(b),
                open: price,
                high: price,
                low: price,
                close: price,
                volume: size,
            });
        }
        // Spans older than every bar being built can no longer matter.
        if let Some(oldest) = book
            .series
            .iter()
            .filter_map(|s| s.current.as_ref())
            .map(|c| c.ts.0)
            .min()
        {
            book.tainted.retain(|&(_, end)| end > oldest);
        }
        TradeOutcome::Applied
    }

    /// The connection dropped: bars being built are incomplete.
    pub fn disconnected(&mut self) {
        for book in self.symbols.values_mut() {
            let oldest = book
                .series
                .iter_mut()
                .filter_map(|s| {
                    let cur = s.current.take()?;
                    // The interrupted bar counts as missing from now on.
                    Some(cur.ts.0)
                })
                .min();
            if let Some(since) = oldest {
                book.outage_since = Some(book.outage_since.map_or(since, |s| s.min(since)));
            }
        }
    }
}

fn bucket(ts: UnixNanos, tf: Timeframe) -> i64 {
    ts.0.div_euclid(tf.nanos()) * tf.nanos()
}

fn overlaps(spans: &[(i64, i64)], start: i64, end: i64) -> bool {
    spans.iter().any(|&(a, b)| a < end && start < b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::TradingCalendar;

    fn t(min: i64, sec: i64) -> UnixNanos {
        UnixNanos((min * 60 + sec) * 1_000_000_000)
    }

    #[test]
    fn gap_and_outage_backfill() {
        let cal = TradingCalendar::new(&bus::api::md::Calendar::always_open()).unwrap();
        let m1 = Timeframe::parse("1m").unwrap();
        let m5 = Timeframe::parse("5m").unwrap();
        let mut book = BarBook::new(vec![m5, m1], cal);
        let s = Symbol::new("X").unwrap();
        let mut acts = Vec::new();
        let mut id = 0;
        let mut trade = |book: &mut BarBook, min, acts: &mut Vec<Action>| {
            id += 1;
            book.trade(&s, id, Decimal::ONE, Decimal::ONE, t(min, 1), acts)
        };
        for min in [0, 1, 3, 4, 5] {
            trade(&mut book, min, &mut acts);
        }
        // 0, 1 published; 2 missing → backfill; 3, 4 published; 5m bucket 0 backfilled (tainted by 2).
        let summary: Vec<String> = acts
            .iter()
            .map(|a| match a {
                Action::Publish(b) => format!("pub {} {}", b.timeframe, b.ts.0 / 60_000_000_000),
                Action::Backfill {
                    timeframe, times, ..
                } => format!(
                    "fill {timeframe} {:?}",
                    times
                        .iter()
                        .map(|t| t.0 / 60_000_000_000)
                        .collect::<Vec<_>>()
                ),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "pub 1m 0",
                "pub 1m 1",
                "fill 1m [2]",
                "pub 1m 3",
                "pub 1m 4",
                "fill 5m [0]"
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
        );
        acts.clear();
        book.disconnected();
        trade(&mut book, 6, &mut acts);
        trade(&mut book, 7, &mut acts);
        trade(&mut book, 10, &mut acts);
        let summary: Vec<String> = acts
            .iter()
            .map(|a| match a {
                Action::Publish(b) => format!("pub {} {}", b.timeframe, b.ts.0 / 60_000_000_000),
                Action::Backfill {
                    timeframe, times, ..
                } => format!(
                    "fill {timeframe} {:?}",
                    times
                        .iter()
                        .map(|t| t.0 / 60_000_000_000)
                        .collect::<Vec<_>>()
                ),
            })
            .collect();
        // 5 was interrupted (missing), 6 is suspect, 7 is clean, 8–9 gap.
        assert_eq!(
            summary,
            [
                "fill 1m [5]",
                "fill 1m [6]",
                "pub 1m 7",
                "fill 1m [8, 9]",
                "fill 5m [5]"
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
        );
        assert_eq!(trade(&mut book, 3, &mut acts), TradeOutcome::Late);
    }
}
