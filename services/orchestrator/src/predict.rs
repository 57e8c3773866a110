//! One prediction: the fan-out, then the decision.
//!
//! 1. Concurrently: bars (`md.symbols.list` + `md.bars.get`, the newest
//!    `lookback`), quote, sentiment, regime.
//! 2. On the bars, concurrently: indicators (`ind.compute` RSI 14, SMA 50 over
//!    the same range) and the strategy (run here with `shared/strategy` on
//!    the fetched bars: which position does it want now).
//! 3. The decision from the parts present ([`decide`]), then risk: the
//!    proposed size halved until `risk.check` accepts (at most 6 tries).

use std::time::Instant;

use bus::api::md::{BarsRequest, BarsResponse, QuoteRequest, SymbolsRequest, SymbolsResponse};
use bus::api::orchestrator::{
    Action, Decision, PredictRequest, PredictResponse, Step, StepStatus, StrategySpec, MAX_LOOKBACK,
};
use bus::api::risk::CheckRequest;
use bus::api::sentiment::{SymbolRequest, SymbolSentiment};
use bus::api::strategy::ComputeRequest;
use bus::{subjects, RequestError, ServiceError};
use model::{Bar, Decimal, Direction, Quote, Side, Symbol, Timeframe};
use serde::Serialize;
use serde_json::{json, Value};

use crate::call::{self, Missing, Outcome};
use crate::Ctx;

pub const DEFAULT_LOOKBACK: u32 = 300;
const DEFAULT_QTY: u32 = 100;
const RISK_TRIES: usize = 6;

/// Weights of the parts in the combined view.
const W_STRATEGY: f64 = 0.55;
const W_SENTIMENT: f64 = 0.2;
const W_REGIME: f64 = 0.15;
const W_RSI: f64 = 0.1;

/// Checks the request before anything is asked.
pub fn validate(req: &PredictRequest) -> Result<Vec<StrategySpec>, ServiceError> {
    if let Some(lookback) = req.lookback {
        if lookback == 0 || lookback > MAX_LOOKBACK {
            return Err(ServiceError::bad_request(format!(
                "lookback must be between 1 and {MAX_LOOKBACK}"
            )));
        }
    }
    if let Some(qty) = req.qty {
        if qty <= Decimal::ZERO || qty > Decimal::from(1_000_000_000u64) {
            return Err(ServiceError::bad_request(
                "qty must be positive and at most 1e9",
            ));
        }
    }
    if let Some(account) = &req.account {
        bus::error::check_id("account", account)?;
    }
    let specs = match (&req.strategy, &req.ensemble) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::bad_request(
                "send `strategy` or `ensemble`, not both",
            ))
        }
        (Some(s), None) => vec![s.clone()],
        (None, Some(e)) if e.is_empty() || e.len() > 16 => {
            return Err(ServiceError::bad_request(
                "an ensemble has 1 to 16 strategies",
            ))
        }
        (None, Some(e)) => e.clone(),
        (None, None) => vec![StrategySpec {
            kind: "sma_cross".to_string(),
            params: Default::default(),
            weight: None,
        }],
    };
    for s in &specs {
        let w = s.weight.unwrap_or(1.0);
        if !w.is_finite() || w < 0.0 {
            return Err(ServiceError::bad_request(format!(
                "weight of {} must be a non-negative number",
                s.kind
            )));
        }
        strategy::resolve_params(&s.kind, &s.params)
            .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    }
    Ok(specs)
}

