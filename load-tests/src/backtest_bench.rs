//! Backtest speed.
//! - Engine: SmaCross(10, 20) bars/s on one core, over GOOG (2,148 bars, run many
//!   times) and over 1,000,000 simulated 1-minute bars; beside it, in the same
//!   run, backtesting.py 0.6.6 over GOOG when `.tools/py-ref` has it.
//! - Sweep: the same 120-set grid with one backtest instance, then with two.

use std::time::{Duration, Instant};

use market_data::simulator::{Simulator, SimulatorConfig};
use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};
use serde::Serialize;
use testkit::Platform;

use crate::report::{self, Machine};
use crate::request_reply::stop;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Simulated bars for the long run.
    #[arg(long, default_value_t = 1_000_000)]
    bars: usize,
}

#[derive(Serialize)]
struct Row {
    what: String,
    bars: u64,
    seconds: f64,
    bars_per_second: f64,
}

fn row(what: &str, bars: u64, elapsed: Duration) -> Row {
    let r = Row {
        what: what.to_string(),
        bars,
        seconds: elapsed.as_secs_f64(),
        bars_per_second: bars as f64 / elapsed.as_secs_f64(),
    };
    println!("{:<60} {:>12.0} bars/s", r.what, r.bars_per_second);
    r
}

fn engine(bars: &[Bar]) -> backtest::BacktestReport {
    let params = serde_json::json!({"fast": 10, "slow": 20})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut s = strategy::build(
        "sma_cross",
        &params,
        bars[0].symbol.clone(),
        bars[0].timeframe,
    )
    .expect("valid strategy");
    backtest::run(
        bars,
        s.as_mut(),
        &backtest::BacktestConfig {
            cash: Decimal::from(10_000),
            commission: Decimal::new(2, 3),
            finalize_trades: false,
            sizing: Default::default(),
            sizing_at: Default::default(),
            exits: None,
        },
    )
    .expect("valid backtest")
}

