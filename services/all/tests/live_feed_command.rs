//! README "Live market data": `trader run` with the live feed against a local
//! Alpaca-style venue the test runs (stream + REST bars), and `trader bars`
//! reading the bars built from its trades, with the streamed gap backfilled.

use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const T0: &str = "2024-03-04T14:3";

/// Minute `m`'s one trade at price 100 + m.
fn trade(m: u64) -> Value {
    json!({"T": "t", "S": "AAPL", "i": m + 1, "p": 100 + m, "s": 10,
           "t": format!("{T0}{m}:05Z")})
}

/// Trades of minutes 0, 2, 3 (minute 1 missing), then stays connected.
async fn stream(listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            ws.send(Message::text(r#"[{"T":"success","msg":"connected"}]"#))
                .await
                .unwrap();
            let _auth = ws.next().await;
            ws.send(Message::text(r#"[{"T":"success","msg":"authenticated"}]"#))
                .await
                .unwrap();
            let _sub = ws.next().await;
            ws.send(Message::text(r#"[{"T":"subscription","trades":["AAPL"]}]"#))
                .await
                .unwrap();
            let trades: Vec<Value> = [0, 2, 3].into_iter().map(trade).collect();
            ws.send(Message::text(Value::Array(trades).to_string()))
                .await
                .unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        });
    }
}

/// REST bars: minute 1's bar, whatever is asked.
async fn rest(listener: TcpListener) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let body = json!({"bars": [{"t": format!("{T0}1:00Z"), "o": 101, "h": 101.5,
                                        "l": 100.5, "c": 101, "v": 7}], "next_page_token": null})
            .to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(reply.as_bytes()).await;
        });
    }
}

#[tokio::test]
async fn trader_run_with_the_live_feed_stores_bars_from_trades_and_rest() {
    let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_port = ws.local_addr().unwrap().port();
    let rest_port = rest_l.local_addr().unwrap().port();
    tokio::spawn(stream(ws));
    tokio::spawn(rest(rest_l));

    let data = tempfile::tempdir().unwrap();
    let (port, monitor) = (free_port(), free_port());
    let nats_bin = testkit::server::nats_server_bin().expect("nats-server installed");
    // README: trader run --services market-data --no-simulator --live-feed alpaca --live-url ws://127.0.0.1:9000/v2/iex --live-rest-url http://127.0.0.1:9001 --live-symbols AAPL --live-timeframes 1m,5m
    let line = format!(
        "trader run --services market-data --no-simulator --live-feed alpaca --live-url ws://127.0.0.1:{ws_port}/v2/iex --live-rest-url http://127.0.0.1:{rest_port} --live-symbols AAPL --live-timeframes 1m,5m"
    );
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(&words[1..])
        .arg("--data-dir")
        .arg(data.path())
        .args(["--nats-port", &port.to_string()])
        .args(["--monitor-port", &monitor.to_string()])
        .args(["--metrics-addr", "off"])
        .env("NATS_SERVER_BIN", nats_bin)
        .env("APCA_API_KEY_ID", "k")
        .env("APCA_API_SECRET_KEY", "s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");

    // README: trader bars AAPL --timeframe 1m
    let text = testkit::wait_until("three 1m bars", Duration::from_secs(60), || async {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
            .args(["bars", "AAPL", "--timeframe", "1m"])
            .env("NATS_URL", &url)
            .output()
            .await
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (text.lines().count() == 4).then_some(text)
    })
    .await;
    let closes: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0], f[4])
        })
        .collect();
    // Minutes 0 and 2 from trades (3 is still open), minute 1 from REST.
    assert_eq!(
        closes,
        [
            ("2024-03-04T14:30:00Z", "100"),
            ("2024-03-04T14:31:00Z", "101"),
            ("2024-03-04T14:32:00Z", "102")
        ],
        "{text}"
    );
    // SIGTERM: trader drains and stops its embedded nats-server.
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("trader stops within 30 s")
        .unwrap();
    assert!(status.success(), "clean exit, got {status}");
}
