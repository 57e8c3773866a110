//! The live feed against a local Alpaca-style venue the test runs: a WebSocket
//! stream of trades and quotes (with a gap, duplicates, malformed messages and
//! a disconnect) and a REST bars endpoint. Bars in MARKET equal bars computed
//! here from every trade; none is stored twice; the gap and the outage are
//! backfilled from REST; malformed messages are skipped and counted.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::api::md::{BarsResponse, QualityReport};
use bus::{request, RequestOptions};
use common::Env;
use futures::{SinkExt, StreamExt};
use market_data::live::{FeedStats, LiveFeedConfig, Venue};
use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const MIN: i64 = 60_000_000_000;
const KEY: &str = "test-key";

#[derive(Clone)]
struct Trade {
    id: u64,
    ts: UnixNanos,
    price: Decimal,
    size: Decimal,
}

fn t0() -> i64 {
    UnixNanos::parse("2024-03-04T14:30:00Z").unwrap().0
}

/// Three trades a minute for minutes 0–14, one in minute 15 (it closes 14).
fn trades() -> BTreeMap<i64, Vec<Trade>> {
    let wiggle = [0, 3, -2, 5, -4, 1, -1];
    let mut by_minute = BTreeMap::new();
    for m in 0..=15i64 {
        let n = if m == 15 { 1 } else { 3 };
        let list: Vec<Trade> = (0..n)
            .map(|k| Trade {
                id: (m * 10 + k + 1) as u64,
                ts: UnixNanos(t0() + m * MIN + (5 + 20 * k) * 1_000_000_000),
                price: Decimal::new(10_000 + m * 10 + wiggle[((m * 3 + k) % 7) as usize] * 5, 2),
                size: Decimal::from(1 + (m + k) % 4),
            })
            .collect();
        by_minute.insert(m, list);
    }
    by_minute
}

/// Bars of every complete interval, computed here from all the trades.
fn reference_bars(all: &BTreeMap<i64, Vec<Trade>>, tf: Timeframe) -> Vec<Bar> {
    let step = tf.nanos();
    let mut bars: BTreeMap<i64, Bar> = BTreeMap::new();
    for t in all.values().flatten() {
        let b = t.ts.0 - t.ts.0.rem_euclid(step);
        let bar = bars.entry(b).or_insert_with(|| Bar {
            symbol: Symbol::new("AAPL").unwrap(),
            timeframe: tf,
            ts: UnixNanos(b),
            open: t.price,
            high: t.price,
            low: t.price,
            close: t.price,
            volume: Decimal::ZERO,
        });
        bar.high = bar.high.max(t.price);
        bar.low = bar.low.min(t.price);
        bar.close = t.price;
        bar.volume += t.size;
    }
    // The interval of minute 15 is still open.
    let open_from = t0() + 15 * MIN - (t0() + 15 * MIN).rem_euclid(step);
    bars.into_values().filter(|b| b.ts.0 < open_from).collect()
}

fn trade_json(t: &Trade) -> Value {
    json!({"T": "t", "S": "AAPL", "i": t.id, "x": "V",
           "p": Value::Number(t.price.to_string().parse().unwrap()),
           "s": Value::Number(t.size.to_string().parse().unwrap()),
           "t": t.ts.to_rfc3339(), "c": ["@"], "z": "C"})
}

