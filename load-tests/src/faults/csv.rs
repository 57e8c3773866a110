//! Hostile CSV imports through `md.import`, inline (`csv`) and from the import
//! dir (`path`): a huge line, a huge header, wrong encodings (Latin-1,
//! UTF-16, a byte-order mark), binary data, many rows, a file beyond the
//! import size limit. Each must get a clear reply (a report, or a 4xx with
//! the reason) within the time bound, the service must keep answering, and
//! memory must stay bounded (peak RSS of this process reported).

use std::io::Write;
use std::time::{Duration, Instant};

use bus::subjects;
use serde_json::json;
use testkit::Platform;

use super::{Mode, Outcome};

const HEADER: &str = "Date,Open,High,Low,Close,Volume\n";

/// Peak resident memory of this process so far, in MiB (Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn rows(n: usize) -> impl Iterator<Item = String> {
    // Unix nanoseconds, one minute apart (ten million days would not fit).
    (0..n).map(|i| {
        format!(
            "{},10,11,9,10.5,1000\n",
            1_600_000_000_000_000_000i64 + i as i64 * 60_000_000_000
        )
    })
}

pub async fn run(mode: Mode) -> anyhow::Result<Vec<Outcome>> {
    let dir = tempfile::tempdir()?;
    let import_dir = dir.path().to_path_buf();
    let many: usize = mode.pick(20_000, 600_000);
    // Files the service reads itself.
    let write = |name: &str, bytes: &[u8]| std::fs::write(import_dir.join(name), bytes);
    write(
        "latin1.csv",
        b"Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100 \xe9t\xe9\n",
    )?;
    let utf16: Vec<u8> = "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,100\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    write("utf16.csv", &[&[0xff, 0xfe][..], &utf16].concat())?;
    write(
        "bom.csv",
        format!("\u{feff}{HEADER}2020-01-02,1,2,0.5,1.5,100\n").as_bytes(),
    )?;
    write(
        "binary.csv",
        &(0..=255u8).cycle().take(1 << 20).collect::<Vec<_>>(),
    )?;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(import_dir.join("many.csv"))?);
        f.write_all(HEADER.as_bytes())?;
        for r in rows(many) {
            f.write_all(r.as_bytes())?;
        }
        f.flush()?;
    }
    {
        // One line of 64 MiB, no newline.
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(import_dir.join("one-line.csv"))?);
        let chunk = vec![b'7'; 1 << 20];
        for _ in 0..64 {
            f.write_all(&chunk)?;
        }
        f.flush()?;
    }
    write("long-line.csv", &vec![b'7'; 20 << 20])?;
    if mode == Mode::Full {
        // Ten million rows (about 470 MB): over the import limit.
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(import_dir.join("ten-million.csv"))?);
        f.write_all(HEADER.as_bytes())?;
        for r in rows(10_000_000) {
            f.write_all(r.as_bytes())?;
        }
        f.flush()?;
    }
    std::fs::create_dir_all(import_dir.join("a-directory.csv"))?;
    let many_bytes = std::fs::metadata(import_dir.join("many.csv"))?.len();

    let md_dir = import_dir.clone();
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, move |c, s| {
            let config = market_data::Config {
                import_dir: Some(md_dir.clone()),
                ..Default::default()
            };
            market_data::run(config, c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let limit = client.server_info().max_payload;
    let huge_line = format!(
        "{HEADER}2020-01-02,1,2,0.5,1.5,{}\n",
        "9".repeat(limit - 4096)
    );
    let huge_header = format!("{}\n2020-01-02,1,2,0.5,1.5,100\n", "H".repeat(limit - 4096));
    let inline_rows: String = std::iter::once(HEADER.to_string())
        .chain(rows(mode.pick(10_000, 20_000)))
        .collect();
    let mut cases: Vec<(String, serde_json::Value)> = vec![
        (
            "one 20 MiB line (under the import limit)".into(),
            json!({"symbol": "CSVM", "path": "long-line.csv"}),
        ),
        (
            "a line at the payload limit".into(),
            json!({"symbol": "CSVA", "mode": "lenient", "csv": huge_line}),
        ),
        (
            "a header at the payload limit".into(),
            json!({"symbol": "CSVB", "csv": huge_header}),
        ),
        (
            "a byte-order mark".into(),
            json!({"symbol": "CSVC", "path": "bom.csv"}),
        ),
        (
            "Latin-1 bytes".into(),
            json!({"symbol": "CSVD", "path": "latin1.csv"}),
        ),
        (
            "UTF-16".into(),
            json!({"symbol": "CSVE", "path": "utf16.csv"}),
        ),
        (
            "1 MiB of binary".into(),
            json!({"symbol": "CSVF", "path": "binary.csv"}),
        ),
        (
            "one 64 MiB line".into(),
            json!({"symbol": "CSVG", "path": "one-line.csv"}),
        ),
        (
            "a directory".into(),
            json!({"symbol": "CSVH", "path": "a-directory.csv"}),
        ),
        (
            "a path outside the import dir".into(),
            json!({"symbol": "CSVI", "path": "../../../../etc/passwd"}),
        ),
        (
            "a path that does not exist".into(),
            json!({"symbol": "CSVJ", "path": "nope.csv"}),
        ),
        (
            format!("{} rows inline", mode.pick(10_000, 20_000)),
            json!({"symbol": "CSVK", "timeframe": "1m", "csv": inline_rows}),
        ),
        (
            format!(
                "{many} rows ({:.0} MiB) from the import dir",
                many_bytes as f64 / 1048576.0
            ),
            json!({"symbol": "CSVL", "timeframe": "1m", "path": "many.csv"}),
        ),
    ];
    if mode == Mode::Full {
        cases.push((
            "ten million rows from the import dir".into(),
            json!({"symbol": "CSVN", "timeframe": "1m", "path": "ten-million.csv"}),
        ));
    }
    let mut o = Outcome::new(
        "csv",
        "hostile CSV files through md.import (inline and from the import dir)",
        format!(
            "{} imports one after another, each followed by md.symbols.list",
            cases.len()
        ),
    );
    let rss_before = peak_rss_mib();
    let timeout = Duration::from_secs(mode.pick(60, 300));
    for (what, body) in cases {
        let t0 = Instant::now();
        let payload = serde_json::to_vec(&body)?;
        let request = async_nats::Request::new()
            .payload(payload.into())
            .timeout(Some(timeout));
        o.requests_sent += 1;
        let reply = client.send_request(subjects::md::IMPORT, request).await;
        let took = t0.elapsed();
        match reply {
            Err(e) => {
                o.requests_failed += 1;
                o.problems
                    .push(format!("{what}: no reply ({e}) after {took:?}"));
            }
            Ok(reply) => {
                let code: u16 = reply
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Service-Error-Code"))
                    .and_then(|v| v.as_str().parse().ok())
                    .unwrap_or(0);
                let body: serde_json::Value =
                    serde_json::from_slice(&reply.payload).unwrap_or_default();
                let said = if code == 0 {
                    format!(
                        "rows {} valid {} published {} rejected {}",
                        body["rows"], body["valid"], body["published"], body["rejected"]
                    )
                } else {
                    let m = body["message"].as_str().unwrap_or_default();
                    let short: String = m.chars().take(160).collect();
                    format!("{short}{}", if m.len() > 160 { "…" } else { "" })
                };
                let ok = code < 500
                    && (code == 0
                        || body["message"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty() && m.len() < 4096));
                o.check(
                    ok,
                    format!(
                        "{what}: {code} in {:.0} ms, reply {} bytes: {said}",
                        took.as_secs_f64() * 1000.0,
                        reply.payload.len()
                    ),
                );
            }
        }
        o.requests_sent += 1;
        let alive = testkit::raw_request(&client, subjects::md::SYMBOLS_LIST, &json!({})).await;
        o.check(
            alive.0 == 0,
            format!("md.symbols.list answers after {what}"),
        );
    }
    if let (Some(before), Some(after)) = (rss_before, peak_rss_mib()) {
        o.checks.push(format!(
            "peak RSS of the test process {before:.0} MiB before the imports, {after:.0} MiB after ({:.0} MiB file the largest)",
            many_bytes.max(64 << 20) as f64 / 1048576.0
        ));
    }
    Ok(vec![o])
}
