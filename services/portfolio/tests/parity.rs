//! Backtest–paper parity: GOOG traded by a paper strategy through market-data,
//! strategy, risk, execution and portfolio gives the backtest engine's trades
//! (bar, side, size, price, commission) one for one, and its cash, realized
//! P&L and equity to the cent. The expected numbers come from
//! `backtest::run`, whose own fixtures come from backtesting.py.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use bus::api::orders::ListResponse;
use bus::api::portfolio::Summary;
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::{Bar, Decimal, Event, Side, Symbol, Timeframe};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::{Instance, Platform};
use trading::event::{Fill, OrderEvent};
use trading::Order;

const CASH: Decimal = dec!(10000);

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
    commission: Decimal,
    data: tempfile::TempDir,
}

impl Env {
    /// Every service but execution and portfolio, GOOG imported whole.
    async fn start(commission: Decimal) -> Env {
        Env::start_with(commission, goog().len()).await
    }

    /// The same with the first `rows` GOOG bars imported.
    async fn start_with(commission: Decimal, rows: usize) -> Env {
        let strategy = strategy_service::Config {
            lease_ttl: Duration::from_millis(1500),
            ..Default::default()
        };
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |c, s| {
                market_data::run(market_data::Config::default(), c, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |c, s| {
                risk_service::run(risk_service::Config::default(), c, s.wait())
            })
            .service(subjects::strategy::SERVICE, 1, move |c, s| {
                strategy_service::run(strategy.clone(), c, s.wait())
            })
            .service(subjects::analytics::SERVICE, 1, |c, s| {
                analytics_service::run(analytics_service::Config::default(), c, s.wait())
            })
            .start()
            .await;
        platform.import_goog(0..rows).await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
            commission,
            data: tempfile::tempdir().unwrap(),
        }
    }

    async fn execution(&self) -> Arc<Instance> {
        let config = execution_service::Config {
            lease_ttl: Duration::from_millis(1500),
            exchange: execution_service::ExchangeConfig {
                commission_pct: self.commission,
                ..Default::default()
            },
            ..Default::default()
        };
        self.platform
            .add(subjects::execution::SERVICE, move |c, s| {
                execution_service::run(config.clone(), c, s.wait())
            })
            .await
    }

    async fn portfolio(&self) -> Arc<Instance> {
        let config = portfolio_service::Config::new(self.data.path().to_path_buf());
        self.platform
            .add(subjects::portfolio::SERVICE, move |c, s| {
                portfolio_service::run(config.clone(), c, s.wait())
            })
            .await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        subject: &str,
        body: serde_json::Value,
    ) -> T {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap_or_else(|e| panic!("{subject} {body}: {e}"))
    }

    /// A 10,000 margin-1 account (backtesting.py's default broker) trading
    /// `kind` on GOOG, all in, sized at the fill.
    async fn start_paper(&self, account: &str, kind: &str, fast: u32, slow: u32) {
        self.start_paper_sized(account, kind, fast, slow, "at_fill")
            .await
    }

    async fn start_paper_sized(&self, account: &str, kind: &str, fast: u32, slow: u32, at: &str) {
        let _: Summary = self
            .call(
                subjects::portfolio::ACCOUNT_OPEN,
                json!({"account": account, "cash": CASH.to_string()}),
            )
            .await;
        let _: serde_json::Value = self
            .call(
                subjects::risk::LIMITS_SET,
                json!({"account": account, "limits": {
                    "buying_power": {"type": "margin", "leverage": "1"}}}),
            )
            .await;
        let _: serde_json::Value = self
            .call(
                subjects::strategy::START,
                json!({"id": account, "kind": kind, "params": {"fast": fast, "slow": slow},
                    "symbols": ["GOOG"], "mode": "paper", "account": account,
                    "sizing": {"rule": "all_in"}, "sizing_at": at}),
            )
            .await;
    }

