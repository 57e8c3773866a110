//! Fault and abuse scenarios, one file per fault, each on loopback against
//! real nats-servers started through testkit, each bounded in time and load.
//! [`run`] runs them in order and writes `FAULTS.md`: the fault injected, the
//! load during it, requests sent / failed / retried, events published /
//! consumed / lost / duplicated, the recovery time, and what was checked.
//!
//! - quick ([`Mode::Quick`]): `load-tests/tests/faults.rs`, part of `cargo test`,
//!   writes into a temporary path;
//! - full ([`Mode::Full`]): `cargo run --release -p load-tests -- faults`, more
//!   load per scenario, writes `FAULTS.md` at the repository top level.
//!
//! Order matters: [`server_kill`] and [`disk`] look at services' health in
//! this process, so they run before the scenarios that crash instances (a
//! crashed instance never deregisters its health).

pub mod csv;
pub mod disk;
pub mod duplicates;
pub mod flow;
pub mod fuzz;
pub mod instance_kill;
pub mod report;
pub mod server_kill;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use report::Outcome;

/// How much load each scenario gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Bounded for `cargo test`: the whole suite in about a minute.
    Quick,
    /// The documented full run.
    Full,
}

impl Mode {
    /// `quick` in quick mode, `full` otherwise.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }

    pub fn name(self) -> &'static str {
        self.pick("quick", "full")
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// quick (as `cargo test` runs it) or full.
    #[arg(long, value_enum, default_value_t = Mode::Full)]
    pub mode: Mode,
    /// Where the report goes (default: FAULTS.md at the repository top level).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    pub only: Option<String>,
}

/// The scenarios, in the order they run.
pub const SCENARIOS: [&str; 6] = [
    "server-kill",
    "disk",
    "instance-kill",
    "duplicates",
    "fuzz",
    "csv",
];

/// Runs the scenarios (all, or those matching `only`), writes the report to
/// `out` and returns the outcomes. A scenario that could not even be set up
/// is an outcome with that problem, so the report is always written.
pub async fn run(mode: Mode, out: &Path, only: Option<&str>) -> Vec<Outcome> {
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for name in SCENARIOS {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let t0 = Instant::now();
        eprintln!("faults: {name} ({})", mode.name());
        let result = match name {
            "server-kill" => server_kill::run(mode).await,
            "disk" => disk::run(mode).await,
            "instance-kill" => instance_kill::run(mode).await,
            "duplicates" => duplicates::run(mode).await,
            "fuzz" => fuzz::run(mode).await,
            "csv" => csv::run(mode).await,
            _ => unreachable!("a scenario without code"),
        };
        let mut found = match result {
            Ok(found) => found,
            Err(e) => vec![Outcome::failed(name, format!("{e:#}"))],
        };
        for o in &mut found {
            o.seconds = t0.elapsed().as_secs_f64();
            eprintln!(
                "faults: {} {}",
                o.name,
                if o.passed() {
                    "passed".to_string()
                } else {
                    format!("FAILED: {}", o.problems.join("; "))
                }
            );
        }
        outcomes.extend(found);
    }
    let text = report::render(mode, &outcomes, started.elapsed());
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(out, text) {
        eprintln!("faults: cannot write {}: {e}", out.display());
    }
    outcomes
}

/// `FAULTS.md` at the repository top level.
pub fn default_report() -> PathBuf {
    testkit::paths::repo_root().join("FAULTS.md")
}
