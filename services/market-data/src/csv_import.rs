//! Parsing and validating OHLCV CSV files (pure: no I/O).
//!
//! Header `Date,Open,High,Low,Close,Volume`, matched case-insensitively; other
//! columns (e.g. `Adj Close`) are ignored. Each data row becomes a [`Bar`] or a
//! [`RowReject`] with a machine-readable reason. Rows must be in strictly
//! increasing time order: a repeated time is `duplicate_timestamp`, an earlier
//! one `out_of_order_timestamp` (both judged against the rows accepted so far).

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use bus::api::md::{ImportMode, ImportReport, RowReject, MAX_REPORTED_REJECTS};
use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};

/// A file-level problem: the CSV cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the CSV is empty")]
    Empty,
    #[error("the CSV header lacks column(s) {missing:?}; expected Date,Open,High,Low,Close,Volume (found {found:?})")]
    MissingColumns {
        missing: Vec<&'static str>,
        found: Vec<String>,
    },
    #[error("the CSV cannot be read: {0}")]
    Unreadable(String),
}

/// Valid bars in file order, and the report (published/duplicates still zero).
pub struct Parsed {
    pub bars: Vec<Bar>,
    pub report: ImportReport,
}

const COLUMNS: [&str; 6] = ["date", "open", "high", "low", "close", "volume"];

pub fn parse(
    text: &str,
    symbol: &Symbol,
    timeframe: Timeframe,
    mode: ImportMode,
) -> Result<Parsed, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| CsvError::Unreadable(e.to_string()))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(CsvError::Empty);
    }
    let found: Vec<String> = header.iter().map(str::to_string).collect();
    let position = |name: &str| found.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut index = [0usize; 6];
    let mut missing = Vec::new();
    for (i, name) in COLUMNS.iter().enumerate() {
        match position(name) {
            Some(p) => index[i] = p,
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        // The header is echoed back: a hostile one must not make the reply
        // bigger than a message may be.
        let found = found
            .iter()
            .take(MAX_SHOWN_COLUMNS)
            .map(|h| shorten(h))
            .collect();
        return Err(CsvError::MissingColumns { missing, found });
    }

    let mut report = ImportReport {
        symbol: symbol.clone(),
        timeframe,
        mode,
        rows: 0,
        valid: 0,
        published: 0,
        duplicates: 0,
        rejected: 0,
        rejects_by_reason: BTreeMap::new(),
        rejects: Vec::new(),
        first_ts: None,
        last_ts: None,
        quality: None,
    };
    let mut bars = Vec::new();
    let mut seen = HashSet::new();
    let mut last_ts: Option<UnixNanos> = None;

    for record in reader.records() {
        let record = record.map_err(|e| CsvError::Unreadable(e.to_string()))?;
        if record.iter().all(str::is_empty) {
            continue; // blank line
        }
        report.rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let outcome = parse_row(&record, &index, symbol, timeframe).and_then(|bar| match last_ts {
            Some(prev) if bar.ts == prev || seen.contains(&bar.ts) => Err((
                "duplicate_timestamp",
                format!("time {} appears twice", bar.ts),
            )),
            Some(prev) if bar.ts < prev => Err((
                "out_of_order_timestamp",
                format!("time {} comes after {prev}", bar.ts),
            )),
            _ => Ok(bar),
        });
        match outcome {
            Ok(bar) => {
                last_ts = Some(bar.ts);
                seen.insert(bar.ts);
                report.first_ts.get_or_insert(bar.ts);
                report.last_ts = Some(bar.ts);
                bars.push(bar);
            }
            Err((reason, message)) => {
                report.rejected += 1;
                *report
                    .rejects_by_reason
                    .entry(reason.to_string())
                    .or_default() += 1;
                if report.rejects.len() < MAX_REPORTED_REJECTS {
                    report.rejects.push(RowReject {
                        line,
                        reason: reason.to_string(),
                        message: shorten(&message),
                    });
                }
            }
        }
    }
    report.valid = bars.len() as u64;
    Ok(Parsed { bars, report })
}

