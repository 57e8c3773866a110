//! The whole trade lifecycle on a real nats-server: market-data, strategy,
//! risk, execution and portfolio, each on its own runtime (so `abort` is a
//! crash). Expected numbers are recomputed here from the fills in ORDERS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use bus::api::orders::ListResponse;
use bus::api::portfolio::{PortfolioUpdate, PositionsResponse, Summary};
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::{Decimal, Event, Side, Symbol};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::{Instance, Platform};
use trading::event::{Fill, OrderEvent};
use trading::{Order, OrderStatus};

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
    data: tempfile::TempDir,
}

fn short(ttl_ms: u64) -> Duration {
    Duration::from_millis(ttl_ms)
}

impl Env {
    async fn start(simulator: Option<market_data::SimulatorConfig>) -> Env {
        let md = market_data::Config {
            simulator,
            ..Default::default()
        };
        let strategy = strategy_service::Config {
            lease_ttl: short(1500),
            ..Default::default()
        };
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, move |c, s| {
                market_data::run(md.clone(), c, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |c, s| {
                risk_service::run(risk_service::Config::default(), c, s.wait())
            })
            .service(subjects::strategy::SERVICE, 1, move |c, s| {
                strategy_service::run(strategy.clone(), c, s.wait())
            })
            .start()
            .await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
            data: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts one more execution instance and waits until it answers.
    async fn execution(&self) -> Arc<Instance> {
        let config = execution_service::Config {
            lease_ttl: short(1500),
            exchange: execution_service::ExchangeConfig {
                commission_pct: dec!(0.001),
                commission_fixed: dec!(1),
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

    fn portfolio_config(&self) -> portfolio_service::Config {
        portfolio_service::Config::new(self.data.path().to_path_buf())
    }

    /// Starts one more portfolio instance and waits until it answers.
    async fn portfolio(&self) -> Arc<Instance> {
        let config = self.portfolio_config();
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

    async fn summary(&self, account: &str) -> Option<Summary> {
        request(
            &self.client,
            subjects::portfolio::SUMMARY_GET,
            &json!({"account": account}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()
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

    /// Every message on `filter` in `stream`, decoded.
    async fn read<T: serde::de::DeserializeOwned>(&self, stream: &str, filter: &str) -> Vec<T> {
        let stream = self.js.get_stream(stream).await.unwrap();
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: filter.to_string(),
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
            out.push(serde_json::from_slice(&m.payload).unwrap());
            if m.info().unwrap().pending == 0 {
                break;
            }
        }
        out
    }

    async fn fills(&self, account: &str) -> Vec<Fill> {
        self.read::<Event<OrderEvent>>(subjects::streams::ORDERS, &format!("evt.fill.{account}.>"))
            .await
            .into_iter()
            .filter_map(|e| match e.data {
                OrderEvent::OrderFilled { fill } => Some(fill),
                _ => None,
            })
            .collect()
    }

    /// Waits until the strategy processed every bar and no order works any more
    /// (the last signal's order may wait for a bar that never comes: it is
    /// allowed to stay working).
    async fn wait_settled(&self, account: &str, strategy: &str) -> Vec<Order> {
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
        testkit::wait_until("strategy caught up", Duration::from_secs(60), || async {
            let s: bus::api::strategy::StrategyStatus = request(
                &self.client,
                "strategy.status",
                &json!({"id": strategy}),
                RequestOptions::timeout(Duration::from_secs(2)),
            )
            .await
            .ok()?;
            (s.position >= last && s.pending_bars == 0).then_some(())
        })
        .await;
        // Signals all turned into orders: the durable consumer has nothing pending.
        testkit::wait_until("signals consumed", Duration::from_secs(60), || async {
            let stream = self.js.get_stream(subjects::streams::SIGNALS).await.ok()?;
            let mut c = stream
                .get_consumer::<pull::Config>(subjects::execution::SIGNALS_CONSUMER)
                .await
                .ok()?;
            let info = c.info().await.ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        })
        .await;
        testkit::wait_until("orders settled", Duration::from_secs(60), || async {
            let orders = self.orders(account).await;
            let working = orders.iter().filter(|o| o.status.is_open()).count();
            (working <= 1).then_some(orders)
        })
        .await
    }
}

/// Cash and positions recomputed from fills.
fn replay(deposit: Decimal, fills: &[Fill]) -> (Decimal, BTreeMap<Symbol, Decimal>, Decimal) {
    let mut cash = deposit;
    let mut positions: BTreeMap<Symbol, Decimal> = BTreeMap::new();
    let mut commissions = Decimal::ZERO;
    for f in fills {
        let signed = match f.side {
            Side::Buy => f.qty,
            Side::Sell => -f.qty,
        };
        cash -= signed * f.price + f.commission;
        commissions += f.commission;
        *positions.entry(f.symbol.clone()).or_default() += signed;
    }
    positions.retain(|_, q| !q.is_zero());
    (cash, positions, commissions)
}

#[tokio::test]
async fn paper_strategy_on_the_simulator_trades_and_equity_is_cash_plus_positions() {
    let sim = market_data::SimulatorConfig {
        symbols: vec![Symbol::new("SIM-A").unwrap()],
        interval: Duration::from_secs(1),
        ticks_per_bar: 2,
        volatility: 2.0,
        seed: 7,
        ..Default::default()
    };
    let env = Env::start(Some(sim)).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    let opened: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "paper", "cash": "100000"}),
        )
        .await;
    assert_eq!(opened.equity, dec!(100000));
    // Opening again changes nothing.
    let again: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "paper", "cash": "5"}),
        )
        .await;
    assert_eq!(again.deposits, dec!(100000));

    testkit::wait_until("simulated bars", Duration::from_secs(10), || async {
        let bars: bus::api::md::BarsResponse = request(
            &env.client,
            "md.bars.get",
            &json!({"symbol": "SIM-A", "timeframe": "1s"}),
            RequestOptions::timeout(Duration::from_secs(2)),
        )
        .await
        .ok()?;
        (!bars.bars.is_empty()).then_some(())
    })
    .await;
    let _: serde_json::Value = env
        .call(
            "strategy.start",
            json!({"id": "simpaper", "kind": "sma_cross", "params": {"fast": 2, "slow": 3},
                "symbols": ["SIM-A"], "timeframe": "1s", "mode": "paper",
                "sizing": {"rule": "fixed_qty", "qty": "10"}}),
        )
        .await;

    // Two fills at least: a position opened, then reversed or closed.
    let fills = testkit::wait_until("two paper fills", Duration::from_secs(90), || async {
        let f = env.fills("paper").await;
        (f.len() >= 2).then_some(f)
    })
    .await;
    assert!(fills
        .iter()
        .all(|f| f.strategy_id.as_deref() == Some("simpaper")));
    assert!(fills.iter().all(|f| f.qty == dec!(10) || f.qty == dec!(20)));

    // Every PORTFOLIO_UPDATE: equity = cash + Σ qty × last price.
    // The fills are in ORDERS before the portfolio has published what they
    // did: wait for the updates (the opening, then one per fill at least).
    let updates: Vec<Event<PortfolioUpdate>> = testkit::wait_until(
        "the fills' portfolio updates",
        Duration::from_secs(30),
        || async {
            let updates: Vec<Event<PortfolioUpdate>> = env
                .read(subjects::streams::PORTFOLIO, "evt.portfolio.paper")
                .await;
            (updates.len() >= 3).then_some(updates)
        },
    )
    .await;
    for u in &updates {
        let marked: Decimal = u.data.positions.iter().map(|p| p.qty * p.last_price).sum();
        assert_eq!(
            u.data.summary.equity,
            u.data.summary.cash + marked,
            "{:?}",
            u.data.summary
        );
    }
    // The portfolio's cash and positions equal the fills replayed by hand.
    testkit::wait_until(
        "portfolio matches its fills",
        Duration::from_secs(10),
        || async {
            let fills = env.fills("paper").await;
            let s = env.summary("paper").await?;
            let p: PositionsResponse = env
                .call(
                    subjects::portfolio::POSITIONS_GET,
                    json!({"account": "paper"}),
                )
                .await;
            let (cash, positions, commissions) = replay(dec!(100000), &fills);
            let got: BTreeMap<Symbol, Decimal> = p
                .positions
                .iter()
                .map(|p| (p.symbol.clone(), p.qty))
                .collect();
            let marked: Decimal = p.positions.iter().map(|p| p.qty * p.last_price).sum();
            (s.fills == fills.len() as u64
                && s.cash == cash
                && s.commissions == commissions
                && got == positions
                && s.equity == s.cash + marked)
                .then_some(())
        },
    )
    .await;
    // Every order went through risk and was accepted.
    let orders = env.orders("paper").await;
    assert!(orders.iter().all(|o| o.status != OrderStatus::Rejected));
    drop(env.data);
}

#[tokio::test]
async fn crashed_execution_and_portfolio_restart_to_the_same_orders_positions_and_pnl() {
    // Reference: the same history traded without a crash.
    let reference = {
        let env = Env::start(None).await;
        env.platform.import_goog(0..300).await;
        let _execution = env.execution().await;
        let _portfolio = env.portfolio().await;
        run_paper(&env).await;
        let orders = env.wait_settled("acc", "goog").await;
        let summary = settled_summary(&env, "acc").await;
        (strip(&orders), summary)
    };

    let env = Env::start(None).await;
    env.platform.import_goog(0..150).await;
    let execution = env.execution().await;
    let portfolio = env.portfolio().await;
    run_paper(&env).await;
    // Let it trade part of the way, then crash both mid-run.
    testkit::wait_until("some fills", Duration::from_secs(60), || async {
        (env.fills("acc").await.len() >= 3).then_some(())
    })
    .await;
    execution.abort();
    portfolio.abort();
    env.platform.import_goog(150..300).await;
    let _execution = env.execution().await;
    let portfolio = env.portfolio().await;
    let orders = env.wait_settled("acc", "goog").await;
    let summary = settled_summary(&env, "acc").await;
    assert_eq!(strip(&orders), reference.0, "same orders");
    assert_same_money(&summary, &reference.1);
    let fills = env.fills("acc").await;
    let ids: std::collections::HashSet<_> = fills.iter().map(|f| &f.fill_id).collect();
    assert_eq!(ids.len(), fills.len(), "no fill twice");

    // Without its snapshot, a full replay gives the same result.
    portfolio.stop().await.unwrap();
    std::fs::remove_dir_all(env.portfolio_config().snapshot_dir()).unwrap();
    let _portfolio = env.portfolio().await;
    let replayed = settled_summary(&env, "acc").await;
    assert_same_money(&replayed, &summary);
    let _: PathBuf = env.portfolio_config().snapshot_dir();
}

async fn run_paper(env: &Env) {
    let _: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "100000"}),
        )
        .await;
    let _: serde_json::Value = env
        .call(
            "strategy.start",
            json!({"id": "goog", "kind": "sma_cross", "params": {"fast": 5, "slow": 12},
                "symbols": ["GOOG"], "mode": "paper", "account": "acc",
                "sizing": {"rule": "percent_of_equity", "percent": "50"}}),
        )
        .await;
}

