//! `ind.compute`: one indicator over stored bars (fetched page by page from
//! `md.bars.get`) or over bars sent inline.

use std::collections::BTreeMap;
use std::sync::Arc;

use bus::api::strategy::{ComputeRequest, ComputeResponse, IndicatorPoint, InlineBar};
use bus::queries::fetch_bars;
use bus::{RequestContext, RequestOptions, ServiceError};
use indicators::{Atr, BollingerBands, Ema, Hlc, Indicator, Macd, Rsi, Sma, Stoch, Wma};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value};

use crate::Ctx;

/// Most bars one request computes over.
const MAX_BARS: usize = 100_000;

pub async fn handle(
    ctx: Arc<Ctx>,
    rc: RequestContext,
    req: ComputeRequest,
) -> Result<ComputeResponse, ServiceError> {
    let mut calc = Calc::new(&req.indicator, &req.params)?;
    let bars = match (&req.bars, &req.symbol) {
        (Some(bars), None) => bars.clone(),
        (None, Some(_)) => stored_bars(&ctx, &rc, &req).await?,
        _ => {
            return Err(ServiceError::bad_request(
                "send exactly one of `symbol` (stored bars) or `bars` (inline)",
            ))
        }
    };
    if bars.is_empty() {
        return Err(ServiceError::bad_request("no bars to compute over"));
    }
    if bars.len() > MAX_BARS {
        return Err(ServiceError::bad_request(format!(
            "at most {MAX_BARS} bars per request"
        )));
    }
    if bars.windows(2).any(|w| w[1].ts <= w[0].ts) {
        return Err(ServiceError::bad_request(
            "bars must be in strictly increasing time order",
        ));
    }
    let mut points = Vec::new();
    for bar in &bars {
        if let Some(values) = calc.update(bar)? {
            points.push(IndicatorPoint { ts: bar.ts, values });
        }
    }
    Ok(ComputeResponse {
        indicator: req.indicator.to_ascii_lowercase(),
        params: calc.params,
        columns: calc.columns.iter().map(|c| c.to_string()).collect(),
        lookback: calc.lookback,
        points,
    })
}

async fn stored_bars(
    ctx: &Ctx,
    rc: &RequestContext,
    req: &ComputeRequest,
) -> Result<Vec<InlineBar>, ServiceError> {
    let symbol = req.symbol.clone().expect("checked by the caller");
    let bars = fetch_bars(
        &ctx.client,
        &symbol,
        req.timeframe,
        (req.from, req.to),
        MAX_BARS,
        RequestOptions {
            timeout: ctx.config.request_timeout,
            correlation_id: Some(rc.correlation_id.clone()),
        },
    )
    .await?;
    Ok(bars
        .into_iter()
        .map(|b| InlineBar {
            ts: b.ts,
            open: Some(b.open),
            high: Some(b.high),
            low: Some(b.low),
            close: b.close,
        })
        .collect())
}

/// One indicator behind a uniform face: JSON params in, named columns out.
struct Calc {
    params: Map<String, Value>,
    columns: &'static [&'static str],
    lookback: usize,
    kind: Kind,
}

enum Kind {
    Sma(Sma),
    Ema(Ema),
    Wma(Wma),
    Rsi(Rsi),
    Macd(Macd),
    Bbands(BollingerBands),
    Atr(Atr),
    Stoch(Stoch),
}

/// Reads parameters with defaults, rejecting unknown ones.
struct ParamReader<'a> {
    given: &'a Map<String, Value>,
    used: Map<String, Value>,
}

impl ParamReader<'_> {
    fn int(&mut self, name: &str, default: usize) -> Result<usize, ServiceError> {
        let v = match self.given.get(name) {
            None => default,
            Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
                ServiceError::bad_request(format!(
                    "parameter {name}: expected a whole number, got {v}"
                ))
            })?,
        };
        self.used.insert(name.to_string(), Value::from(v));
        Ok(v)
    }
    fn float(&mut self, name: &str, default: f64) -> Result<f64, ServiceError> {
        let v = match self.given.get(name) {
            None => default,
            Some(v) => v.as_f64().ok_or_else(|| {
                ServiceError::bad_request(format!("parameter {name}: expected a number, got {v}"))
            })?,
        };
        self.used.insert(name.to_string(), Value::from(v));
        Ok(v)
    }
    fn finish(self) -> Result<Map<String, Value>, ServiceError> {
        if let Some(unknown) = self.given.keys().find(|k| !self.used.contains_key(*k)) {
            let known: Vec<&str> = self.used.keys().map(String::as_str).collect();
            return Err(ServiceError::bad_request(format!(
                "unknown parameter {unknown:?}; known: {}",
                known.join(", ")
            )));
        }
        Ok(self.used)
    }
}

