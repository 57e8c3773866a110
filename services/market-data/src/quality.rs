//! Data-quality rules (pure: no I/O). One set of rules for `md.quality.get`,
//! the import report and the live feed's gap detection:
//!
//! - gaps: bar times the [`Calendar`] expects between two stored bars but that
//!   are missing ([`missing_bars`]); a run that is exactly one trading day is
//!   `possible_holiday` (reported, not scored) unless the day is listed in
//!   `holidays`, which is then not expected at all;
//! - outliers: robust z-score of log returns, 0.6745·(r − median)/MAD (MAD 0:
//!   (r − median)/(1.2533·mean absolute deviation)); a spike (an outlier return
//!   followed by an opposite one) flags the spike bar only;
//! - stale: `stale_run` or more bars in a row with the previous bar's O, H, L, C;
//! - OHLC: non-positive prices, high < low, high < max(open, close),
//!   low > min(open, close);
//! - volume: negative, zero, or a robust z-score of ln(1 + volume) past `volume_z`.

use std::collections::{BTreeSet, HashSet};

use bus::api::md::{
    Calendar, Flagged, QualityPart, QualityReport, QualitySummary, QualityThresholds, MAX_FLAGGED,
};
use model::{to_f64, Bar, Decimal, Symbol, Timeframe, UnixNanos};

const DAY_NS: i64 = 86_400 * 1_000_000_000;
const SECOND_NS: i64 = 1_000_000_000;
/// Most expected bar times enumerated per report (a 1s series with a year's
/// hole would be 31 million): past it the gap count is a lower bound.
const MAX_ENUMERATED: u64 = 5_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("invalid session {0:?}: expected HH:MM-HH:MM (UTC), e.g. 13:30-20:00")]
    Session(String),
    #[error("invalid holiday {0:?}: expected YYYY-MM-DD")]
    Holiday(String),
}

/// A [`Calendar`] ready to answer "is this bar time a trading time?".
#[derive(Debug, Clone)]
pub struct TradingCalendar {
    weekends: bool,
    /// Session start and end, seconds after midnight UTC.
    session: Option<(i64, i64)>,
    /// Closed days, as days since the epoch.
    holidays: HashSet<i64>,
}

impl TradingCalendar {
    pub fn new(calendar: &Calendar) -> Result<Self, CalendarError> {
        let session = match &calendar.session {
            None => None,
            Some(s) => Some(parse_session(s).ok_or_else(|| CalendarError::Session(s.clone()))?),
        };
        let mut holidays = HashSet::new();
        for h in &calendar.holidays {
            let ts = UnixNanos::parse(h).map_err(|_| CalendarError::Holiday(h.clone()))?;
            holidays.insert(ts.0.div_euclid(DAY_NS));
        }
        Ok(TradingCalendar {
            weekends: calendar.weekends,
            session,
            holidays,
        })
    }

    /// Whether a bar of `timeframe` opening at `ts` is expected.
    pub fn is_open(&self, ts: UnixNanos, timeframe: Timeframe) -> bool {
        let day = ts.0.div_euclid(DAY_NS);
        if timeframe.seconds() >= 7 * 86_400 {
            return true;
        }
        // 1970-01-01 was a Thursday: 0 = Monday … 5 = Saturday, 6 = Sunday.
        let weekday = (day + 3).rem_euclid(7);
        if !self.weekends && weekday >= 5 {
            return false;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        if timeframe.seconds() >= 86_400 {
            return true;
        }
        match self.session {
            None => true,
            Some((start, end)) => {
                let tod = ts.0.rem_euclid(DAY_NS) / SECOND_NS;
                if start <= end {
                    tod >= start && tod < end
                } else {
                    tod >= start || tod < end
                }
            }
        }
    }

    /// Trading bar times of `timeframe` that open on the day of `ts`.
    fn open_slots_on_day(&self, ts: UnixNanos, timeframe: Timeframe) -> u64 {
        let step = timeframe.nanos();
        if step >= DAY_NS {
            return u64::from(self.is_open(ts, timeframe));
        }
        let start = ts.0.div_euclid(DAY_NS) * DAY_NS;
        (0..DAY_NS / step)
            .filter(|k| self.is_open(UnixNanos(start + k * step), timeframe))
            .count() as u64
    }
}

fn parse_session(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.trim().split_once('-')?;
    let hm = |t: &str| -> Option<i64> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 24 * 60)
            .then_some((h * 60 + m) * 60)
    };
    let (start, end) = (hm(a)?, hm(b)?);
    (start != end).then_some((start, end))
}