    async fn fills(&self, account: &str) -> Vec<Fill> {
        let stream = self.js.get_stream(subjects::streams::ORDERS).await.unwrap();
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: format!("evt.fill.{account}.>"),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        if consumer.cached_info().num_pending == 0 {
            return out;
        }
        let mut messages = consumer.messages().await.unwrap();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_secs(2), messages.next()).await
        {
            let e: Event<OrderEvent> = serde_json::from_slice(&m.payload).unwrap();
            if let OrderEvent::OrderFilled { fill } = e.data {
                out.push(fill);
            }
            if m.info().unwrap().pending == 0 {
                break;
            }
        }
        out
    }

    async fn orders(&self, account: &str) -> Vec<Order> {
        let r: ListResponse = self
            .call(
                subjects::execution::LIST,
                json!({"account": account, "limit": 100000}),
            )
            .await;
        r.orders
    }

    /// Waits until the strategy saw every bar, every signal became an order
    /// and at most the last one still works (its fill bar never comes), and
    /// the portfolio applied every fill; returns the fills and the summary.
    async fn settled(&self, account: &str) -> (Vec<Fill>, Summary) {
        let last = self
            .js
            .get_stream(subjects::streams::MARKET)
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .last_sequence;
        testkit::wait_until("strategy caught up", Duration::from_secs(120), || async {
            let s: bus::api::strategy::StrategyStatus = request(
                &self.client,
                subjects::strategy::STATUS,
                &json!({"id": account}),
                RequestOptions::timeout(Duration::from_secs(2)),
            )
            .await
            .ok()?;
            (s.position >= last && s.pending_bars == 0).then_some(())
        })
        .await;
        testkit::wait_until("signals consumed", Duration::from_secs(120), || async {
            let stream = self.js.get_stream(subjects::streams::SIGNALS).await.ok()?;
            let mut c = stream
                .get_consumer::<pull::Config>(subjects::execution::SIGNALS_CONSUMER)
                .await
                .ok()?;
            let info = c.info().await.ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        })
        .await;
        testkit::wait_until("orders settled", Duration::from_secs(120), || async {
            let orders = self.orders(account).await;
            (orders.iter().filter(|o| o.status.is_open()).count() <= 1).then_some(())
        })
        .await;
        testkit::wait_until("portfolio settled", Duration::from_secs(60), || async {
            let fills = self.fills(account).await;
            let s: Summary = request(
                &self.client,
                subjects::portfolio::SUMMARY_GET,
                &json!({"account": account}),
                RequestOptions::timeout(Duration::from_secs(2)),
            )
            .await
            .ok()?;
            (s.fills == fills.len() as u64).then_some((fills, s))
        })
        .await
    }
}

impl Env {
    /// `analytics.performance.get` of the account (equity rebuilt from its
    /// fills at every GOOG close) against the engine's statistics.
    async fn assert_same_statistics(&self, account: &str, report: &backtest::BacktestReport) {
        let perf: bus::api::analytics::Performance = self
            .call(
                subjects::analytics::PERFORMANCE_GET,
                json!({"source": {"account": {"account": account, "benchmark": "GOOG",
                    "timeframe": "1d", "equity": "fills"}}}),
            )
            .await;
        let got = serde_json::to_value(&perf.stats).unwrap();
        // Both through JSON text, as the reply came (serde_json's float
        // parsing may land one ulp off the printed value).
        let text = serde_json::to_string(&report.stats).unwrap();
        let want =
            serde_json::to_value(serde_json::from_str::<backtest::Stats>(&text).unwrap()).unwrap();
        let mut differ = Vec::new();
        for (k, w) in want.as_object().unwrap() {
            if got[k] != *w {
                differ.push(format!("{k}: paper {} engine {w}", got[k]));
            }
        }
        assert!(
            differ.is_empty(),
            "{account}: statistics differ: {differ:#?}"
        );
        assert!(
            want.as_object().unwrap().len() > 25,
            "every statistic compared"
        );
    }
}

fn goog() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

