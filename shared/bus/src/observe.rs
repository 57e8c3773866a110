//! The process's HTTP port for operators (one per process, however many
//! services it runs): `/metrics` (Prometheus text format), `/health/live`
//! (200 while the process runs) and `/health/ready` (200 only when every
//! service in the process is ready, else 503; JSON body either way).
//!
//! A tiny HTTP/1.1 responder on tokio (one request per connection, then
//! close): scrapers and health probes need nothing more, and it keeps hyper
//! out of every binary. [`get`] is the matching client, for `trader health`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::runner::{process_health, HealthStatus};
use crate::BusError;

/// Where `trader run` serves by default (9464: the Prometheus exporters' port).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";
pub const METRICS_PATH: &str = "/metrics";
pub const LIVE_PATH: &str = "/health/live";
pub const READY_PATH: &str = "/health/ready";

/// Longest request head we read; probes send a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The running HTTP server; stops when dropped.
pub struct ObserveServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ObserveServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ObserveServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The value of `--metrics-addr` / `TRADER_METRICS_ADDR`: an address, or
/// `off` (or empty) for none.
pub fn parse_addr(flag: &str) -> Option<&str> {
    let flag = flag.trim();
    (!flag.is_empty() && !flag.eq_ignore_ascii_case("off")).then_some(flag)
}

/// Serves on `flag` unless it is unset or `off`; installs the metrics
/// recorder first. Call it before starting services.
pub async fn serve_flag(flag: Option<&str>) -> Result<Option<ObserveServer>, BusError> {
    match flag.and_then(parse_addr) {
        Some(addr) => serve(addr).await.map(Some),
        None => Ok(None),
    }
}

/// Installs the metrics recorder and serves the endpoints on `addr`
/// (`host:port`; port 0 picks a free one, see [`ObserveServer::addr`]).
pub async fn serve(addr: &str) -> Result<ObserveServer, BusError> {
    let bind_error = |e: std::io::Error| BusError::Http {
        addr: addr.to_string(),
        message: e.to_string(),
    };
    crate::metrics::install();
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    tracing::info!(addr = %local, "serving /metrics, /health/live, /health/ready");
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(IO_TIMEOUT, answer(stream)).await;
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "observe: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(ObserveServer { addr: local, task })
}

/// `/health/ready`'s body.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub services: Vec<HealthStatus>,
}

/// Ready when at least one service runs here and every one is ready.
pub fn readiness() -> Readiness {
    let services = process_health();
    Readiness {
        ready: !services.is_empty() && services.iter().all(|s| s.ready),
        services,
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

fn route(method: &str, path: &str) -> Response {
    let path = path.split('?').next().unwrap_or(path);
    let json = |status, body: String| Response {
        status,
        content_type: "application/json",
        body,
    };
    if method != "GET" && method != "HEAD" {
        return json(405, r#"{"error":"only GET"}"#.into());
    }
    match path {
        METRICS_PATH => {
            crate::runner::record_health_gauges();
            Response {
                status: 200,
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body: crate::metrics::handle()
                    .map(|h| h.render())
                    .unwrap_or_default(),
            }
        }
        LIVE_PATH => json(200, r#"{"live":true}"#.into()),
        READY_PATH => {
            let readiness = readiness();
            let status = if readiness.ready { 200 } else { 503 };
            json(
                status,
                serde_json::to_string(&readiness).unwrap_or_default(),
            )
        }
        _ => json(404, r#"{"error":"not found"}"#.into()),
    }
}

async fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let method = request_line.next().unwrap_or("");
    let path = request_line.next().unwrap_or("");
    let response = route(method, path);
    let reason = match response.status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if method != "HEAD" {
        out.push_str(&response.body);
    }
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// `GET url` (`http://host:port/path`, no TLS): the status and body. The
/// client side of this module, for health probes and tests.
pub async fn get(url: &str) -> Result<(u16, String), BusError> {
    let error = |message: String| BusError::Http {
        addr: url.to_string(),
        message,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| error("only http:// URLs".into()))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = TcpStream::connect(host).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(IO_TIMEOUT, exchange)
        .await
        .map_err(|_| error("timed out".into()))?
        .map_err(|e| error(e.to_string()))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| error("malformed response".into()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| error("malformed status line".into()))?;
    Ok((status, body.to_string()))
}