/// backtesting.py over GOOG, timed inside Python (import and data load excluded).
fn backtesting_py(runs: u32) -> Option<Duration> {
    let python = testkit::paths::repo_root().join(".tools/py-ref/bin/python");
    if !python.is_file() {
        return None;
    }
    let script = format!(
        r#"
import time, pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
d = pd.read_csv("{csv}", index_col=0, parse_dates=True)
def SMA(v, n): return pd.Series(v).rolling(n).mean()
class S(Strategy):
    def init(self):
        self.a = self.I(SMA, self.data.Close, 10); self.b = self.I(SMA, self.data.Close, 20)
    def next(self):
        if crossover(self.a, self.b): self.position.close(); self.buy()
        elif crossover(self.b, self.a): self.position.close(); self.sell()
import warnings; warnings.simplefilter("ignore")
t = time.perf_counter()
for _ in range({runs}): Backtest(d, S, cash=10000, commission=.002).run()
print(time.perf_counter() - t)
"#,
        csv = testkit::paths::testdata("GOOG.csv").display()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .output()
        .ok()?;
    let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some(Duration::from_secs_f64(secs))
}

async fn sweep_seconds(
    platform: &Platform,
    instances: usize,
    grid: &serde_json::Value,
) -> anyhow::Result<Duration> {
    let mut started_instances = Vec::new();
    for _ in 0..instances {
        let instance = platform
            .add(bus::subjects::backtest::SERVICE, |c, s| {
                backtest_service::run(backtest_service::Config::default(), c, s.wait())
            })
            .await;
        started_instances.push(instance);
    }
    let client = async_nats::connect(platform.url()).await?;
    let started = Instant::now();
    let accepted: bus::api::backtest::SweepAccepted = bus::request(
        &client,
        "backtest.sweep.submit",
        grid,
        bus::RequestOptions::timeout(Duration::from_secs(60)),
    )
    .await?;
    loop {
        let s: bus::api::backtest::JobStatus = bus::request(
            &client,
            "backtest.job.get",
            &serde_json::json!({"job_id": accepted.job_id, "top": 1}),
            bus::RequestOptions::timeout(Duration::from_secs(30)),
        )
        .await?;
        if s.state == bus::api::backtest::JobState::Done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    for instance in started_instances {
        instance.stop().await.map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(elapsed)
}

pub async fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let goog = testkit::paths::goog_bars();
    let mut rows = Vec::new();

    let runs = 200u32;
    let started = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(engine(&goog));
    }
    rows.push(row(
        "engine: SmaCross(10,20) over GOOG, full report",
        goog.len() as u64 * runs as u64,
        started.elapsed(),
    ));
    if let Some(elapsed) = backtesting_py(10) {
        rows.push(row(
            "backtesting.py 0.6.6: SmaCross(10,20) over GOOG",
            goog.len() as u64 * 10,
            elapsed,
        ));
    } else {
        println!("backtesting.py not found in .tools/py-ref: skipped (see shared/backtest/fixtures/gen_backtesting_py.py)");
    }

    let mut sim = Simulator::new(
        SimulatorConfig {
            symbols: vec![Symbol::new("BENCH")?],
            interval: Duration::from_secs(60),
            ticks_per_bar: 1,
            volatility: 0.9,
            ..Default::default()
        },
        |_| None,
    )?;
    let long: Vec<Bar> = (0..args.bars as i64)
        .map(|i| {
            sim.step(UnixNanos(1_600_000_000_000_000_000 + i * 60_000_000_000))
                .remove(0)
                .bar
        })
        .collect();
    let started = Instant::now();
    let report = std::hint::black_box(engine(&long));
    rows.push(row(
        &format!(
            "engine: SmaCross(10,20) over {} simulated 1m bars ({} trades)",
            long.len(),
            report.stats.trades
        ),
        long.len() as u64,
        started.elapsed(),
    ));
    let params = serde_json::json!({"fast": 10, "slow": 20})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut s = strategy::build(
        "sma_cross",
        &params,
        long[0].symbol.clone(),
        Timeframe::parse("1m")?,
    )?;
    let started = Instant::now();
    let mut signals = 0;
    for bar in &long {
        if s.on_bar(bar).is_some() {
            signals += 1;
        }
    }
    std::hint::black_box(signals);
    rows.push(row(
        "strategy alone: SmaCross(10,20).on_bar over the same bars",
        long.len() as u64,
        started.elapsed(),
    ));

    // Sweep speed-up.
    let platform = Platform::builder()
        .service(bus::subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .import_goog()
        .start()
        .await;
    let fast: Vec<u32> = (2..=13).collect();
    let grid = serde_json::json!({
        "kind": "sma_cross", "data": {"symbol": "GOOG"}, "objective": "sharpe_ratio", "commission": "0.002",
        "search": {"grid": {"fast": fast, "slow": [20, 25, 30, 35, 40, 45, 50, 60, 70, 80]}}
    });
    let one = sweep_seconds(&platform, 1, &grid).await?;
    let two = sweep_seconds(&platform, 2, &grid).await?;
    let sets = 120u64;
    let sweep_rows = serde_json::json!([
        {"instances": 1, "backtests": sets, "seconds": one.as_secs_f64(), "backtests_per_second": sets as f64 / one.as_secs_f64()},
        {"instances": 2, "backtests": sets, "seconds": two.as_secs_f64(), "backtests_per_second": sets as f64 / two.as_secs_f64()},
    ]);
    println!(
        "sweep of {sets}: 1 instance {:.2} s, 2 instances {:.2} s, speed-up {:.2}x",
        one.as_secs_f64(),
        two.as_secs_f64(),
        one.as_secs_f64() / two.as_secs_f64()
    );
    stop(&platform, bus::subjects::md::SERVICE).await?;

    let json = serde_json::json!({
        "benchmark": "backtest",
        "description": "Backtest engine bars/s (release build, one core) beside backtesting.py in the same run; sweep time with one and two backtest instances.",
        "date": report::now_rfc3339(),
        "machine": Machine::here(),
        "engine": rows,
        "sweep": sweep_rows,
        "sweep_speedup": one.as_secs_f64() / two.as_secs_f64(),
    });
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("backtest.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut md_text = format!(
        "# backtest\n\n{}\n\nRun {}.\n\n| what | bars | seconds | bars/s |\n|---|---:|---:|---:|\n",
        json["description"].as_str().unwrap_or(""),
        json["date"].as_str().unwrap_or("")
    );
    for r in &rows {
        md_text.push_str(&format!(
            "| {} | {} | {:.3} | {:.0} |\n",
            r.what, r.bars, r.seconds, r.bars_per_second
        ));
    }
    md_text.push_str(&format!(
        "\nSweep of {sets} SmaCross backtests over GOOG through the backtest service (work queue), on this 2-core machine that also runs nats-server, market-data and the client:\n\n| instances | seconds | backtests/s |\n|---:|---:|---:|\n| 1 | {:.2} | {:.1} |\n| 2 | {:.2} | {:.1} |\n\nSpeed-up with two instances: {:.2}x.\n",
        one.as_secs_f64(),
        sets as f64 / one.as_secs_f64(),
        two.as_secs_f64(),
        sets as f64 / two.as_secs_f64(),
        one.as_secs_f64() / two.as_secs_f64()
    ));
    std::fs::write(out_dir.join("backtest.md"), md_text)?;
    println!("wrote {}", out_dir.join("backtest.md").display());
    Ok(())
}