fn engine(kind: &str, fast: u32, slow: u32, commission: Decimal) -> backtest::BacktestReport {
    engine_sized(kind, fast, slow, commission, trading::SizingMoment::AtFill)
}

fn engine_sized(
    kind: &str,
    fast: u32,
    slow: u32,
    commission: Decimal,
    sizing_at: trading::SizingMoment,
) -> backtest::BacktestReport {
    let bars = goog();
    let params = json!({"fast": fast, "slow": slow});
    let params = strategy::resolve_params(kind, params.as_object().unwrap()).unwrap();
    let mut s =
        strategy::build(kind, &params, Symbol::new("GOOG").unwrap(), Timeframe::DAY).unwrap();
    backtest::run(
        &bars,
        s.as_mut(),
        &backtest::BacktestConfig {
            sizing_at,
            ..backtest::BacktestConfig::new(CASH, commission)
        },
    )
    .unwrap()
}

/// One fill as the comparison sees it: bar index, side, size, price, commission.
type Row = (usize, Side, Decimal, Decimal, Decimal);

/// The engine's trades as the fills one net order per bar makes: a reversal
/// is the exit of one trade and the entry of the next at the same open.
fn engine_fills(report: &backtest::BacktestReport, commission: Decimal) -> Vec<Row> {
    let mut legs: Vec<(usize, Decimal, Decimal)> = Vec::new(); // (bar, signed qty, price)
    for t in &report.trades {
        let size = Decimal::from(t.size);
        legs.push((t.entry_bar, size, t.entry_price));
        legs.push((t.exit_bar, -size, t.exit_price));
    }
    if let Some(p) = &report.open_position {
        legs.push((p.entry_bar, Decimal::from(p.size), p.entry_price));
    }
    let mut rows: Vec<(usize, Decimal, Decimal, Decimal)> = Vec::new();
    for (bar, signed, price) in legs {
        let fee = signed.abs() * price * commission;
        match rows.last_mut() {
            Some(last) if last.0 == bar => {
                last.1 += signed;
                last.3 += fee;
            }
            _ => rows.push((bar, signed, price, fee)),
        }
    }
    rows.into_iter()
        .map(|(bar, signed, price, fee)| {
            let side = if signed > Decimal::ZERO {
                Side::Buy
            } else {
                Side::Sell
            };
            (bar, side, signed.abs(), price, fee)
        })
        .collect()
}

fn paper_fills(fills: &[Fill]) -> Vec<Row> {
    let bars = goog();
    fills
        .iter()
        .map(|f| {
            let bar = bars
                .iter()
                .position(|b| b.ts == f.market_ts)
                .expect("a fill on a GOOG bar");
            (bar, f.side, f.qty, f.price, f.commission)
        })
        .collect()
}

/// The paper account against the engine: fills one for one, then cash,
/// realized P&L, commissions and equity to the cent.
fn assert_parity(
    what: &str,
    report: &backtest::BacktestReport,
    commission: Decimal,
    fills: &[Fill],
    summary: &Summary,
) {
    let want = engine_fills(report, commission);
    let got = paper_fills(fills);
    assert!(!want.is_empty(), "{what}: the engine trades");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "{what}: fill {i} (bar, side, size, price, commission)"
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: as many fills as the engine's legs"
    );

    let cent = |d: Decimal| d.round_dp(2);
    let realized: Decimal = report.trades.iter().map(|t| t.pnl + t.commission).sum();
    let commissions: Decimal = want.iter().map(|r| r.4).sum();
    let last_close = goog().last().unwrap().close;
    let (held, entry) = report
        .open_position
        .as_ref()
        .map(|p| (Decimal::from(p.size), p.entry_price))
        .unwrap_or_default();
    // The engine's cash leaves the open position's value out; the ledger's has it spent.
    let engine_cash = report.stats.equity_final - held * (last_close - entry);
    let cash = engine_cash - held * entry;
    assert_eq!(cent(summary.cash), cent(cash), "{what}: cash");
    assert_eq!(summary.cash, cash, "{what}: cash, exactly");
    assert_eq!(
        summary.realized_pnl, realized,
        "{what}: realized P&L (before commissions)"
    );
    assert_eq!(summary.commissions, commissions, "{what}: commissions");
    let equity = summary.cash + held * last_close;
    assert_eq!(
        equity, report.stats.equity_final,
        "{what}: equity at the last close"
    );
    assert!(
        summary.cash >= Decimal::ZERO || held < Decimal::ZERO,
        "{what}: cash never spent twice"
    );
}

