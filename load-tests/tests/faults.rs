//! The fault and abuse suite, quick: the same scenarios as
//! `cargo run --release -p load-tests -- faults`, with less load, writing the
//! report to `target/faults/FAULTS.quick.md` (the full one is `FAULTS.md`).
//! Every scenario must pass; a failure names the scenario and its problems.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_and_abuse_scenario_passes_quick() {
    if std::env::var_os("RUST_LOG").is_some() {
        bus::telemetry::init_tracing("warn");
    }
    let out = testkit::paths::repo_root().join("target/faults/FAULTS.quick.md");
    let only = std::env::var("FAULTS_ONLY").ok();
    let outcomes =
        load_tests::faults::run(load_tests::faults::Mode::Quick, &out, only.as_deref()).await;
    assert!(!outcomes.is_empty(), "no scenario ran");
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| format!("{}: {}", o.name, o.problems.join("; ")))
        .collect();
    assert!(
        failed.is_empty(),
        "see {}:\n{}",
        out.display(),
        failed.join("\n")
    );
    let report = std::fs::read_to_string(&out).expect("the report written");
    for o in &outcomes {
        assert!(
            report.contains(&format!("## {}", o.name)),
            "{} in the report",
            o.name
        );
    }
}