fn frame(trades: &[Trade]) -> Message {
    Message::text(Value::Array(trades.iter().map(trade_json).collect()).to_string())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// connected → auth (checked) → authenticated → subscribe → subscription.
async fn handshake(ws: &mut Ws) {
    ws.send(Message::text(r#"[{"T":"success","msg":"connected"}]"#))
        .await
        .unwrap();
    let auth: Value =
        serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(auth["action"], "auth");
    assert_eq!(auth["key"], KEY);
    ws.send(Message::text(r#"[{"T":"success","msg":"authenticated"}]"#))
        .await
        .unwrap();
    let sub: Value =
        serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(sub["action"], "subscribe");
    assert_eq!(sub["trades"], json!(["AAPL"]));
    ws.send(Message::text(
        r#"[{"T":"subscription","trades":["AAPL"],"quotes":["AAPL"],"bars":[]}]"#,
    ))
    .await
    .unwrap();
}

/// The stream: first connection up to minute 9's first trade (minute 6 never
/// sent, a duplicate and two malformed messages on the way), then a drop; the
/// second connection replays minute 8's last trade and goes on.
async fn stream_server(listener: TcpListener, all: BTreeMap<i64, Vec<Trade>>) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    handshake(&mut ws).await;
    for m in 0..=8 {
        if m == 6 {
            continue; // the gap
        }
        ws.send(frame(&all[&m])).await.unwrap();
        if m == 2 {
            ws.send(frame(&all[&2][1..2])).await.unwrap(); // a duplicate
            ws.send(Message::text("{not json")).await.unwrap();
            ws.send(Message::text(r#"[{"T":"t","S":"AAPL","p":1}]"#))
                .await
                .unwrap();
        }
    }
    ws.send(frame(&all[&9][..1])).await.unwrap();
    ws.flush().await.unwrap();
    drop(ws); // the disconnect: no close frame

    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    handshake(&mut ws).await;
    ws.send(frame(&all[&8][2..])).await.unwrap(); // replayed: a duplicate
    ws.send(frame(&all[&9][1..])).await.unwrap();
    for m in 10..=15 {
        ws.send(frame(&all[&m])).await.unwrap();
    }
    let quote_ts = UnixNanos(t0() + 15 * MIN + 30 * 1_000_000_000).to_rfc3339();
    ws.send(Message::text(
        json!([{"T": "q", "S": "AAPL", "bx": "V", "bp": 101.1, "bs": 3, "ax": "V", "ap": 101.2, "as": 2, "t": quote_ts}])
            .to_string(),
    ))
    .await
    .unwrap();
    // Stay connected until the feed goes away.
    while let Some(Ok(_)) = ws.next().await {}
}

/// `GET /v2/stocks/AAPL/bars?timeframe=1Min&start=..&end=..[&page_token=n]`,
/// two bars a page.
async fn rest_server(listener: TcpListener, all: BTreeMap<i64, Vec<Trade>>, calls: Arc<AtomicU64>) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let all = all.clone();
        let calls = calls.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tcp.read(&mut chunk).await.unwrap();
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let target = head.split_whitespace().nth(1).unwrap().to_string();
            let (path, query) = target.split_once('?').unwrap();
            let q: BTreeMap<&str, &str> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let authorized = head
                .lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("APCA-API-KEY-ID: {KEY}")));
            let (status, body) = if !authorized || path != "/v2/stocks/AAPL/bars" {
                ("403 Forbidden", json!({"message": "forbidden"}))
            } else {
                calls.fetch_add(1, Ordering::SeqCst);
                let tf = match q["timeframe"] {
                    "1Min" => Timeframe::parse("1m").unwrap(),
                    "5Min" => Timeframe::parse("5m").unwrap(),
                    other => panic!("timeframe {other}"),
                };
                let (start, end) = (
                    UnixNanos::parse(q["start"]).unwrap(),
                    UnixNanos::parse(q["end"]).unwrap(),
                );
                let bars: Vec<Value> = reference_bars(&all, tf)
                    .into_iter()
                    .filter(|b| b.ts >= start && b.ts <= end)
                    .map(|b| {
                        let n = |d: Decimal| Value::Number(d.to_string().parse().unwrap());
                        json!({"t": b.ts.to_rfc3339(), "o": n(b.open), "h": n(b.high),
                               "l": n(b.low), "c": n(b.close), "v": n(b.volume), "n": 3, "vw": n(b.close)})
                    })
                    .collect();
                let from: usize = q.get("page_token").map_or(0, |t| t.parse().unwrap());
                let page: Vec<Value> = bars.iter().skip(from).take(2).cloned().collect();
                let next = (from + 2 < bars.len()).then(|| (from + 2).to_string());
                (
                    "200 OK",
                    json!({"bars": page, "symbol": "AAPL", "next_page_token": next}),
                )
            };
            let body = body.to_string();
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(reply.as_bytes()).await;
        });
    }
}