/// A run of missing bar times between two present bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRun {
    pub times: Vec<UnixNanos>,
    /// Exactly the trading bars of one day (a holiday not in the calendar?).
    pub possible_holiday: bool,
}

/// Bar times the calendar expects strictly between `prev` and `next` (bar open
/// times of the same series), at most `limit` of them. The live feed calls this
/// on every new bar; `assess` on every pair of stored bars.
pub fn missing_bars(
    prev: UnixNanos,
    next: UnixNanos,
    timeframe: Timeframe,
    calendar: &TradingCalendar,
    limit: u64,
) -> MissingRun {
    let step = timeframe.nanos();
    let mut times = Vec::new();
    let mut t = prev.0.saturating_add(step);
    let mut seen = 0u64;
    while t < next.0 && seen < limit {
        seen += 1;
        if calendar.is_open(UnixNanos(t), timeframe) {
            times.push(UnixNanos(t));
        }
        t = t.saturating_add(step);
    }
    let possible_holiday = match (times.first(), times.last()) {
        (Some(first), Some(last))
            if first.0.div_euclid(DAY_NS) == last.0.div_euclid(DAY_NS)
                && timeframe.seconds() <= 86_400 =>
        {
            times.len() as u64 == calendar.open_slots_on_day(*first, timeframe)
        }
        _ => false,
    };
    MissingRun {
        times,
        possible_holiday,
    }
}

/// Applies every rule to `bars` (one series, oldest first).
pub fn assess(
    symbol: &Symbol,
    timeframe: Timeframe,
    bars: &[Bar],
    calendar: &Calendar,
    thresholds: &QualityThresholds,
) -> Result<QualityReport, CalendarError> {
    let cal = TradingCalendar::new(calendar)?;
    let mut gaps = Vec::new();
    let mut holidays = 0u64;
    let mut budget = MAX_ENUMERATED;
    for pair in bars.windows(2) {
        if budget == 0 {
            break;
        }
        let run = missing_bars(pair[0].ts, pair[1].ts, timeframe, &cal, budget);
        let span = ((pair[1].ts.0 - pair[0].ts.0) / timeframe.nanos()).max(1) as u64 - 1;
        budget = budget.saturating_sub(span);
        let kind = if run.possible_holiday {
            holidays += run.times.len() as u64;
            "possible_holiday"
        } else {
            "missing"
        };
        let n = run.times.len();
        for t in run.times {
            gaps.push(flag(
                t,
                kind,
                format!(
                    "no bar between {} and {} ({n} expected)",
                    pair[0].ts.to_rfc3339(),
                    pair[1].ts.to_rfc3339()
                ),
            ));
        }
    }
    let missing = gaps.len() as u64 - holidays;
    let outliers = return_outliers(bars, thresholds.outlier_z);
    let stale = stale_runs(bars, thresholds.stale_run);
    let ohlc: Vec<Flagged> = bars.iter().filter_map(ohlc_violation).collect();
    let volume = volume_anomalies(bars, thresholds.volume_z);

    let expected = bars.len() as u64 + missing;
    let mut flagged: BTreeSet<UnixNanos> = BTreeSet::new();
    for f in gaps
        .iter()
        .filter(|f| f.kind == "missing")
        .chain(&outliers)
        .chain(&stale)
        .chain(&ohlc)
        .chain(&volume)
    {
        flagged.insert(f.ts);
    }
    let score = |count: u64| {
        if expected == 0 {
            100.0
        } else {
            let s = 100.0 * (1.0 - count as f64 / expected as f64);
            (s * 100.0).round() / 100.0
        }
    };
    let part = |mut items: Vec<Flagged>, scored: u64| {
        let count = items.len() as u64;
        items.truncate(MAX_FLAGGED);
        QualityPart {
            count,
            score: score(scored),
            bars: items,
        }
    };
    Ok(QualityReport {
        symbol: symbol.clone(),
        timeframe,
        calendar: calendar.clone(),
        thresholds: thresholds.clone(),
        bars: bars.len() as u64,
        expected,
        first_ts: bars.first().map(|b| b.ts),
        last_ts: bars.last().map(|b| b.ts),
        score: score(flagged.len() as u64),
        possible_holidays: holidays,
        outliers: part(outliers.clone(), outliers.len() as u64),
        stale: part(stale.clone(), stale.len() as u64),
        ohlc: part(ohlc.clone(), ohlc.len() as u64),
        volume: part(volume.clone(), volume.len() as u64),
        gaps: part(gaps, missing),
    })
}

