//! `trader status`: the monitor's view of the platform (`monitor.status`).

use std::time::Duration;

use bus::api::monitor::{StatusRequest, SystemStatus};
use bus::{request, subjects, RequestOptions};

use crate::Connection;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    connection: Connection,
    /// Print the whole answer as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let client = bus::connect::connect(
        &args.connection.nats_url,
        "trader-cli",
        Some(Duration::from_secs(5)),
    )
    .await?;
    let status: SystemStatus = request(
        &client,
        subjects::monitor::STATUS,
        &StatusRequest {},
        RequestOptions::timeout(Duration::from_secs(15)),
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!(
        "{:<16} {:>9} {:>10} {:>8} {:>12}",
        "service", "instances", "requests", "errors", "avg µs"
    );
    for s in &status.services {
        println!(
            "{:<16} {:>9} {:>10} {:>8} {:>12.1}",
            s.name,
            s.instances.len(),
            s.requests,
            s.errors,
            s.average_processing_ns as f64 / 1000.0
        );
    }
    if let Some(js) = &status.jetstream {
        println!(
            "\n{:<28} {:>10} {:>12} {:>10} {:>10}",
            "stream / consumer", "messages", "bytes", "first", "last"
        );
        for s in &js.streams {
            println!(
                "{:<28} {:>10} {:>12} {:>10} {:>10}",
                s.name, s.messages, s.bytes, s.first_seq, s.last_seq
            );
            for c in &s.consumers {
                println!(
                    "  {:<26} lag {} (pending {}, unacked {}, redelivered {})",
                    c.name, c.lag, c.pending, c.ack_pending, c.redelivered
                );
            }
        }
    }
    if let Some(v) = &status.server {
        if v.reachable {
            let peers: Vec<&str> = v.cluster_peers.iter().map(|p| p.name.as_str()).collect();
            let leafs: Vec<&str> = v.leaf_links.iter().map(|l| l.name.as_str()).collect();
            println!(
                "\nserver {} {} ({}): {} connections, cluster peers [{}], leaf links [{}]",
                v.server_name,
                v.version,
                v.url,
                v.connections,
                peers.join(", "),
                leafs.join(", ")
            );
        } else {
            println!(
                "\nserver {}: unreachable ({})",
                v.url,
                v.error.as_deref().unwrap_or("?")
            );
        }
    }
    Ok(())
}
