//! The Alpaca-style market-data stream subset this adapter speaks (pure).
//!
//! Frames are JSON arrays of objects told apart by `T`:
//! - `{"T":"success","msg":"connected"|"authenticated"}`,
//!   `{"T":"subscription","trades":[..],"quotes":[..]}`, `{"T":"error","code":402,"msg":".."}`;
//! - trade `{"T":"t","S":"AAPL","i":96921,"p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z"}`;
//! - quote `{"T":"q","S":"AAPL","bp":126.5,"bs":1,"ap":126.6,"as":2,"t":"…"}`.
//!
//! The client sends `{"action":"auth","key":..,"secret":..}` then
//! `{"action":"subscribe","trades":[..],"quotes":[..]}`. Other fields and
//! message types (bars, statuses) are ignored; a frame that is not JSON, or a
//! trade or quote without its fields, is malformed.
//!
//! REST bars: `GET {rest}/v2/stocks/{symbol}/bars?timeframe=1Min&start=..&end=..&limit=10000`
//! (`page_token` followed) with headers `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`,
//! answering `{"bars":[{"t":..,"o":..,"h":..,"l":..,"c":..,"v":..}],"next_page_token":null}`.

use std::str::FromStr;

use model::{Bar, Decimal, Symbol, Timeframe, UnixNanos};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum StreamMsg {
    Trade {
        symbol: Symbol,
        id: u64,
        price: Decimal,
        size: Decimal,
        ts: UnixNanos,
    },
    Quote {
        symbol: Symbol,
        bid: Decimal,
        ask: Decimal,
        ts: UnixNanos,
    },
    Success(String),
    Subscribed,
    Error(String),
    Other,
}

/// The messages of one frame, and how many of its parts were malformed.
pub fn parse_frame(text: &str) -> (Vec<StreamMsg>, u64) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (Vec::new(), 1);
    };
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::new();
    let mut bad = 0;
    for item in &items {
        match parse_item(item) {
            Some(m) => out.push(m),
            None => bad += 1,
        }
    }
    (out, bad)
}

fn decimal(v: &Value) -> Option<Decimal> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    Decimal::from_str(&s)
        .ok()
        .or_else(|| Decimal::from_scientific(&s).ok())
}

fn parse_item(item: &Value) -> Option<StreamMsg> {
    let kind = item.get("T")?.as_str()?;
    let symbol = || Symbol::new(item.get("S")?.as_str()?).ok();
    let ts = || UnixNanos::parse(item.get("t")?.as_str()?).ok();
    Some(match kind {
        "t" => {
            let price = decimal(item.get("p")?)?;
            let size = decimal(item.get("s")?)?;
            if price <= Decimal::ZERO || size < Decimal::ZERO {
                return None;
            }
            StreamMsg::Trade {
                symbol: symbol()?,
                id: item.get("i")?.as_u64()?,
                price,
                size,
                ts: ts()?,
            }
        }
        "q" => StreamMsg::Quote {
            symbol: symbol()?,
            bid: decimal(item.get("bp")?)?,
            ask: decimal(item.get("ap")?)?,
            ts: ts()?,
        },
        "success" => StreamMsg::Success(item.get("msg")?.as_str()?.to_string()),
        "subscription" => StreamMsg::Subscribed,
        "error" => StreamMsg::Error(format!(
            "{} {}",
            item.get("code").map(|c| c.to_string()).unwrap_or_default(),
            item.get("msg").and_then(Value::as_str).unwrap_or("")
        )),
        _ => StreamMsg::Other,
    })
}

pub fn auth(key: &str, secret: &str) -> String {
    serde_json::json!({"action": "auth", "key": key, "secret": secret}).to_string()
}

pub fn subscribe(symbols: &[Symbol]) -> String {
    let names: Vec<&str> = symbols.iter().map(|s| s.as_str()).collect();
    serde_json::json!({"action": "subscribe", "trades": names, "quotes": names}).to_string()
}

/// Alpaca's name of a timeframe (`1Min`, `5Min`, `1Hour`, `1Day`, `1Week`);
/// None for ones it has no bars of (seconds).
pub fn timeframe_name(tf: Timeframe) -> Option<String> {
    let s = tf.seconds();
    Some(if s.is_multiple_of(604_800) {
        format!("{}Week", s / 604_800)
    } else if s.is_multiple_of(86_400) {
        format!("{}Day", s / 86_400)
    } else if s.is_multiple_of(3_600) {
        format!("{}Hour", s / 3_600)
    } else if s.is_multiple_of(60) {
        format!("{}Min", s / 60)
    } else {
        return None;
    })
}

/// Path and query of one page of REST bars.
pub fn bars_path(
    symbol: &Symbol,
    tf: Timeframe,
    start: UnixNanos,
    end: UnixNanos,
    page_token: Option<&str>,
) -> Option<String> {
    let mut path = format!(
        "/v2/stocks/{symbol}/bars?timeframe={}&start={}&end={}&limit=10000",
        timeframe_name(tf)?,
        start.to_rfc3339(),
        end.to_rfc3339()
    );
    if let Some(token) = page_token {
        path.push_str("&page_token=");
        path.push_str(token);
    }
    Some(path)
}

/// One page of REST bars and the next page's token.
pub fn parse_bars(
    body: &str,
    symbol: &Symbol,
    tf: Timeframe,
) -> Result<(Vec<Bar>, Option<String>), String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("bars reply: {e}"))?;
    let mut bars = Vec::new();
    for b in value
        .get("bars")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let field = |k: &str| b.get(k).and_then(decimal);
        let bar = (|| {
            Some(Bar {
                symbol: symbol.clone(),
                timeframe: tf,
                ts: UnixNanos::parse(b.get("t")?.as_str()?).ok()?,
                open: field("o")?,
                high: field("h")?,
                low: field("l")?,
                close: field("c")?,
                volume: field("v")?,
            })
        })()
        .ok_or_else(|| format!("bars reply: a bar lacks t/o/h/l/c/v: {b}"))?;
        bars.push(bar);
    }
    let next = value
        .get("next_page_token")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((bars, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let (msgs, bad) = parse_frame(
            r#"[{"T":"t","S":"AAPL","i":1,"x":"V","p":126.55,"s":3,"t":"2021-02-22T15:51:44.208Z","c":["@"]},
                {"T":"q","S":"AAPL","bp":126.5,"bs":1,"ap":126.6,"as":2,"t":"2021-02-22T15:51:45.335689322Z"},
                {"T":"t","S":"AAPL"},{"T":"b"}]"#,
        );
        assert_eq!(bad, 1);
        assert_eq!(msgs.len(), 3);
        match &msgs[0] {
            StreamMsg::Trade { price, ts, .. } => {
                assert_eq!(price.to_string(), "126.55");
                assert_eq!(ts.to_rfc3339(), "2021-02-22T15:51:44.208Z");
            }
            m => panic!("{m:?}"),
        }
        assert_eq!(parse_frame("{nope").1, 1);
        assert_eq!(
            timeframe_name(Timeframe::parse("5m").unwrap()).unwrap(),
            "5Min"
        );
        assert_eq!(
            timeframe_name(Timeframe::parse("1d").unwrap()).unwrap(),
            "1Day"
        );
        assert!(timeframe_name(Timeframe::parse("5s").unwrap()).is_none());
    }
}