const CASES: [(&str, &str, u32, u32); 2] =
    [("sma", "sma_cross", 10, 20), ("ema", "ema_cross", 12, 26)];

#[tokio::test]
async fn paper_trades_goog_as_the_engine_does_without_commission() {
    let env = Env::start(Decimal::ZERO).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    for (account, kind, fast, slow) in CASES {
        env.start_paper(account, kind, fast, slow).await;
    }
    // Sized at the signal bar's close (the old paper rule), the fill cuts an
    // all-in order a higher open cannot pay for: never below zero cash.
    env.start_paper_sized("sma-sig", "sma_cross", 10, 20, "at_signal")
        .await;
    for (account, kind, fast, slow) in CASES {
        let report = engine(kind, fast, slow, Decimal::ZERO);
        let (fills, summary) = env.settled(account).await;
        assert_parity(account, &report, Decimal::ZERO, &fills, &summary);
        env.assert_same_statistics(account, &report).await;
    }
    let report = engine_sized(
        "sma_cross",
        10,
        20,
        Decimal::ZERO,
        trading::SizingMoment::AtSignal,
    );
    let (fills, summary) = env.settled("sma-sig").await;
    assert_parity("sma at_signal", &report, Decimal::ZERO, &fills, &summary);
    let mut cash = CASH;
    for f in &fills {
        cash -= if f.side == Side::Buy { f.qty } else { -f.qty } * f.price + f.commission;
        assert!(cash >= Decimal::ZERO, "cash {cash} after {f:?}");
    }
    // Sized at the fill or at the signal, the positions differ from the first trade.
    let at_fill = engine("sma_cross", 10, 20, Decimal::ZERO);
    assert_ne!(report.trades[0].size, at_fill.trades[0].size);
}

#[tokio::test]
async fn paper_trades_goog_as_the_engine_does_with_commission_two_executions_and_a_portfolio_restart(
) {
    let commission = dec!(0.002);
    // Half the history first; the rest arrives while the portfolio is down
    // and after one execution instance crashed (it may hold the exchange).
    let half = goog().len() / 2;
    let env = Env::start_with(commission, half).await;
    let a = env.execution().await;
    let _b = env.execution().await;
    let portfolio = env.portfolio().await;
    for (account, kind, fast, slow) in CASES {
        env.start_paper(account, kind, fast, slow).await;
    }
    let mut before = Vec::new();
    for (account, ..) in CASES {
        let (fills, _) = env.settled(account).await;
        assert!(fills.len() > 10, "{account} traded the first half");
        before.push(fills.len());
    }
    portfolio.stop().await.unwrap();
    a.abort();
    env.platform.import_goog(half..goog().len()).await;
    let _c = env.execution().await;
    let _portfolio = env.portfolio().await;
    for (i, (account, kind, fast, slow)) in CASES.into_iter().enumerate() {
        let report = engine(kind, fast, slow, commission);
        let (fills, summary) = env.settled(account).await;
        assert!(fills.len() > before[i], "{account} traded the second half");
        let ids: std::collections::HashSet<_> = fills.iter().map(|f| &f.fill_id).collect();
        assert_eq!(ids.len(), fills.len(), "{account}: no fill twice");
        assert_parity(account, &report, commission, &fills, &summary);
        env.assert_same_statistics(account, &report).await;
    }
}
