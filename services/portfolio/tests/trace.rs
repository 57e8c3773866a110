//! One trace across a paper trade: a simulated bar (market-data) → the
//! strategy's signal → execution's order, with its risk check → the fill
//! (paper exchange) → the position update (portfolio), all under the trace id
//! the bar started. Seen three ways: the `traceparent` on the stored events,
//! an in-process span recorder, and every service's log lines.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use bus::api::portfolio::Summary;
use bus::headers::TRACEPARENT;
use bus::trace::TraceContext;
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::Symbol;
use serde_json::json;
use testkit::Platform;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// A span as the recorder saw it when it closed.
#[derive(Debug, Clone, Default)]
struct SpanSeen {
    name: String,
    trace_id: String,
    service: String,
    endpoint: String,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<SpanSeen>>>);

struct Fields<'a>(&'a mut SpanSeen);
impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "trace_id" => self.0.trace_id = v,
            "service" => self.0.service = v,
            "endpoint" => self.0.endpoint = v,
            _ => {}
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = SpanSeen {
            name: attrs.metadata().name().to_string(),
            ..Default::default()
        };
        attrs.record(&mut Fields(&mut seen));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(seen);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(seen) = span.extensions_mut().get_mut::<SpanSeen>() {
                values.record(&mut Fields(seen));
            }
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(seen) = span.extensions_mut().remove::<SpanSeen>() {
                self.0.lock().unwrap().push(seen);
            }
        }
    }
}

/// The fmt output of the whole process, as the services' logs would be.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn lines_with(&self, needle: &str) -> Vec<String> {
        let all = self.0.lock().unwrap();
        String::from_utf8_lossy(&all)
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

fn observe() -> (Recorder, Logs) {
    static ONCE: OnceLock<(Recorder, Logs)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let (recorder, logs) = (Recorder::default(), Logs::default());
        let w = logs.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || w.clone())
            .with_filter(EnvFilter::new("debug,async_nats=warn"));
        tracing_subscriber::registry()
            .with(recorder.clone())
            .with(fmt)
            .try_init()
            .ok();
        (recorder, logs)
    })
    .clone()
}

/// The trace id in a stored message's `traceparent`.
fn trace_of(message: &async_nats::jetstream::Message) -> Option<String> {
    let tp = message
        .headers
        .as_ref()?
        .get(TRACEPARENT)?
        .as_str()
        .to_string();
    TraceContext::parse(&tp, None).map(|t| t.trace_id.to_string())
}

/// Every message of `filter` in `stream` so far.
async fn read(js: &jetstream::Context, stream: &str, filter: &str) -> Vec<jetstream::Message> {
    let consumer = js
        .get_stream(stream)
        .await
        .unwrap()
        .create_consumer(pull::OrderedConfig {
            filter_subject: filter.to_string(),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(Duration::from_millis(500), messages.next()).await
    {
        let pending = m.info().map(|i| i.pending).unwrap_or(0);
        out.push(m);
        if pending == 0 {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_trade_is_one_trace_from_bar_to_position() {
    let (recorder, logs) = observe();
    let data = tempfile::tempdir().unwrap();
    let md = market_data::Config {
        simulator: Some(market_data::SimulatorConfig {
            symbols: vec![Symbol::new("SIM-T").unwrap()],
            interval: Duration::from_secs(1),
            ticks_per_bar: 2,
            volatility: 2.0,
            seed: 11,
            ..Default::default()
        }),
        ..Default::default()
    };
    let portfolio = portfolio_service::Config::new(data.path().to_path_buf());
    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, move |c, s| {
            market_data::run(md.clone(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(strategy_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio.clone(), c, s.wait())
        })
        .start()
        .await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    let call = |subject: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move {
            request::<_, serde_json::Value>(
                &client,
                subject,
                &body,
                RequestOptions::timeout(Duration::from_secs(10)),
            )
            .await
            .unwrap_or_else(|e| panic!("{subject}: {e}"))
        }
    };
    let opened = call(
        subjects::portfolio::ACCOUNT_OPEN,
        json!({"account": "traced", "cash": "100000"}),
    )
    .await;
    let _: Summary = serde_json::from_value(opened).unwrap();
    call(
        "strategy.start",
        json!({"id": "tracer", "kind": "sma_cross", "params": {"fast": 2, "slow": 3},
            "symbols": ["SIM-T"], "timeframe": "1s", "mode": "paper", "account": "traced",
            "sizing": {"rule": "fixed_qty", "qty": "10"}}),
    )
    .await;

    // The first fill, and the trace it carries.
    let fill = testkit::wait_until("a paper fill", Duration::from_secs(120), || async {
        read(&js, subjects::streams::ORDERS, "evt.fill.traced.>")
            .await
            .into_iter()
            .next()
    })
    .await;
    let trace_id = trace_of(&fill).expect("the fill carries a traceparent");

    // The bar that started it is in MARKET with that trace id (market-data
    // started the trace), and so are the signal, the acceptance and the
    // position update it led to.
    let in_stream = |stream: &'static str, filter: &'static str| {
        let (js, trace_id) = (js.clone(), trace_id.clone());
        async move {
            read(&js, stream, filter)
                .await
                .iter()
                .filter(|m| trace_of(m).as_deref() == Some(trace_id.as_str()))
                .count()
        }
    };
    assert_eq!(
        in_stream(subjects::streams::MARKET, "md.bar.>").await,
        1,
        "one bar started it"
    );
    assert!(
        in_stream(subjects::streams::SIGNALS, subjects::streams::ALL_SIGNALS).await >= 1,
        "the signal"
    );
    assert!(
        in_stream(subjects::streams::ORDERS, "evt.order.traced.accepted").await >= 1,
        "the order"
    );
    testkit::wait_until(
        "the position update in the trace",
        Duration::from_secs(30),
        || async {
            (in_stream(subjects::streams::PORTFOLIO, "evt.portfolio.traced").await >= 1)
                .then_some(())
        },
    )
    .await;

    // The span recorder saw a span of every hop under that trace id.
    let expected = [
        ("bar", subjects::md::SERVICE),
        ("bar", subjects::strategy::SERVICE),
        ("signal", subjects::execution::SERVICE),
        ("request", subjects::risk::SERVICE),
        ("execution", subjects::execution::SERVICE),
        ("position", subjects::portfolio::SERVICE),
    ];
    let spans = testkit::wait_until("every hop's span", Duration::from_secs(30), || async {
        let spans: Vec<SpanSeen> = recorder
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect();
        expected
            .iter()
            .all(|(name, service)| {
                spans
                    .iter()
                    .any(|s| s.name == *name && s.service == *service)
            })
            .then_some(spans)
    })
    .await;
    assert!(
        spans
            .iter()
            .any(|s| s.name == "request" && s.endpoint == "risk_check"),
        "the risk check: {spans:?}"
    );
    assert!(
        spans.iter().any(|s| s.name == "apply"),
        "ORDERS followers applied it in the trace"
    );

    // And every service's log lines carry it.
    let lines = logs.lines_with(&format!("trace_id={trace_id}"));
    for service in [
        subjects::md::SERVICE,
        subjects::strategy::SERVICE,
        subjects::execution::SERVICE,
        subjects::risk::SERVICE,
        subjects::portfolio::SERVICE,
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("service=\"{service}\""))),
            "a {service} log line with trace_id={trace_id}: {lines:#?}"
        );
    }
}
