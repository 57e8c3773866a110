//! News per symbol, scored as it arrives from NEWS, and the decayed
//! aggregate `sentiment.symbol.get` answers. Pure apart from the lock the
//! service keeps it behind.

use std::collections::{HashMap, HashSet};

use bus::api::sentiment::{label, NewsItem, ScoredNews, SymbolSentiment};
use model::time::NANOS_PER_SECOND;
use model::{Symbol, UnixNanos};

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    ts: UnixNanos,
    headline: String,
    compound: f64,
}

/// Every news item seen, by symbol (oldest first).
#[derive(Debug, Default)]
pub struct NewsIndex {
    by_symbol: HashMap<Symbol, Vec<Entry>>,
    seen: HashSet<String>,
}

impl NewsIndex {
    /// Adds an item scored `compound`; an id seen before is ignored.
    pub fn add(&mut self, item: &NewsItem, compound: f64) {
        if !self.seen.insert(item.id.clone()) {
            return;
        }
        for symbol in &item.symbols {
            let list = self.by_symbol.entry(symbol.clone()).or_default();
            let entry = Entry {
                id: item.id.clone(),
                ts: item.ts,
                headline: item.headline.clone(),
                compound,
            };
            let at = list.partition_point(|e| e.ts <= item.ts);
            list.insert(at, entry);
        }
    }

    /// `Σ wᵢ·sᵢ / Σ wᵢ` over the items with `at - window <= ts <= at`, where
    /// an item of age `a` weighs `0.5^(a / half_life)`.
    pub fn aggregate(
        &self,
        symbol: &Symbol,
        at: UnixNanos,
        window_secs: u64,
        half_life_secs: u64,
    ) -> SymbolSentiment {
        let from =
            at.0.saturating_sub((window_secs as i64).saturating_mul(NANOS_PER_SECOND));
        let half_life_ns = half_life_secs as f64 * NANOS_PER_SECOND as f64;
        let mut items = Vec::new();
        let (mut weighted, mut weight) = (0.0, 0.0);
        for e in self.by_symbol.get(symbol).into_iter().flatten() {
            if e.ts.0 < from || e.ts.0 > at.0 {
                continue;
            }
            let age = (at.0 - e.ts.0) as f64;
            let w = 0.5f64.powf(age / half_life_ns);
            weighted += w * e.compound;
            weight += w;
            items.push(ScoredNews {
                id: e.id.clone(),
                ts: e.ts,
                headline: e.headline.clone(),
                compound: e.compound,
                weight: w,
            });
        }
        items.reverse();
        let score = if weight > 0.0 { weighted / weight } else { 0.0 };
        SymbolSentiment {
            symbol: symbol.clone(),
            score,
            label: label(score).to_string(),
            count: items.len(),
            weight,
            window_secs,
            half_life_secs,
            at,
            items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, secs: i64, symbols: &[&str]) -> NewsItem {
        NewsItem {
            id: id.to_string(),
            ts: UnixNanos::from_seconds(secs),
            headline: id.to_string(),
            body: None,
            symbols: symbols.iter().map(|s| Symbol::new(s).unwrap()).collect(),
            source: None,
        }
    }

    #[test]
    fn decayed_mean_by_hand() {
        let mut index = NewsIndex::default();
        index.add(&item("a", 1_000, &["ACME"]), 0.8);
        index.add(&item("b", 1_000 + 3_600, &["ACME", "OTHER"]), -0.4);
        index.add(&item("b", 1_000 + 3_600, &["ACME"]), -0.4); // repeat: ignored
        index.add(&item("old", 0, &["ACME"]), 1.0); // outside the window
        let acme = Symbol::new("ACME").unwrap();
        // at = b + 1 h, half-life 1 h: w(b) = 0.5, w(a) = 0.25.
        let s = index.aggregate(&acme, UnixNanos::from_seconds(1_000 + 7_200), 7_200, 3_600);
        assert_eq!(s.count, 2);
        assert!((s.weight - 0.75).abs() < 1e-12);
        let expected = (0.25 * 0.8 + 0.5 * -0.4) / 0.75;
        assert!((s.score - expected).abs() < 1e-12, "{}", s.score);
        assert_eq!(s.items[0].id, "b");
        let none = index.aggregate(&Symbol::new("NONE").unwrap(), UnixNanos(0), 10, 10);
        assert_eq!((none.count, none.score), (0, 0.0));
    }
}