pub async fn predict(
    ctx: &Ctx,
    req: &PredictRequest,
    specs: &[StrategySpec],
    cid: &str,
) -> PredictResponse {
    let started = Instant::now();
    let lookback = req.lookback.unwrap_or(DEFAULT_LOOKBACK);
    let quote_req = QuoteRequest {
        symbol: req.symbol.clone(),
    };
    let sentiment_req = SymbolRequest {
        symbol: req.symbol.clone(),
        window_secs: None,
        half_life_secs: None,
        at: None,
    };
    let regime_req = json!({"symbol": req.symbol, "timeframe": req.timeframe});
    let (bars, quote, sentiment, regime) = tokio::join!(
        bars_step(ctx, &req.symbol, req.timeframe, lookback, cid),
        call::request::<_, Quote>(ctx, "quote", subjects::md::QUOTE_GET, &quote_req, cid),
        call::request::<_, SymbolSentiment>(
            ctx,
            "sentiment",
            subjects::sentiment::SYMBOL_GET,
            &sentiment_req,
            cid
        ),
        call::request::<_, Value>(ctx, "regime", subjects::regime::GET, &regime_req, cid),
    );
    let bar_list = bars.value.clone().unwrap_or_default();
    let (indicators, strategy) = tokio::join!(indicators_step(ctx, req, &bar_list, cid), async {
        strategy_step(req, specs, &bars.value)
    },);
    let regime_label = regime.value.as_ref().and_then(regime_label);
    let mut view = View {
        strategy: strategy.value.as_ref().map(|s| s.vote),
        sentiment: sentiment.value.as_ref().map(|s| s.score),
        regime: regime_label.clone(),
        rsi: indicators.value.as_ref().and_then(|v| v["rsi"].as_f64()),
        reasons: Vec::new(),
    };
    if let Some(s) = &strategy.value {
        view.reasons.extend(s.reasons.iter().cloned());
    }
    let (action, confidence) = decide(&mut view);
    let last_close = bar_list.last().map(|b| b.close);
    let price = quote.value.as_ref().map(|q| q.last).or(last_close);
    let proposed = req.qty.unwrap_or_else(|| Decimal::from(DEFAULT_QTY));
    let risk = risk_step(ctx, req, action, proposed, price, cid).await;
    let size = match (&risk.value, action) {
        (_, Action::Hold) => Decimal::ZERO,
        (Some(allowed), _) => allowed.qty,
        (None, _) if risk.step.status == StepStatus::Skipped => proposed,
        (None, _) => Decimal::ZERO,
    };
    if let Some(allowed) = &risk.value {
        view.reasons.push(allowed.reason.clone());
    } else if action != Action::Hold && risk.step.status != StepStatus::Skipped {
        view.reasons
            .push("risk did not answer: no size is allowed without it".to_string());
    }
    let steps: Vec<Step> = vec![
        bars.step,
        quote.step,
        indicators.step,
        sentiment.step,
        regime.step,
        strategy.step,
        risk.step,
    ];
    let missing: Vec<String> = steps
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                StepStatus::Failed | StepStatus::Timeout | StepStatus::CircuitOpen
            ) || (s.status == StepStatus::Skipped && s.error.is_some())
        })
        .map(|s| s.name.clone())
        .collect();
    PredictResponse {
        symbol: req.symbol.clone(),
        timeframe: req.timeframe,
        decision: Decision {
            action,
            size,
            confidence,
            reasons: view.reasons,
        },
        partial: !missing.is_empty(),
        missing,
        steps,
        bar_ts: bar_list.last().map(|b| b.ts),
        elapsed_ms: call::elapsed_ms(started.elapsed()),
    }
}