async fn stored(env: &Env, subject: &str) -> u64 {
    let js = async_nats::jetstream::new(env.client.clone());
    let stream = js.get_stream("MARKET").await.unwrap();
    let mut info = stream.info_with_subjects(subject).await.unwrap();
    let mut total = 0;
    while let Some(Ok((_, n))) = info.next().await {
        total += n as u64;
    }
    total
}

async fn bars(env: &Env, tf: &str) -> Vec<Bar> {
    request::<_, BarsResponse>(
        &env.client,
        "md.bars.get",
        &json!({"symbol": "AAPL", "timeframe": tf}),
        RequestOptions::default(),
    )
    .await
    .map(|r| r.bars)
    .unwrap_or_default()
}

#[tokio::test]
async fn live_bars_equal_the_trades_with_gaps_backfilled_and_no_duplicates() {
    let all = trades();
    let m1 = Timeframe::parse("1m").unwrap();
    let m5 = Timeframe::parse("5m").unwrap();
    let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("ws://{}/v2/iex", ws.local_addr().unwrap());
    let rest_url = format!("http://{}", rest.local_addr().unwrap());
    let calls = Arc::new(AtomicU64::new(0));
    let server = tokio::spawn(stream_server(ws, all.clone()));
    let _rest = tokio::spawn(rest_server(rest, all.clone(), calls.clone()));

    let env = Env::start().await;
    let mut live = LiveFeedConfig::new(Venue::Alpaca, ws_url, vec![Symbol::new("AAPL").unwrap()]);
    live.rest_url = Some(rest_url);
    live.timeframes = vec![m1, m5];
    live.key_id = KEY.into();
    live.secret = "test-secret".into();
    live.backoff_initial = Duration::from_millis(50);
    let stats: Arc<FeedStats> = live.stats.clone();
    let _md = env
        .market_data(market_data::Config {
            live: Some(live),
            ..Default::default()
        })
        .await;

    let want_1m = reference_bars(&all, m1);
    let want_5m = reference_bars(&all, m5);
    assert_eq!((want_1m.len(), want_5m.len()), (15, 3));
    testkit::wait_until("every bar in MARKET", Duration::from_secs(60), || async {
        (bars(&env, "1m").await.len() == 15 && bars(&env, "5m").await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(bars(&env, "1m").await, want_1m);
    assert_eq!(bars(&env, "5m").await, want_5m);
    // Each stored once, although some were both built and backfilled.
    assert_eq!(stored(&env, "md.bar.AAPL.1m").await, 15);
    assert_eq!(stored(&env, "md.bar.AAPL.5m").await, 3);

    let get = |c: &AtomicU64| FeedStats::get(c);
    assert_eq!(
        get(&stats.malformed),
        2,
        "the bad JSON and the trade without fields"
    );
    assert_eq!(
        get(&stats.duplicates),
        2,
        "the repeated and the replayed trade"
    );
    assert_eq!(get(&stats.connects), 2);
    // Minute 6 (never streamed), minute 9 (cut by the disconnect) and the 5m bar
    // holding both came from REST; the rest from trades.
    assert_eq!(get(&stats.bars_backfilled), 3);
    assert_eq!(get(&stats.bars_unfilled), 0);
    assert_eq!(get(&stats.bars_published), 15);
    assert!(calls.load(Ordering::SeqCst) >= 3);

    // The quote reached QUOTES; last is the last trade.
    let quote: model::Quote = testkit::wait_until("the quote", Duration::from_secs(30), || async {
        let q: model::Quote = request(
            &env.client,
            "md.quote.get",
            &json!({"symbol": "AAPL"}),
            RequestOptions::default(),
        )
        .await
        .ok()?;
        (q.bid == Decimal::new(1011, 1)).then_some(q)
    })
    .await;
    assert_eq!(quote.ask, Decimal::new(1012, 1));
    assert_eq!(quote.last, all[&15][0].price);

    // The stored series passes the same gap rule the feed used.
    let report: QualityReport = request(
        &env.client,
        "md.quality.get",
        &json!({"symbol": "AAPL", "timeframe": "1m", "calendar": {"weekends": true}}),
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.bars, report.gaps.count, report.ohlc.count),
        (15, 0, 0)
    );
    server.abort();
}