/// The short form of a report (for import reports).
pub fn summary(r: &QualityReport) -> QualitySummary {
    QualitySummary {
        score: r.score,
        gaps: r.gaps.count - r.possible_holidays,
        possible_holidays: r.possible_holidays,
        outliers: r.outliers.count,
        stale: r.stale.count,
        ohlc: r.ohlc.count,
        volume: r.volume.count,
    }
}

fn flag(ts: UnixNanos, kind: &str, detail: String) -> Flagged {
    Flagged {
        ts,
        kind: kind.to_string(),
        detail,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Robust z-scores of `values` (None where a value is None).
fn robust_z(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut finite: Vec<f64> = values.iter().flatten().copied().collect();
    if finite.len() < 3 {
        return vec![None; values.len()];
    }
    let med = median(&mut finite);
    let mut dev: Vec<f64> = finite.iter().map(|v| (v - med).abs()).collect();
    let mean_dev = dev.iter().sum::<f64>() / dev.len() as f64;
    let mad = median(&mut dev);
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        1.253314 * mean_dev
    };
    values
        .iter()
        .map(|v| v.and_then(|v| (scale > 0.0).then(|| (v - med) / scale)))
        .collect()
}

fn return_outliers(bars: &[Bar], threshold: f64) -> Vec<Flagged> {
    let closes: Vec<Option<f64>> = bars
        .iter()
        .map(|b| (b.close > Decimal::ZERO).then(|| to_f64(b.close)))
        .collect();
    // returns[i] is the return into bar i (None for the first bar).
    let returns: Vec<Option<f64>> = (0..bars.len())
        .map(
            |i| match (i.checked_sub(1).and_then(|p| closes[p]), closes[i]) {
                (Some(a), Some(b)) => Some((b / a).ln()),
                _ => None,
            },
        )
        .collect();
    let z = robust_z(&returns);
    let hit = |i: usize| z.get(i).copied().flatten().filter(|z| z.abs() > threshold);
    let mut out = Vec::new();
    let mut i = 1;
    while i < bars.len() {
        if let Some(zi) = hit(i) {
            let r = returns[i].unwrap_or_default();
            let spike = hit(i + 1).is_some_and(|zn| zn.signum() != zi.signum());
            let detail = if spike {
                format!(
                    "spike: return {r:.4} then {:.4} (robust z {zi:.1})",
                    returns[i + 1].unwrap_or_default()
                )
            } else {
                format!("return {r:.4} (robust z {zi:.1})")
            };
            out.push(flag(bars[i].ts, "return_outlier", detail));
            i += if spike { 2 } else { 1 };
        } else {
            i += 1;
        }
    }
    out
}

fn stale_runs(bars: &[Bar], min_run: u32) -> Vec<Flagged> {
    let same = |a: &Bar, b: &Bar| {
        a.open == b.open && a.high == b.high && a.low == b.low && a.close == b.close
    };
    let mut out = Vec::new();
    let mut i = 1;
    while i < bars.len() {
        let start = i;
        while i < bars.len() && same(&bars[i], &bars[i - 1]) {
            i += 1;
        }
        let run = i - start;
        if run > 0 && run as u32 >= min_run.max(1) {
            for b in &bars[start..i] {
                out.push(flag(
                    b.ts,
                    "repeated_prices",
                    format!(
                        "same open/high/low/close {} as the {run} bar(s) before it since {}",
                        b.close,
                        bars[start - 1].ts.to_rfc3339()
                    ),
                ));
            }
        }
        if i == start {
            i += 1;
        }
    }
    out
}

fn ohlc_violation(b: &Bar) -> Option<Flagged> {
    let zero = Decimal::ZERO;
    let (kind, detail) = if b.open <= zero || b.high <= zero || b.low <= zero || b.close <= zero {
        ("non_positive_price", "a price is zero or negative")
    } else if b.high < b.low {
        ("high_below_low", "high is below low")
    } else if b.high < b.open.max(b.close) {
        ("high_below_open_close", "high is below max(open, close)")
    } else if b.low > b.open.min(b.close) {
        ("low_above_open_close", "low is above min(open, close)")
    } else {
        return None;
    };
    Some(flag(
        b.ts,
        kind,
        format!(
            "{detail}: o {} h {} l {} c {}",
            b.open, b.high, b.low, b.close
        ),
    ))
}

fn volume_anomalies(bars: &[Bar], threshold: f64) -> Vec<Flagged> {
    let logs: Vec<Option<f64>> = bars
        .iter()
        .map(|b| (b.volume > Decimal::ZERO).then(|| to_f64(b.volume).ln_1p()))
        .collect();
    let z = robust_z(&logs);
    bars.iter()
        .zip(z)
        .filter_map(|(b, z)| {
            if b.volume < Decimal::ZERO {
                Some(flag(
                    b.ts,
                    "negative_volume",
                    format!("volume {}", b.volume),
                ))
            } else if b.volume == Decimal::ZERO {
                Some(flag(b.ts, "zero_volume", "volume 0".to_string()))
            } else {
                z.filter(|z| z.abs() > threshold).map(|z| {
                    flag(
                        b.ts,
                        "volume_outlier",
                        format!("volume {} (robust z of ln(1+v) {z:.1})", b.volume),
                    )
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(weekends: bool, session: Option<&str>) -> TradingCalendar {
        TradingCalendar::new(&Calendar {
            weekends,
            session: session.map(str::to_string),
            holidays: vec!["2024-12-25".into()],
        })
        .unwrap()
    }

    fn t(s: &str) -> UnixNanos {
        UnixNanos::parse(s).unwrap()
    }

    #[test]
    fn calendar_days_and_sessions() {
        let c = cal(false, Some("14:30-21:00"));
        let m = Timeframe::parse("1m").unwrap();
        assert!(c.is_open(t("2024-12-20"), Timeframe::DAY)); // Friday
        assert!(!c.is_open(t("2024-12-21"), Timeframe::DAY)); // Saturday
        assert!(!c.is_open(t("2024-12-22"), Timeframe::DAY)); // Sunday
        assert!(!c.is_open(t("2024-12-25"), Timeframe::DAY)); // holiday
        assert!(c.is_open(t("2024-12-20T14:30:00Z"), m));
        assert!(!c.is_open(t("2024-12-20T14:29:00Z"), m));
        assert!(!c.is_open(t("2024-12-20T21:00:00Z"), m));
        let overnight = cal(true, Some("22:00-21:00"));
        assert!(overnight.is_open(t("2024-12-21T23:00:00Z"), m));
        assert!(!overnight.is_open(t("2024-12-21T21:30:00Z"), m));
        for bad in ["9-17", "25:00-26:00", "10:00-10:00", "10:60-11:00"] {
            assert!(
                TradingCalendar::new(&Calendar {
                    session: Some(bad.into()),
                    ..Default::default()
                })
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn missing_bars_skip_closed_times() {
        let c = cal(false, None);
        // Friday → Tuesday: Monday missing, the weekend is not.
        let run = missing_bars(t("2024-12-20"), t("2024-12-24"), Timeframe::DAY, &c, 100);
        assert_eq!(run.times, vec![t("2024-12-23")]);
        assert!(run.possible_holiday);
        // Tuesday → Friday over the 25th (a listed holiday): Thursday missing.
        let run = missing_bars(t("2024-12-24"), t("2024-12-27"), Timeframe::DAY, &c, 100);
        assert_eq!(run.times, vec![t("2024-12-26")]);
        let run = missing_bars(t("2024-12-16"), t("2024-12-20"), Timeframe::DAY, &c, 100);
        assert_eq!(run.times.len(), 3);
        assert!(!run.possible_holiday);
    }
}
