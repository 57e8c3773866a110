//! Protobuf twins of the hot endpoints' messages (`md.quote.get`, `md.bars.get`).
//! Written with prost's derive (no protoc needed); `proto/market.proto` at the
//! repository root is the same schema for other languages. Decimals travel as
//! strings, timestamps as int64 UTC nanoseconds.

use std::str::FromStr;

use model::{Bar, Decimal, Quote, Symbol, Timeframe, UnixNanos};

use crate::api::md::{BarsRequest, BarsResponse, QuoteRequest};
use crate::codec::ProtoConvert;

#[derive(Clone, PartialEq, prost::Message)]
pub struct QuoteRequestPb {
    #[prost(string, tag = "1")]
    pub symbol: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QuotePb {
    #[prost(string, tag = "1")]
    pub symbol: String,
    #[prost(int64, tag = "2")]
    pub ts: i64,
    #[prost(string, tag = "3")]
    pub bid: String,
    #[prost(string, tag = "4")]
    pub ask: String,
    #[prost(string, tag = "5")]
    pub last: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BarsRequestPb {
    #[prost(string, tag = "1")]
    pub symbol: String,
    #[prost(string, tag = "2")]
    pub timeframe: String,
    #[prost(int64, optional, tag = "3")]
    pub from: Option<i64>,
    #[prost(int64, optional, tag = "4")]
    pub to: Option<i64>,
    #[prost(uint32, optional, tag = "5")]
    pub limit: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BarPb {
    #[prost(int64, tag = "1")]
    pub ts: i64,
    #[prost(string, tag = "2")]
    pub open: String,
    #[prost(string, tag = "3")]
    pub high: String,
    #[prost(string, tag = "4")]
    pub low: String,
    #[prost(string, tag = "5")]
    pub close: String,
    #[prost(string, tag = "6")]
    pub volume: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BarsResponsePb {
    #[prost(string, tag = "1")]
    pub symbol: String,
    #[prost(string, tag = "2")]
    pub timeframe: String,
    #[prost(message, repeated, tag = "3")]
    pub bars: Vec<BarPb>,
    #[prost(int64, optional, tag = "4")]
    pub next_from: Option<i64>,
}

fn decimal(field: &str, s: &str) -> Result<Decimal, String> {
    Decimal::from_str(s).map_err(|e| format!("{field}: {e}"))
}

impl ProtoConvert for QuoteRequest {
    type Proto = QuoteRequestPb;
    fn from_proto(p: QuoteRequestPb) -> Result<Self, String> {
        Ok(QuoteRequest {
            symbol: Symbol::new(&p.symbol).map_err(|e| e.to_string())?,
        })
    }
    fn to_proto(&self) -> QuoteRequestPb {
        QuoteRequestPb {
            symbol: self.symbol.to_string(),
        }
    }
}

impl ProtoConvert for Quote {
    type Proto = QuotePb;
    fn from_proto(p: QuotePb) -> Result<Self, String> {
        Ok(Quote {
            symbol: Symbol::new(&p.symbol).map_err(|e| e.to_string())?,
            ts: UnixNanos(p.ts),
            bid: decimal("bid", &p.bid)?,
            ask: decimal("ask", &p.ask)?,
            last: decimal("last", &p.last)?,
        })
    }
    fn to_proto(&self) -> QuotePb {
        QuotePb {
            symbol: self.symbol.to_string(),
            ts: self.ts.0,
            bid: self.bid.to_string(),
            ask: self.ask.to_string(),
            last: self.last.to_string(),
        }
    }
}

impl ProtoConvert for BarsRequest {
    type Proto = BarsRequestPb;
    fn from_proto(p: BarsRequestPb) -> Result<Self, String> {
        let timeframe = if p.timeframe.is_empty() {
            Timeframe::DAY
        } else {
            Timeframe::parse(&p.timeframe).map_err(|e| e.to_string())?
        };
        Ok(BarsRequest {
            symbol: Symbol::new(&p.symbol).map_err(|e| e.to_string())?,
            timeframe,
            from: p.from.map(UnixNanos),
            to: p.to.map(UnixNanos),
            limit: p.limit,
        })
    }
    fn to_proto(&self) -> BarsRequestPb {
        BarsRequestPb {
            symbol: self.symbol.to_string(),
            timeframe: self.timeframe.to_string(),
            from: self.from.map(|t| t.0),
            to: self.to.map(|t| t.0),
            limit: self.limit,
        }
    }
}

impl ProtoConvert for BarsResponse {
    type Proto = BarsResponsePb;
    fn from_proto(p: BarsResponsePb) -> Result<Self, String> {
        let symbol = Symbol::new(&p.symbol).map_err(|e| e.to_string())?;
        let timeframe = Timeframe::parse(&p.timeframe).map_err(|e| e.to_string())?;
        let bars = p
            .bars
            .into_iter()
            .map(|b| {
                Ok(Bar {
                    symbol: symbol.clone(),
                    timeframe,
                    ts: UnixNanos(b.ts),
                    open: decimal("open", &b.open)?,
                    high: decimal("high", &b.high)?,
                    low: decimal("low", &b.low)?,
                    close: decimal("close", &b.close)?,
                    volume: decimal("volume", &b.volume)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(BarsResponse {
            symbol,
            timeframe,
            bars,
            next_from: p.next_from.map(UnixNanos),
        })
    }
    fn to_proto(&self) -> BarsResponsePb {
        BarsResponsePb {
            symbol: self.symbol.to_string(),
            timeframe: self.timeframe.to_string(),
            bars: self
                .bars
                .iter()
                .map(|b| BarPb {
                    ts: b.ts.0,
                    open: b.open.to_string(),
                    high: b.high.to_string(),
                    low: b.low.to_string(),
                    close: b.close.to_string(),
                    volume: b.volume.to_string(),
                })
                .collect(),
            next_from: self.next_from.map(|t| t.0),
        }
    }
}