type RowError = (&'static str, String);

/// Header columns an error shows at most.
const MAX_SHOWN_COLUMNS: usize = 12;
/// Characters of a value (or message) an error shows at most.
const MAX_SHOWN_CHARS: usize = 120;

/// `s`, cut to [`MAX_SHOWN_CHARS`] characters with `…` when longer: reports
/// and errors quote the file, and a hostile file has lines of megabytes.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

fn parse_row(
    record: &csv::StringRecord,
    index: &[usize; 6],
    symbol: &Symbol,
    timeframe: Timeframe,
) -> Result<Bar, RowError> {
    let needed = index.iter().max().copied().unwrap_or(0) + 1;
    if record.len() < needed {
        return Err((
            "wrong_column_count",
            format!("expected at least {needed} columns, found {}", record.len()),
        ));
    }
    let field = |i: usize| record.get(index[i]).unwrap_or("");
    let ts = UnixNanos::parse(field(0)).map_err(|e| ("invalid_timestamp", e.to_string()))?;
    let price = |i: usize| {
        parse_decimal(field(i)).ok_or_else(|| {
            (
                "non_numeric_price",
                format!("{} {:?} is not a number", COLUMNS[i], field(i)),
            )
        })
    };
    let (open, high, low, close) = (price(1)?, price(2)?, price(3)?, price(4)?);
    let volume = parse_decimal(field(5)).ok_or_else(|| {
        (
            "non_numeric_volume",
            format!("volume {:?} is not a number", field(5)),
        )
    })?;
    let bar = Bar {
        symbol: symbol.clone(),
        timeframe,
        ts,
        open,
        high,
        low,
        close,
        volume,
    };
    bar.validate().map_err(|e| (e.reason(), e.to_string()))?;
    Ok(bar)
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    if s.is_empty() {
        return None;
    }
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn run(text: &str) -> Parsed {
        parse(
            text,
            &Symbol::new("T").unwrap(),
            Timeframe::DAY,
            ImportMode::Lenient,
        )
        .unwrap()
    }

    #[test]
    fn a_hostile_header_or_value_is_quoted_short() {
        let header = format!("{}\n2004-08-19,1,2,1,2,5\n", "H".repeat(1 << 20));
        let err = parse(
            &header,
            &Symbol::new("T").unwrap(),
            Timeframe::DAY,
            ImportMode::Lenient,
        )
        .err()
        .expect("no Date column");
        assert!(
            err.to_string().len() < 1024,
            "{} bytes",
            err.to_string().len()
        );
        let many = (0..1000)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let err = parse(
            &format!("{many}\n"),
            &Symbol::new("T").unwrap(),
            Timeframe::DAY,
            ImportMode::Lenient,
        )
        .err()
        .expect("no Date column");
        assert!(err.to_string().len() < 1024, "{}", err);
        let p = run(&format!(
            "Date,Open,High,Low,Close,Volume\n2004-08-19,{},2,1,2,5\n",
            "9x".repeat(1 << 19)
        ));
        assert_eq!(p.report.rejected, 1);
        assert!(p.report.rejects[0].message.chars().count() <= MAX_SHOWN_CHARS + 1);
        assert!(p.report.rejects[0].message.ends_with('…'));
    }

    #[test]
    fn good_rows_become_bars() {
        let p =
            run("Date,Open,High,Low,Close,Volume\n2004-08-19,100.0,104.06,95.96,100.34,22351900\n");
        assert_eq!(p.bars.len(), 1);
        assert_eq!(p.bars[0].close, dec!(100.34));
        assert_eq!(p.report.rows, 1);
        assert_eq!(p.report.rejected, 0);
    }

    #[test]
    fn header_is_case_insensitive_and_extra_columns_ignored() {
        let p = run("date,open,high,low,close,adj close,volume\n2004-08-19,1,2,1,2,2,5\n");
        assert_eq!(p.bars.len(), 1);
        assert_eq!(p.bars[0].volume, dec!(5));
    }

    #[test]
    fn every_reason_with_its_line() {
        let text = "Date,Open,High,Low,Close,Volume\n\
2004-08-19,10,12,9,11,100\n\
2004-08-20,10,9,12,11,100\n\
2004-08-21,abc,12,9,11,100\n\
2004-08-22,-1,12,9,11,100\n\
not-a-date,10,12,9,11,100\n\
2004-08-19,10,12,9,11,100\n\
2004-08-18,10,12,9,11,100\n\
2004-08-23,10,12,9,11\n\
2004-08-24,10,12,9,11,x\n\
2004-08-25,10,12,9,11,-5\n\
2004-08-26,13,12,9,11,5\n\
2004-08-27,10,12,9,11,100\n";
        let p = run(text);
        assert_eq!(p.report.rows, 12);
        assert_eq!(p.bars.len(), 2);
        let got: Vec<(u64, &str)> = p
            .report
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "high_below_low"),
                (4, "non_numeric_price"),
                (5, "non_positive_price"),
                (6, "invalid_timestamp"),
                (7, "duplicate_timestamp"),
                (8, "out_of_order_timestamp"),
                (9, "wrong_column_count"),
                (10, "non_numeric_volume"),
                (11, "negative_volume"),
                (12, "open_close_outside_range"),
            ]
        );
        assert_eq!(p.report.rejected, 10);
        assert_eq!(p.report.rejects_by_reason["high_below_low"], 1);
    }

    #[test]
    fn missing_columns_is_a_file_error() {
        let err = parse(
            "Date,Open,Close\n",
            &Symbol::new("T").unwrap(),
            Timeframe::DAY,
            ImportMode::Strict,
        )
        .err()
        .unwrap();
        assert!(matches!(err, CsvError::MissingColumns { .. }), "{err}");
        assert!(matches!(
            parse(
                "",
                &Symbol::new("T").unwrap(),
                Timeframe::DAY,
                ImportMode::Strict
            ),
            Err(CsvError::Empty)
        ));
    }
}
