//! Latency recording and the JSON + markdown result files.

use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub target: String,
    pub in_flight: usize,
    pub requests: u64,
    pub seconds: f64,
    pub throughput_per_s: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    /// Throughput lost against the baseline with the same in-flight count, in %.
    pub overhead_vs_baseline_pct: Option<f64>,
}

impl Row {
    pub fn new(target: &str, in_flight: usize, hist: &Histogram<u64>, elapsed: Duration) -> Row {
        let us = |q: f64| hist.value_at_quantile(q) as f64 / 1_000.0;
        let requests = hist.len();
        Row {
            target: target.to_string(),
            in_flight,
            requests,
            seconds: elapsed.as_secs_f64(),
            throughput_per_s: requests as f64 / elapsed.as_secs_f64(),
            p50_us: us(0.5),
            p90_us: us(0.9),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: hist.max() as f64 / 1_000.0,
            overhead_vs_baseline_pct: None,
        }
    }
}

/// A histogram of nanoseconds, 1 ns to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

#[derive(Serialize)]
pub struct Report<'a> {
    pub benchmark: &'a str,
    pub description: &'a str,
    pub date: String,
    pub machine: Machine,
    pub parameters: serde_json::Value,
    pub rows: &'a [Row],
}

#[derive(Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub os: &'static str,
    pub nats_server: String,
}

impl Machine {
    pub fn here() -> Machine {
        let nats_server = testkit::server::nats_server_bin()
            .ok()
            .and_then(|bin| {
                std::process::Command::new(bin)
                    .arg("--version")
                    .output()
                    .ok()
            })
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            os: std::env::consts::OS,
            nats_server,
        }
    }
}

pub fn write(
    out_dir: &Path,
    name: &str,
    report: &Report,
    markdown_notes: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    let json = out_dir.join(format!("{name}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(report)?)?;
    let mut md = format!(
        "# {}\n\n{}\n\nRun {} on {} CPUs ({}), {}.\n\n",
        report.benchmark,
        report.description,
        report.date,
        report.machine.cpus,
        report.machine.os,
        report.machine.nats_server
    );
    md.push_str("| target | in flight | requests | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | throughput vs baseline |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in report.rows {
        let overhead = r
            .overhead_vs_baseline_pct
            .map(|o| format!("{:+.1} %", -o))
            .unwrap_or_else(|| "baseline".to_string());
        md.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n",
            r.target,
            r.in_flight,
            r.requests,
            r.throughput_per_s,
            r.p50_us,
            r.p90_us,
            r.p99_us,
            r.p999_us,
            r.max_us,
            overhead
        ));
    }
    md.push('\n');
    md.push_str(markdown_notes);
    let md_path = out_dir.join(format!("{name}.md"));
    std::fs::write(&md_path, md)?;
    println!("wrote {} and {}", json.display(), md_path.display());
    Ok(())
}

pub fn now_rfc3339() -> String {
    model::UnixNanos::now().to_rfc3339()
}