/// The summary once the portfolio applied every fill.
async fn settled_summary(env: &Env, account: &str) -> Summary {
    testkit::wait_until("portfolio settled", Duration::from_secs(30), || async {
        let fills = env.fills(account).await;
        let s = env.summary(account).await?;
        (s.fills == fills.len() as u64).then_some(s)
    })
    .await
}

/// What must be identical between runs (not ids of time or sequence).
fn strip(orders: &[Order]) -> Vec<(String, String, Decimal, Decimal, Decimal, OrderStatus)> {
    let mut v: Vec<_> = orders
        .iter()
        .map(|o| {
            (
                o.client_order_id.clone(),
                format!("{:?}", o.side),
                o.qty,
                o.filled_qty,
                o.avg_fill_price,
                o.status,
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn assert_same_money(a: &Summary, b: &Summary) {
    assert_eq!(a.cash, b.cash);
    assert_eq!(a.equity, b.equity);
    assert_eq!(a.realized_pnl, b.realized_pnl);
    assert_eq!(a.unrealized_pnl, b.unrealized_pnl);
    assert_eq!(a.commissions, b.commissions);
    assert_eq!(a.fills, b.fills);
    assert_eq!(a.open_positions, b.open_positions);
}

#[tokio::test]
async fn stop_loss_closes_the_position_and_bad_requests_are_refused() {
    let env = Env::start(None).await;
    let bars = testkit::paths::goog_bars();
    env.platform.import_goog(0..30).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    let _: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "100000"}),
        )
        .await;
    let _: Order = env
        .call(
            subjects::execution::SUBMIT,
            json!({"client_order_id": "buy", "account": "acc", "symbol": "GOOG", "side": "buy",
                "type": "market", "qty": "10", "after_ts": bars[5].ts}),
        )
        .await;
    testkit::wait_until("long 10", Duration::from_secs(10), || async {
        let p: PositionsResponse = env
            .call(
                subjects::portfolio::POSITIONS_GET,
                json!({"account": "acc"}),
            )
            .await;
        (p.positions.first().map(|p| p.qty) == Some(dec!(10))).then_some(())
    })
    .await;
    // A stop just above the next bars' lowest low: some bar goes through it.
    let stop = bars[30..40].iter().map(|b| b.low).min().unwrap() + dec!(0.5);
    let position: bus::api::portfolio::Position = env
        .call(
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "GOOG", "stop_loss": stop}),
        )
        .await;
    assert_eq!(position.stop_loss, Some(stop));
    env.platform.import_goog(30..45).await;
    let hit = bars[30..45].iter().position(|b| b.low <= stop).unwrap() + 30;
    let summary = testkit::wait_until("stopped out", Duration::from_secs(20), || async {
        let s = env.summary("acc").await?;
        (s.open_positions == 0 && s.fills == 2).then_some(s)
    })
    .await;
    let orders = env.orders("acc").await;
    let sl = orders
        .iter()
        .find(|o| o.client_order_id.starts_with("sl-"))
        .expect("a stop-loss order");
    assert!(sl.reduce_only);
    assert_eq!(sl.side, Side::Sell);
    assert_eq!(
        sl.avg_fill_price,
        bars[hit + 1].open,
        "fills at the open after the bar that hit the stop"
    );
    assert_eq!(summary.equity, summary.cash);

    // Bad requests: clear errors.
    for (subject, body, code) in [
        (
            subjects::portfolio::SUMMARY_GET,
            json!({"account": "ghost"}),
            "404",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "bad.id", "cash": "1"}),
            "400",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "neg", "cash": "-1"}),
            "400",
        ),
        (
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "GOOG", "stop_loss": "-3"}),
            "400",
        ),
    ] {
        let reply = env
            .client
            .request(subject, serde_json::to_vec(&body).unwrap().into())
            .await
            .unwrap();
        let h = reply
            .headers
            .as_ref()
            .unwrap_or_else(|| panic!("error for {body}"));
        assert_eq!(
            h.get("Nats-Service-Error-Code").unwrap().as_str(),
            code,
            "{subject} {body}"
        );
    }
}
