//! Regime update cost in ns/bar, pure (no NATS): a trained model following a
//! close series bar by bar (rolling features + HMM filter step, or + nearest
//! k-means centroid), beside the rolling features alone (what any method must
//! at least do) in the same run; and the ensemble strategy's `on_bar` (five
//! members, their per-regime returns, the regime) beside a lone sma_cross.
//! Also the one-off training time of each model.

use std::hint::black_box;
use std::time::Instant;

use model::{Bar, Decimal, RegimeMethod, Symbol, Timeframe, UnixNanos};
use regime::{synthetic, RegimeModel, RegimeTracker, RollingFeatures};
use serde::Serialize;

use crate::report::{self, Machine};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bar updates per measurement.
    #[arg(long, default_value_t = 2_000_000)]
    updates: usize,
}

#[derive(Serialize)]
struct Row {
    what: String,
    updates: usize,
    ns_per_bar: f64,
}

const WINDOW: usize = 20;

fn per_bar<S>(
    closes: &[f64],
    updates: usize,
    state: &mut S,
    step: impl Fn(&mut S, f64),
    reset: impl Fn(&mut S),
) -> f64 {
    let started = Instant::now();
    let mut done = 0;
    while done < updates {
        reset(state);
        for c in closes {
            step(state, black_box(*c));
        }
        done += closes.len();
    }
    started.elapsed().as_nanos() as f64 / done as f64
}

fn bars_of(closes: &[f64]) -> Vec<Bar> {
    let d = |x: f64| {
        Decimal::from_f64_retain(x)
            .unwrap_or(Decimal::ONE)
            .round_dp(4)
    };
    closes
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let (open, close) = (d(w[0]), d(w[1]));
            Bar {
                symbol: Symbol::new("SYN").unwrap(),
                timeframe: Timeframe::DAY,
                ts: UnixNanos(i as i64 * 86_400_000_000_000),
                open,
                high: open.max(close),
                low: open.min(close),
                close,
                volume: Decimal::ONE,
            }
        })
        .collect()
}

pub fn run(args: Args, out_dir: &std::path::Path) -> anyhow::Result<()> {
    let n = args.updates;
    let (closes, _) = synthetic::series(&synthetic::standard_segments(), 1);
    let mut f = RollingFeatures::new(WINDOW);
    let feats: Vec<_> = closes.iter().filter_map(|c| f.update(*c)).collect();

    let mut rows = Vec::new();
    let mut features = RollingFeatures::new(WINDOW);
    let ns = per_bar(
        &closes,
        n,
        &mut features,
        |f, c| {
            black_box(f.update(c));
        },
        |f| f.reset(),
    );
    rows.push(("rolling features only (baseline)".to_string(), ns));
    let mut trained = Vec::new();
    for method in [RegimeMethod::Hmm, RegimeMethod::Kmeans] {
        let started = Instant::now();
        let model = RegimeModel::train(method, WINDOW, &feats)?;
        trained.push((method, started.elapsed().as_secs_f64() * 1e3, feats.len()));
        let mut tracker = RegimeTracker::new(model);
        let ns = per_bar(
            &closes,
            n,
            &mut tracker,
            |t, c| {
                black_box(t.on_close(c));
            },
            |t| t.reset(),
        );
        rows.push((format!("{method} regime update (features + decision)"), ns));
    }

    // The ensemble against a lone built-in, per bar (Decimal bars).
    let bars = bars_of(&closes);
    let strategy_ns = |kind: &str| -> anyhow::Result<f64> {
        let mut s = strategy::build(
            kind,
            &Default::default(),
            Symbol::new("SYN")?,
            Timeframe::DAY,
        )?;
        let started = Instant::now();
        let mut done = 0;
        while done < n / 10 {
            s.reset();
            for b in &bars {
                black_box(s.on_bar(b));
            }
            done += bars.len();
        }
        Ok(started.elapsed().as_nanos() as f64 / done as f64)
    };
    rows.push((
        "sma_cross on_bar (baseline)".to_string(),
        strategy_ns("sma_cross")?,
    ));
    rows.push((
        "ensemble on_bar (5 members + regime)".to_string(),
        strategy_ns("ensemble")?,
    ));

    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(what, ns_per_bar)| Row {
            what,
            updates: n,
            ns_per_bar,
        })
        .collect();
    for r in &rows {
        println!("{:<44} {:>9.1} ns/bar", r.what, r.ns_per_bar);
    }
    let training: Vec<_> = trained
        .iter()
        .map(
            |(m, ms, obs)| serde_json::json!({"method": m.as_str(), "ms": ms, "observations": obs}),
        )
        .collect();
    let json = serde_json::json!({
        "benchmark": "regime",
        "description": "Regime update cost per bar (pure, no NATS), synthetic 2,400-bar series with known regimes, one core, release build.",
        "date": report::now_rfc3339(),
        "machine": Machine::here(),
        "rows": rows,
        "training": training,
    });
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(
        out_dir.join("regime.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    let mut md = format!(
        "# regime\n\nRegime update cost per bar, pure (no NATS), over a synthetic 2,400-bar series with known regimes (repeated, {n} updates), one core, release build. Run {}.\n\n| what | ns/bar |\n|---|---:|\n",
        json["date"].as_str().unwrap_or("")
    );
    for r in &rows {
        md.push_str(&format!("| {} | {:.1} |\n", r.what, r.ns_per_bar));
    }
    md.push_str("\nTraining (one-off, on the series' feature vectors):\n\n| method | ms | observations |\n|---|---:|---:|\n");
    for (m, ms, obs) in &trained {
        md.push_str(&format!("| {m} | {ms:.1} | {obs} |\n"));
    }
    std::fs::write(out_dir.join("regime.md"), md)?;
    println!("wrote {}", out_dir.join("regime.md").display());
    Ok(())
}
