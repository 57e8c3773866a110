//! Shared by the observe tests: a toy service on the runner, and a small
//! parser of the Prometheus text format (independent of the exporter).

#![allow(dead_code)]

use std::collections::BTreeMap;

use bus::runner::{Endpoints, Runner};
use bus::{ServiceError, ServiceSpec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Echo {
    pub n: u64,
}

/// `toy.echo` echoes `n`; `n == 0` is answered 404 by the handler.
pub async fn toy(
    client: async_nats::Client,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), bus::BusError> {
    let runner = Runner::new(client, ServiceSpec::new("toy", "0.1.0", "observe test"));
    bus::runner::run(runner, shutdown, |mut runner| async move {
        runner
            .stream(async_nats::jetstream::stream::Config {
                name: "TOY".into(),
                subjects: vec!["toy.evt.>".into()],
                ..Default::default()
            })
            .await?;
        runner
            .serve(
                Endpoints::new().json("toy.echo", "echoes", |_rc, e: Echo| async move {
                    if e.n == 0 {
                        return Err(ServiceError::not_found("zero"));
                    }
                    Ok::<_, ServiceError>(e)
                }),
            )
            .await?;
        Ok(runner)
    })
    .await
}

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the text exposition format (version 0.0.4): comments skipped,
/// `name{k="v",…} value [timestamp]`, label values with `\"`, `\\`, `\n` escapes.
pub fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, mut rest) = match line.find(['{', ' ']) {
            Some(i) => (&line[..i], &line[i..]),
            None => panic!("no value: {line}"),
        };
        let mut labels = BTreeMap::new();
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let mut end = None;
            loop {
                // key
                let mut key = String::new();
                for (i, c) in chars.by_ref() {
                    match c {
                        '=' => break,
                        '}' => {
                            end = Some(i);
                            break;
                        }
                        ',' | ' ' => {}
                        c => key.push(c),
                    }
                }
                if end.is_some() {
                    break;
                }
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                let mut value = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => panic!("dangling escape: {line}"),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
            }
            rest = &body[end.expect("closing brace") + 1..];
        }
        let value = rest
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value {v}: {line}")),
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// The value of the sample `name` whose labels include `labels` (0 if absent:
/// a counter not yet incremented is not rendered).
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().map(|s| s.value).unwrap_or(0.0)
}

pub async fn scrape(addr: std::net::SocketAddr) -> Vec<Sample> {
    let (status, body) = bus::observe::get(&format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    parse(&body)
}

#[test]
fn the_parser_reads_labels_escapes_and_special_values() {
    let s = parse(
        "# HELP x y\n# TYPE x counter\nx 3\ny{a=\"1\",b=\"q\\\"z\"} 2.5\nz_bucket{le=\"+Inf\"} 7 1700000000\nw{} +Inf\n",
    );
    assert_eq!(s.len(), 4);
    assert_eq!(value(&s, "x", &[]), 3.0);
    assert_eq!(value(&s, "y", &[("a", "1"), ("b", "q\"z")]), 2.5);
    assert_eq!(value(&s, "z_bucket", &[("le", "+Inf")]), 7.0);
    assert_eq!(value(&s, "w", &[]), f64::INFINITY);
}