fn invalid(e: indicators::IndicatorError) -> ServiceError {
    ServiceError::bad_request(e.to_string())
}

impl Calc {
    fn new(name: &str, params: &Map<String, Value>) -> Result<Calc, ServiceError> {
        let mut p = ParamReader {
            given: params,
            used: Map::new(),
        };
        let (kind, columns): (Kind, &'static [&'static str]) =
            match name.to_ascii_lowercase().as_str() {
                "sma" => (
                    Kind::Sma(Sma::new(p.int("period", 20)?).map_err(invalid)?),
                    &["value"],
                ),
                "ema" => (
                    Kind::Ema(Ema::new(p.int("period", 20)?).map_err(invalid)?),
                    &["value"],
                ),
                "wma" => (
                    Kind::Wma(Wma::new(p.int("period", 20)?).map_err(invalid)?),
                    &["value"],
                ),
                "rsi" => (
                    Kind::Rsi(Rsi::new(p.int("period", 14)?).map_err(invalid)?),
                    &["value"],
                ),
                "atr" => (
                    Kind::Atr(Atr::new(p.int("period", 14)?).map_err(invalid)?),
                    &["value"],
                ),
                "macd" => (
                    Kind::Macd(
                        Macd::new(p.int("fast", 12)?, p.int("slow", 26)?, p.int("signal", 9)?)
                            .map_err(invalid)?,
                    ),
                    &["macd", "signal", "hist"],
                ),
                "bbands" => (
                    Kind::Bbands(
                        BollingerBands::new(
                            p.int("period", 20)?,
                            p.float("nbdevup", 2.0)?,
                            p.float("nbdevdn", 2.0)?,
                        )
                        .map_err(invalid)?,
                    ),
                    &["upper", "middle", "lower"],
                ),
                "stoch" => (
                    Kind::Stoch(
                        Stoch::new(p.int("fastk", 5)?, p.int("slowk", 3)?, p.int("slowd", 3)?)
                            .map_err(invalid)?,
                    ),
                    &["slowk", "slowd"],
                ),
                other => {
                    return Err(ServiceError::bad_request(format!(
                "unknown indicator {other:?}; known: sma, ema, wma, rsi, macd, bbands, atr, stoch"
            )))
                }
            };
        let params = p.finish()?;
        let lookback = match &kind {
            Kind::Sma(i) => i.lookback(),
            Kind::Ema(i) => i.lookback(),
            Kind::Wma(i) => i.lookback(),
            Kind::Rsi(i) => i.lookback(),
            Kind::Macd(i) => i.lookback(),
            Kind::Bbands(i) => i.lookback(),
            Kind::Atr(i) => i.lookback(),
            Kind::Stoch(i) => i.lookback(),
        };
        Ok(Calc {
            params,
            columns,
            lookback,
            kind,
        })
    }

    fn update(&mut self, bar: &InlineBar) -> Result<Option<BTreeMap<String, f64>>, ServiceError> {
        let close = bar.close.to_f64().unwrap_or(f64::NAN);
        let hlc = || -> Result<Hlc, ServiceError> {
            match (bar.high, bar.low) {
                (Some(h), Some(l)) => Ok(Hlc {
                    high: h.to_f64().unwrap_or(f64::NAN),
                    low: l.to_f64().unwrap_or(f64::NAN),
                    close,
                }),
                _ => Err(ServiceError::bad_request(format!(
                    "this indicator needs high and low on every bar (missing at {})",
                    bar.ts
                ))),
            }
        };
        let one = |v: Option<f64>| v.map(|v| BTreeMap::from([("value".to_string(), v)]));
        let out = match &mut self.kind {
            Kind::Sma(i) => one(i.update(close).map_err(invalid)?),
            Kind::Ema(i) => one(i.update(close).map_err(invalid)?),
            Kind::Wma(i) => one(i.update(close).map_err(invalid)?),
            Kind::Rsi(i) => one(i.update(close).map_err(invalid)?),
            Kind::Atr(i) => one(i.update(hlc()?).map_err(invalid)?),
            Kind::Macd(i) => i.update(close).map_err(invalid)?.map(|v| {
                BTreeMap::from([
                    ("macd".to_string(), v.macd),
                    ("signal".to_string(), v.signal),
                    ("hist".to_string(), v.hist),
                ])
            }),
            Kind::Bbands(i) => i.update(close).map_err(invalid)?.map(|v| {
                BTreeMap::from([
                    ("upper".to_string(), v.upper),
                    ("middle".to_string(), v.middle),
                    ("lower".to_string(), v.lower),
                ])
            }),
            Kind::Stoch(i) => i.update(hlc()?).map_err(invalid)?.map(|v| {
                BTreeMap::from([
                    ("slowk".to_string(), v.slowk),
                    ("slowd".to_string(), v.slowd),
                ])
            }),
        };
        Ok(out)
    }
}
