//! Brackets, OCO groups and trailing stops through the services: market-data,
//! risk, execution and portfolio on a real nats-server, GOOG's daily bars.
//! Expected fills are computed by hand from the bars (the rules in
//! `trading::exchange`), not by running the exchange code.

use std::sync::Arc;
use std::time::Duration;

use bus::api::portfolio::PositionsResponse;
use bus::{request, subjects, RequestOptions};
use model::{Bar, Decimal};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::{Instance, Platform};
use trading::{Order, OrderStatus};

struct Env {
    platform: Platform,
    client: async_nats::Client,
    data: tempfile::TempDir,
}

fn goog() -> Vec<Bar> {
    testkit::paths::goog_bars()
}

impl Env {
    async fn start() -> Env {
        let platform = Platform::builder()
            .service(subjects::md::SERVICE, 1, |c, s| {
                market_data::run(market_data::Config::default(), c, s.wait())
            })
            .service(subjects::risk::SERVICE, 1, |c, s| {
                risk_service::run(risk_service::Config::default(), c, s.wait())
            })
            .start()
            .await;
        Env {
            client: platform.client().clone(),
            platform,
            data: tempfile::tempdir().unwrap(),
        }
    }

    async fn execution(&self) -> Arc<Instance> {
        let config = execution_service::Config {
            lease_ttl: Duration::from_millis(1500),
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
    ) -> Result<T, bus::RequestError> {
        request(
            &self.client,
            subject,
            &body,
            RequestOptions::timeout(Duration::from_secs(10)),
        )
        .await
    }

    async fn open(&self, cash: &str) {
        let _: serde_json::Value = self
            .call(
                subjects::portfolio::ACCOUNT_OPEN,
                json!({"account": "acc", "cash": cash}),
            )
            .await
            .unwrap();
    }

    async fn submit(&self, body: serde_json::Value) -> Order {
        self.call(subjects::execution::SUBMIT, body).await.unwrap()
    }

    async fn get(&self, coid: &str) -> Option<Order> {
        self.call(
            subjects::execution::GET,
            json!({"account": "acc", "client_order_id": coid}),
        )
        .await
        .ok()
    }

    async fn wait_done(&self, coid: &str) -> Order {
        testkit::wait_until(&format!("{coid} done"), Duration::from_secs(30), || async {
            self.get(coid).await.filter(|o| !o.status.is_open())
        })
        .await
    }

    async fn list(&self) -> Vec<Order> {
        let r: bus::api::orders::ListResponse = self
            .call(subjects::execution::LIST, json!({"account": "acc"}))
            .await
            .unwrap();
        r.orders
    }
}

/// Where a buy's bracket exits on `bars` (from `from` on): the first bar
/// whose high reaches the take-profit or whose low reaches the stop-loss,
/// the stop first when one bar reaches both. `(leg, bar index, price)`.
fn bracket_exit(
    bars: &[Bar],
    from: usize,
    tp: Decimal,
    sl: Decimal,
) -> (&'static str, usize, Decimal) {
    for (i, b) in bars.iter().enumerate().skip(from) {
        if b.low <= sl {
            return ("sl", i, if b.open <= sl { b.open } else { sl });
        }
        if b.high >= tp {
            return ("tp", i, if b.open >= tp { b.open } else { tp });
        }
    }
    panic!("the bracket never exits on these bars");
}

#[tokio::test]
async fn a_bracket_exits_by_one_leg_and_cancels_the_other_and_a_replay_keeps_the_links() {
    let env = Env::start().await;
    let bars = goog();
    env.platform.import_goog(0..200).await;
    let execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    env.open("100000").await;

    // Entry: a market buy on the bar after bars[20]; exits 4 % either way of
    // that bar's open.
    let entry_price = bars[21].open;
    let tp = (entry_price * dec!(1.04)).round_dp(2);
    let sl = (entry_price * dec!(0.96)).round_dp(2);
    let o = env
        .submit(
            json!({"client_order_id": "b1", "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "market", "qty": "10", "after_ts": bars[20].ts,
            "bracket": {"take_profit": {"limit_price": tp}, "stop_loss": {"stop_price": sl}}}),
        )
        .await;
    assert_eq!(
        o.children,
        vec!["acc.b1-tp".to_string(), "acc.b1-sl".to_string()]
    );
    let entry = env.wait_done("b1").await;
    assert_eq!(
        (entry.status, entry.avg_fill_price),
        (OrderStatus::Filled, entry_price)
    );
    // The children work from the bar after the entry's fill (bars[22]).
    let (winner, at, price) = bracket_exit(&bars[..200], 22, tp, sl);
    let loser = if winner == "tp" { "sl" } else { "tp" };
    let w = env.wait_done(&format!("b1-{winner}")).await;
    assert_eq!(w.status, OrderStatus::Filled, "{w:?}");
    assert_eq!(
        (w.avg_fill_price, w.last_fill_bar_ts),
        (price, Some(bars[at].ts))
    );
    assert_eq!(w.parent_id.as_deref(), Some("acc.b1"));
    let l = env.wait_done(&format!("b1-{loser}")).await;
    assert_eq!(l.status, OrderStatus::Canceled);
    assert_eq!(l.reason, Some(format!("oco: acc.b1-{winner} filled")));
    assert_eq!(l.filled_qty, Decimal::ZERO);
    // The portfolio is flat again.
    testkit::wait_until("flat", Duration::from_secs(20), || async {
        let p: PositionsResponse = env
            .call(
                subjects::portfolio::POSITIONS_GET,
                json!({"account": "acc"}),
            )
            .await
            .ok()?;
        p.positions.iter().all(|p| p.qty.is_zero()).then_some(())
    })
    .await;

    // Canceling a parent cancels its children; they never worked.
    let p = env
        .submit(json!({"client_order_id": "p1", "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "limit", "limit_price": "1", "qty": "5",
            "bracket": {"take_profit": {"limit_price": "2"}, "stop_loss": {"trailing": {"offset": "100", "offset_type": "bps"}}}}))
        .await;
    assert_eq!(p.status, OrderStatus::Accepted);
    let sl = env.get("p1-sl").await.unwrap();
    assert!(sl.held && sl.status == OrderStatus::Accepted, "{sl:?}");
    assert_eq!(sl.order_type, trading::OrderType::TrailingStop);
    let _: Order = env
        .call(
            subjects::execution::CANCEL,
            json!({"account": "acc", "client_order_id": "p1"}),
        )
        .await
        .unwrap();
    for child in ["p1-tp", "p1-sl"] {
        let c = env.wait_done(child).await;
        assert_eq!(c.status, OrderStatus::Canceled);
        assert_eq!(c.reason.as_deref(), Some("parent acc.p1 canceled"));
    }

    // An OCO group working now: a buy limit at the next bars' lowest low + 1
    // (fills), with a buy stop no bar reaches; the limit's fill cancels the stop.
    let low = bars[200..210].iter().map(|b| b.low).min().unwrap() + dec!(1);
    let g = env
        .submit(
            json!({"client_order_id": "o1", "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "limit", "limit_price": low, "qty": "3",
            "oco": [{"client_order_id": "o2", "type": "stop", "stop_price": "100000"}]}),
        )
        .await;
    assert_eq!(g.oco, vec!["acc.o2".to_string()]);
    let leg = env.get("o2").await.unwrap();
    assert!(!leg.held, "released once its group is accepted: {leg:?}");
    assert_eq!(leg.oco, vec!["acc.o1".to_string()]);

    // Restart execution: the OMS rebuilt from ORDERS has the same orders and links.
    let before = env.list().await;
    execution.abort();
    let _execution = env.execution().await;
    let after = env.list().await;
    assert_eq!(after, before, "a replay of ORDERS rebuilds the same links");

    env.platform.import_goog(200..210).await;
    let o1 = env.wait_done("o1").await;
    assert_eq!(o1.status, OrderStatus::Filled);
    let o2 = env.wait_done("o2").await;
    assert_eq!(
        (o2.status, o2.reason.as_deref()),
        (OrderStatus::Canceled, Some("oco: acc.o1 filled"))
    );
}

#[tokio::test]
async fn risk_rejects_a_whole_bracket_and_a_trailing_stop_fills_at_its_level() {
    let env = Env::start().await;
    let bars = goog();
    env.platform.import_goog(0..120).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    env.open("1000000").await;
    let _: serde_json::Value = env
        .call(
            "risk.limits.set",
            json!({"account": "acc", "limits": {"max_order_qty": "5"}}),
        )
        .await
        .unwrap();
    let r = env
        .submit(json!({"client_order_id": "big", "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "market", "qty": "10",
            "bracket": {"take_profit": {"limit_price": "10000"}, "stop_loss": {"stop_price": "1"}}}))
        .await;
    assert_eq!(r.status, OrderStatus::Rejected);
    for child in ["big-tp", "big-sl"] {
        let c = env.get(child).await.unwrap();
        assert_eq!(c.status, OrderStatus::Rejected);
        assert_eq!(c.violations[0].limit, "max_order_qty");
    }
    // A bad bracket is a 400 and writes nothing.
    let e = env
        .call::<Order>(
            subjects::execution::SUBMIT,
            json!({"client_order_id": "bad", "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "market", "qty": "1",
            "bracket": {"take_profit": {"limit_price": "1"}, "stop_loss": {"stop_price": "2"}}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.service_error().unwrap().code, 400);
    assert!(env.get("bad").await.is_none());

    // A bracket whose first bar reaches both exits: the stop-loss is taken
    // first and the take-profit canceled, on stored bars (catch-up) as live.
    let j = (40..110)
        .find(|&j| {
            bars[j].high > bars[j - 1].open + dec!(1) && bars[j].low < bars[j - 1].open - dec!(1)
        })
        .expect("a wide bar");
    let entry = bars[j - 1].open;
    let _: serde_json::Value = env
        .call("risk.limits.set", json!({"account": "acc", "limits": {}}))
        .await
        .unwrap();
    env.submit(json!({"client_order_id": "w1", "account": "acc", "symbol": "GOOG",
        "side": "buy", "type": "market", "qty": "1", "after_ts": bars[j - 2].ts,
        "bracket": {"take_profit": {"limit_price": entry + dec!(0.5)}, "stop_loss": {"stop_price": entry - dec!(0.5)}}}))
        .await;
    let sl = env.wait_done("w1-sl").await;
    assert_eq!(sl.status, OrderStatus::Filled);
    assert_eq!(sl.last_fill_bar_ts, Some(bars[j].ts));
    let stop = entry - dec!(0.5);
    assert_eq!(
        sl.avg_fill_price,
        if bars[j].open <= stop {
            bars[j].open
        } else {
            stop
        }
    );
    let tp = env.wait_done("w1-tp").await;
    assert_eq!(
        (tp.status, tp.reason.as_deref()),
        (OrderStatus::Canceled, Some("oco: acc.w1-sl filled"))
    );

    // A trailing sell stop, 3 % below the best price, on the bars after bars[30].
    let o = env
        .submit(
            json!({"client_order_id": "t1", "account": "acc", "symbol": "GOOG",
            "side": "sell", "type": "trailing_stop", "qty": "2", "after_ts": bars[30].ts,
            "trailing": {"offset": "300", "offset_type": "bps"}}),
        )
        .await;
    assert_eq!(o.status, OrderStatus::Accepted);
    // By hand: the reference starts at the first open, each bar's level is
    // max(reference, open) × 0.97, then the reference takes the bar's high.
    let mut reference: Option<Decimal> = None;
    let mut expected = None;
    for (i, b) in bars.iter().enumerate().take(120).skip(31) {
        let r = reference.map_or(b.open, |r| r.max(b.open));
        let level = r * dec!(0.97);
        if b.open <= level {
            expected = Some((i, b.open));
            break;
        }
        if b.low <= level {
            expected = Some((i, level));
            break;
        }
        reference = Some(r.max(b.high));
    }
    let (at, price) = expected.expect("the trailing stop triggers on these bars");
    let t1 = env.wait_done("t1").await;
    assert_eq!(t1.status, OrderStatus::Filled);
    assert_eq!(
        (t1.avg_fill_price, t1.last_fill_bar_ts),
        (price, Some(bars[at].ts))
    );
}

/// Long at the close of bar `at`, with `exits`, nothing else.
struct EnterOnce {
    at: usize,
    exits: model::Exits,
    seen: usize,
}

impl strategy::Strategy for EnterOnce {
    fn on_bar(&mut self, bar: &Bar) -> Option<model::Signal> {
        let i = self.seen;
        self.seen += 1;
        (i == self.at).then(|| model::Signal {
            symbol: bar.symbol.clone(),
            timeframe: bar.timeframe,
            ts: bar.ts,
            direction: model::Direction::Long,
            price: bar.close,
            reason: "enter once".into(),
            exits: Some(self.exits.clone()),
        })
    }
    fn reset(&mut self) {
        self.seen = 0;
    }
    fn warmup(&self) -> usize {
        1
    }
}

#[tokio::test]
async fn the_engine_and_the_paper_exchange_exit_a_bracket_and_a_trailing_stop_alike() {
    let env = Env::start().await;
    let bars = goog();
    let n = 400;
    env.platform.import_goog(0..n).await;
    let _execution = env.execution().await;
    let _portfolio = env.portfolio().await;
    env.open("1000000").await;

    let cases = [
        (
            "e1",
            20,
            model::Exits {
                take_profit: Some(dec!(0.04)),
                stop_loss: Some(dec!(0.04)),
                trailing_stop: None,
            },
        ),
        (
            "e2",
            150,
            model::Exits {
                take_profit: None,
                stop_loss: None,
                trailing_stop: Some(dec!(0.03)),
            },
        ),
    ];
    for (coid, at, exits) in cases {
        let mut s = EnterOnce {
            at,
            exits: exits.clone(),
            seen: 0,
        };
        let report = backtest::run(
            &bars[..n],
            &mut s,
            &backtest::BacktestConfig::new(dec!(100000), Decimal::ZERO),
        )
        .unwrap();
        let trade = &report.trades[0];
        assert_eq!(trade.entry_bar, at + 1);

        // The same entry and exits as a bracket on the paper exchange.
        let entry = bars[at + 1].open;
        let mut bracket = serde_json::Map::new();
        if let Some(tp) = exits.take_profit {
            bracket.insert(
                "take_profit".into(),
                json!({"limit_price": entry * (Decimal::ONE + tp)}),
            );
        }
        if let Some(sl) = exits.stop_loss {
            bracket.insert(
                "stop_loss".into(),
                json!({"stop_price": entry * (Decimal::ONE - sl)}),
            );
        }
        if let Some(t) = exits.trailing_stop {
            bracket.insert(
                "stop_loss".into(),
                json!({"trailing": {"offset": t * dec!(10000), "offset_type": "bps"}}),
            );
        }
        env.submit(
            json!({"client_order_id": coid, "account": "acc", "symbol": "GOOG",
            "side": "buy", "type": "market", "qty": trade.size.to_string(), "after_ts": bars[at].ts,
            "bracket": bracket}),
        )
        .await;
        let e = env.wait_done(coid).await;
        assert_eq!(
            (e.avg_fill_price, e.last_fill_bar_ts),
            (trade.entry_price, Some(bars[trade.entry_bar].ts))
        );
        let legs = [format!("{coid}-tp"), format!("{coid}-sl")];
        let mut exit = None;
        for leg in &legs {
            if let Some(o) = env.get(leg).await {
                let o = env.wait_done(&o.client_order_id).await;
                if o.status == OrderStatus::Filled {
                    exit = Some(o);
                }
            }
        }
        let exit = exit.expect("one leg filled");
        assert_eq!(
            (exit.avg_fill_price, exit.last_fill_bar_ts),
            (trade.exit_price, Some(bars[trade.exit_bar].ts)),
            "{coid}: the engine's exit is the paper exchange's"
        );
    }
}
