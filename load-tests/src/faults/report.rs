//! One scenario's figures and the `FAULTS.md` text.

use std::fmt::Write;
use std::time::Duration;

use super::Mode;

/// What one scenario did and found. `problems` empty: it passed.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub name: String,
    /// The fault injected.
    pub fault: String,
    /// The load while it happened.
    pub load: String,
    pub requests_sent: u64,
    /// Request attempts that got no answer or a 5xx (the client retried them).
    pub requests_failed: u64,
    pub requests_retried: u64,
    pub events_published: u64,
    pub events_consumed: u64,
    pub events_lost: u64,
    pub events_duplicated: u64,
    /// From the fault until everything answered again (when it applies).
    pub recovery: Option<Duration>,
    /// What was verified, one line each.
    pub checks: Vec<String>,
    pub problems: Vec<String>,
    /// Wall time of the scenario (set by the suite).
    pub seconds: f64,
}

impl Outcome {
    pub fn new(name: &str, fault: &str, load: String) -> Outcome {
        Outcome {
            name: name.to_string(),
            fault: fault.to_string(),
            load,
            ..Default::default()
        }
    }

    /// A scenario that could not run.
    pub fn failed(name: &str, problem: String) -> Outcome {
        Outcome {
            name: name.to_string(),
            fault: "(not run: set-up failed)".to_string(),
            problems: vec![problem],
            ..Default::default()
        }
    }

    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records `what` as checked when `ok`, else as a problem.
    pub fn check(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        if ok {
            self.checks.push(what);
        } else {
            self.problems.push(what);
        }
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("–".to_string(), |d| {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    })
}

/// The markdown report.
pub fn render(mode: Mode, outcomes: &[Outcome], total: Duration) -> String {
    let mut s = String::new();
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let _ = writeln!(s, "# FAULTS\n");
    let _ = writeln!(
        s,
        "Fault and abuse suite (`load-tests/src/faults/`), {} run of {}: {passed} of {} scenarios passed in {:.1} s. \
Every scenario runs on loopback against real nats-servers that testkit starts (temporary stores), services in this process each on a runtime of its own \
(an instance kill drops its runtime and connection at once, like `kill -9`; a server kill is SIGKILL of nats-server). \
Quick run: `cargo test -p load-tests --test faults`; full run: `cargo run --release -p load-tests -- faults` (writes this file).\n",
        mode.name(),
        model::UnixNanos::now().to_rfc3339(),
        outcomes.len(),
        total.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "| scenario | fault | requests sent / failed / retried | events published / consumed / lost / duplicated | recovery | result |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
    for o in outcomes {
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} / {} | {} / {} / {} / {} | {} | {} |",
            o.name,
            o.fault,
            o.requests_sent,
            o.requests_failed,
            o.requests_retried,
            o.events_published,
            o.events_consumed,
            o.events_lost,
            o.events_duplicated,
            ms(o.recovery),
            if o.passed() { "pass" } else { "**FAIL**" }
        );
    }
    for o in outcomes {
        let _ = writeln!(s, "\n## {}\n", o.name);
        let _ = writeln!(s, "- fault: {}", o.fault);
        let _ = writeln!(s, "- load: {}", o.load);
        let _ = writeln!(s, "- wall time: {:.1} s", o.seconds);
        for c in &o.checks {
            let _ = writeln!(s, "- checked: {c}");
        }
        for p in &o.problems {
            let _ = writeln!(s, "- **problem**: {p}");
        }
    }
    s.push_str(COVERED_ELSEWHERE);
    s
}

/// Faults other tests already inject; the suite does not run them twice.
const COVERED_ELSEWHERE: &str = "
## Faults covered by other tests (not re-run here)

- 3-node cluster, one node stopped and another SIGKILLed under a steady order flow, both restarted:
  `services/all/tests/cluster_faults.rs` (every acknowledged order in ORDERS once and in the OMS,
  restarted nodes catch up to the same last sequence); figures: `cargo run --release -p load-tests -- cluster-orders`.
- Edge link cut and restored (testkit::leaf relay): `services/all/tests/edge.rs` (the edge keeps trading,
  the hub ends with every edge event once); figures: `cargo run --release -p load-tests -- edge-catch-up`.
- A risk instance killed, the survivor takes its partitions over: `services/risk/tests/scale_out.rs`;
  the paper exchange moves when its holder dies: `services/execution/tests/orders.rs`.
- A slow durable consumer falling behind and catching up (pending, ack-pending and redelivered
  metrics): `shared/bus/tests/observe_lag.rs`.
- `/health/ready` 503 while nats-server is down and 200 once it is back: `shared/bus/tests/observe_health.rs`.
- A protective order execution does not answer, retried until recorded: `services/portfolio/tests/accounts.rs`.
- Hostile decimals (overflow on multiply, NaN, infinities, exponents) in risk and portfolio:
  `services/{risk,portfolio}/tests/money.rs`.
";