/// The newest `lookback` bars: the series' last time from `md.symbols.list`,
/// then the bars from twice the span before it (weekends and holidays).
async fn bars_step(
    ctx: &Ctx,
    symbol: &Symbol,
    timeframe: Timeframe,
    lookback: u32,
    cid: &str,
) -> Outcome<Vec<Bar>> {
    let options = bus::RequestOptions {
        timeout: ctx.config.step_timeout,
        correlation_id: Some(cid.to_string()),
    };
    let work = async {
        let symbols: SymbolsResponse = bus::request(
            &ctx.client,
            subjects::md::SYMBOLS_LIST,
            &SymbolsRequest {},
            options.clone(),
        )
        .await?;
        let last_ts = symbols
            .symbols
            .iter()
            .find(|s| &s.symbol == symbol)
            .and_then(|s| s.series.iter().find(|x| x.timeframe == timeframe))
            .map(|x| x.last_ts);
        let Some(last_ts) = last_ts else {
            return Err(RequestError::Service(ServiceError::not_found(format!(
                "no {timeframe} bars of {symbol}"
            ))));
        };
        let span = timeframe.nanos().saturating_mul(i64::from(lookback) * 2);
        let page: BarsResponse = bus::request(
            &ctx.client,
            subjects::md::BARS_GET,
            &BarsRequest {
                symbol: symbol.clone(),
                timeframe,
                from: Some(model::UnixNanos(last_ts.0.saturating_sub(span))),
                to: Some(last_ts),
                limit: Some(bus::api::md::MAX_BARS),
            },
            options.clone(),
        )
        .await?;
        let mut bars = page.bars;
        let skip = bars.len().saturating_sub(lookback as usize);
        bars.drain(..skip);
        Ok(bars)
    };
    let mut out = call::guarded(ctx, "market-data", subjects::md::BARS_GET, work).await;
    out.step.name = "bars".to_string();
    // The bars themselves are the input of the next steps; report a summary.
    if let Some(bars) = &out.value {
        out.step.result = json!({
            "bars": bars.len(),
            "first_ts": bars.first().map(|b| b.ts),
            "last_ts": bars.last().map(|b| b.ts),
            "last_close": bars.last().map(|b| b.close),
        });
    }
    out
}

fn last_value(v: &bus::api::strategy::ComputeResponse, column: &str) -> Option<f64> {
    v.points.last().and_then(|p| p.values.get(column).copied())
}

/// RSI 14 and SMA 50 over the bars' range (the stored bars, read by the
/// strategy service).
async fn indicators_step(
    ctx: &Ctx,
    req: &PredictRequest,
    bars: &[Bar],
    cid: &str,
) -> Outcome<Value> {
    let started = Instant::now();
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return skipped(
            "indicators",
            subjects::strategy::IND_COMPUTE,
            started,
            "no bars",
        );
    };
    let ask = |indicator: &str, period: u32| ComputeRequest {
        indicator: indicator.to_string(),
        params: json!({ "period": period })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        symbol: Some(req.symbol.clone()),
        timeframe: req.timeframe,
        from: Some(first.ts),
        to: Some(last.ts),
        bars: None,
    };
    let (rsi, sma) = (ask("rsi", 14), ask("sma", 50));
    let options = || bus::RequestOptions {
        timeout: ctx.config.step_timeout,
        correlation_id: Some(cid.to_string()),
    };
    let work = async {
        let (rsi, sma) = tokio::join!(
            bus::request::<_, bus::api::strategy::ComputeResponse>(
                &ctx.client,
                subjects::strategy::IND_COMPUTE,
                &rsi,
                options()
            ),
            bus::request::<_, bus::api::strategy::ComputeResponse>(
                &ctx.client,
                subjects::strategy::IND_COMPUTE,
                &sma,
                options()
            ),
        );
        let (rsi, sma) = (rsi?, sma?);
        Ok(json!({
            "rsi": last_value(&rsi, "rsi").or_else(|| last_value(&rsi, "value")),
            "sma50": last_value(&sma, "sma").or_else(|| last_value(&sma, "value")),
            "rsi_columns": rsi.columns,
        }))
    };
    let mut out = call::guarded(ctx, "indicators", subjects::strategy::IND_COMPUTE, work).await;
    out.step.name = "indicators".to_string();
    out
}

fn skipped<T: Serialize>(name: &str, subject: &str, started: Instant, why: &str) -> Outcome<T> {
    let mut out = call::finish::<T>(
        name,
        subject,
        started,
        Err(Missing {
            status: StepStatus::Skipped,
            error: why.to_string(),
        }),
    );
    out.step.error = Some(why.to_string());
    out
}

#[derive(Debug, Clone, Serialize)]
struct StrategyView {
    /// Weighted vote of the strategies' wanted positions, in [-1, 1].
    vote: f64,
    signals: Vec<Value>,
    #[serde(skip)]
    reasons: Vec<String>,
}

/// Runs each strategy over the bars (shared/strategy, as live and backtest
/// do); the position it wants now is its last signal's direction.
fn strategy_step(
    req: &PredictRequest,
    specs: &[StrategySpec],
    bars: &Option<Vec<Bar>>,
) -> Outcome<StrategyView> {
    let started = Instant::now();
    let Some(bars) = bars.as_ref().filter(|b| !b.is_empty()) else {
        return skipped("strategy", "", started, "no bars");
    };
    let (mut total, mut weights) = (0.0, 0.0);
    let mut signals = Vec::new();
    let mut reasons = Vec::new();
    for spec in specs {
        let mut s =
            match strategy::build(&spec.kind, &spec.params, req.symbol.clone(), req.timeframe) {
                Ok(s) => s,
                Err(e) => {
                    return call::finish(
                        "strategy",
                        "",
                        started,
                        Err(Missing::failed(e.to_string())),
                    )
                }
            };
        let last = bars.iter().filter_map(|b| s.on_bar(b)).last();
        let weight = spec.weight.unwrap_or(1.0);
        let direction = last.as_ref().map(|sig| sig.direction);
        let value = match direction {
            Some(Direction::Long) => 1.0,
            Some(Direction::Short) => -1.0,
            _ => 0.0,
        };
        total += weight * value;
        weights += weight;
        match &last {
            Some(sig) => reasons.push(format!(
                "{}: wants {:?} since {} ({})",
                spec.kind, sig.direction, sig.ts, sig.reason
            )),
            None => reasons.push(format!("{}: no signal in {} bars", spec.kind, bars.len())),
        }
        signals.push(json!({
            "kind": spec.kind,
            "weight": weight,
            "direction": direction,
            "signal": last,
        }));
    }
    let vote = if weights > 0.0 { total / weights } else { 0.0 };
    call::finish(
        "strategy",
        "",
        started,
        Ok(StrategyView {
            vote,
            signals,
            reasons,
        }),
    )
}

/// The regime's label, whichever field the regime service names it in.
fn regime_label(v: &Value) -> Option<String> {
    ["label", "regime", "state"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// The parts a decision is taken from (absent ones are `None`).
#[derive(Debug, Default)]
pub struct View {
    pub strategy: Option<f64>,
    pub sentiment: Option<f64>,
    pub regime: Option<String>,
    pub rsi: Option<f64>,
    pub reasons: Vec<String>,
}

/// The combined view: the weighted mean of the parts present (strategy
/// vote, sentiment score, regime trend ±1, RSI beyond 30/70 as ±1 against
/// it), buy above 0.1, sell below -0.1. Confidence: |combined| scaled by the
/// share of weight present, halved in a high-volatility regime. Without a
/// strategy there is no decision (hold).
pub fn decide(view: &mut View) -> (Action, f64) {
    let Some(vote) = view.strategy else {
        view.reasons
            .push("no strategy view (no bars): hold".to_string());
        return (Action::Hold, 0.0);
    };
    let mut parts = vec![(W_STRATEGY, vote)];
    if let Some(s) = view.sentiment {
        parts.push((W_SENTIMENT, s.clamp(-1.0, 1.0)));
        view.reasons.push(format!("news sentiment {s:.3}"));
    }
    let mut volatile = false;
    if let Some(label) = &view.regime {
        let trend = match label.as_str() {
            "trending_up" | "bull" | "up" => 1.0,
            "trending_down" | "bear" | "down" => -1.0,
            "high_volatility" | "volatile" => {
                volatile = true;
                0.0
            }
            _ => 0.0,
        };
        parts.push((W_REGIME, trend));
        view.reasons.push(format!("regime {label}"));
    }
    if let Some(rsi) = view.rsi {
        let lean = if rsi < 30.0 {
            1.0
        } else if rsi > 70.0 {
            -1.0
        } else {
            0.0
        };
        parts.push((W_RSI, lean));
        view.reasons.push(format!("RSI(14) {rsi:.1}"));
    }
    let present: f64 = parts.iter().map(|(w, _)| w).sum();
    let combined = parts.iter().map(|(w, v)| w * v).sum::<f64>() / present;
    let all = W_STRATEGY + W_SENTIMENT + W_REGIME + W_RSI;
    let mut confidence = (combined.abs() * present / all).clamp(0.0, 1.0);
    if volatile {
        confidence /= 2.0;
    }
    let action = if combined > 0.1 {
        Action::Buy
    } else if combined < -0.1 {
        Action::Sell
    } else {
        Action::Hold
    };
    view.reasons.push(format!("combined view {combined:.3}"));
    (action, (confidence * 1e4).round() / 1e4)
}

#[derive(Debug, Clone, Serialize)]
struct Allowed {
    qty: Decimal,
    tries: usize,
    #[serde(skip)]
    reason: String,
    last_answer: Value,
}

/// The largest of `proposed`, `proposed/2`, … (whole units) risk accepts.
async fn risk_step(
    ctx: &Ctx,
    req: &PredictRequest,
    action: Action,
    proposed: Decimal,
    price: Option<Decimal>,
    cid: &str,
) -> Outcome<Allowed> {
    let started = Instant::now();
    let Some(account) = &req.account else {
        let mut out = skipped::<Allowed>("risk", subjects::risk::CHECK, started, "");
        out.step.error = None;
        out.step.result = json!("no account given: size not checked");
        return out;
    };
    let side = match action {
        Action::Buy => Side::Buy,
        Action::Sell => Side::Sell,
        Action::Hold => {
            let mut out = skipped::<Allowed>("risk", subjects::risk::CHECK, started, "");
            out.step.error = None;
            out.step.result = json!("hold: nothing to size");
            return out;
        }
    };
    let options = bus::RequestOptions {
        timeout: ctx.config.step_timeout,
        correlation_id: Some(cid.to_string()),
    };
    let work = async {
        let mut qty = proposed;
        let mut last_answer = Value::Null;
        for tries in 1..=RISK_TRIES {
            let answer: bus::api::risk::CheckResponse = bus::request(
                &ctx.client,
                subjects::risk::CHECK,
                &CheckRequest {
                    account: account.clone(),
                    symbol: req.symbol.clone(),
                    side,
                    qty,
                    price,
                    reduce_only: false,
                    client_order_id: None,
                    commission_pct: Decimal::ZERO,
                    commission_fixed: Decimal::ZERO,
                    orders_sequence: None,
                },
                options.clone(),
            )
            .await?;
            last_answer = serde_json::to_value(&answer).unwrap_or_default();
            if answer.accepted {
                return Ok(Allowed {
                    qty,
                    tries,
                    reason: format!("risk allows {qty} of {proposed} proposed"),
                    last_answer,
                });
            }
            let half = (qty / Decimal::TWO).floor();
            if half < Decimal::ONE {
                break;
            }
            qty = half;
        }
        let why = last_answer["violations"][0]["message"]
            .as_str()
            .unwrap_or("rejected")
            .to_string();
        Ok(Allowed {
            qty: Decimal::ZERO,
            tries: RISK_TRIES,
            reason: format!("risk allows no size: {why}"),
            last_answer,
        })
    };
    let mut out = call::guarded(ctx, "risk", subjects::risk::CHECK, work).await;
    out.step.name = "risk".to_string();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_from_parts() {
        let mut all = View {
            strategy: Some(1.0),
            sentiment: Some(0.5),
            regime: Some("trending_up".into()),
            rsi: Some(50.0),
            reasons: vec![],
        };
        // (0.55 + 0.1 + 0.15 + 0) / 1.0
        assert_eq!(decide(&mut all), (Action::Buy, 0.8));
        let mut no_sentiment = View {
            strategy: Some(-1.0),
            rsi: Some(80.0),
            ..Default::default()
        };
        // (-0.55 - 0.1) / 0.65 = -1; confidence scaled by 0.65 present.
        assert_eq!(decide(&mut no_sentiment), (Action::Sell, 0.65));
        let mut nothing = View::default();
        assert_eq!(decide(&mut nothing), (Action::Hold, 0.0));
        let mut volatile = View {
            strategy: Some(1.0),
            regime: Some("high_volatility".into()),
            ..Default::default()
        };
        // 0.55 / 0.7 combined, × 0.7 present, halved.
        let (action, confidence) = decide(&mut volatile);
        assert_eq!(action, Action::Buy);
        assert!((confidence - 0.275).abs() < 1e-9);
    }
}
