//! The portfolio service alone on a real nats-server: fills are published into
//! ORDERS by the test (as execution would), bars into MARKET (as market-data
//! would), and the test itself answers `orders.submit`. Every expected number
//! is worked out by hand in the comments.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, consumer::DeliverPolicy};
use bus::api::portfolio::{PortfolioUpdate, Position, PositionsResponse, Summary};
use bus::{request, subjects, RequestOptions};
use futures::StreamExt;
use model::event::types;
use model::{Bar, Decimal, Event, Side, Symbol, Timeframe, UnixNanos};
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::{Instance, Platform};
use trading::event::{Fill, OrderEvent};
use trading::{OrderRequest, OrderStatus, OrderType};

const MINUTE: i64 = 60_000_000_000;
/// 2024-01-02T00:00:00Z.
const T0: i64 = 1_704_153_600_000_000_000;

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
    data: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let platform = Platform::builder().start().await;
        let client = platform.client().clone();
        Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
            data: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self, node: &str) -> portfolio_service::Config {
        let mut config = portfolio_service::Config::new(self.data.path().to_path_buf());
        config.node = node.to_string();
        config.request_timeout = Duration::from_secs(1);
        config
    }

    /// Starts node `node` and waits until it answers.
    async fn portfolio(&self, node: &str) -> Arc<Instance> {
        let config = self.config(node);
        self.platform
            .add(subjects::portfolio::SERVICE, move |c, s| {
                portfolio_service::run(config.clone(), c, s.wait())
            })
            .await
    }

    /// Every `orders.submit` request from now on (the test plays or watches
    /// execution).
    async fn submits(&self) -> async_nats::Subscriber {
        let submits = self
            .client
            .subscribe(subjects::execution::SUBMIT)
            .await
            .unwrap();
        self.client.flush().await.unwrap();
        submits
    }

    /// Account `acc` with 10,000 cash, long 10 AAA bought at 100.
    async fn long_aaa(&self) {
        let _: Summary = self
            .call(
                subjects::portfolio::ACCOUNT_OPEN,
                json!({"account": "acc", "cash": "10000"}),
            )
            .await;
        self.publish(fill(1, "AAA", Side::Buy, dec!(10), dec!(100), dec!(0), 0))
            .await;
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

    async fn summary(&self, account: &str) -> Summary {
        self.call(
            subjects::portfolio::SUMMARY_GET,
            json!({ "account": account }),
        )
        .await
    }

    async fn positions(&self, account: &str) -> BTreeMap<String, Position> {
        let r: PositionsResponse = self
            .call(
                subjects::portfolio::POSITIONS_GET,
                json!({ "account": account }),
            )
            .await;
        r.positions
            .into_iter()
            .map(|p| (p.symbol.to_string(), p))
            .collect()
    }

    /// Publishes a fill into ORDERS, as execution does; returns its sequence.
    async fn publish(&self, fill: Fill) -> u64 {
        let correlation_id = format!("test-{}", fill.fill_id);
        bus::events::publish_order_event(
            &self.js,
            &OrderEvent::OrderFilled { fill },
            &correlation_id,
            "test",
        )
        .await
        .unwrap()
        .sequence
    }

    /// Publishes a 1-minute bar into MARKET, as market-data does.
    async fn bar(&self, symbol: &str, ts: i64, low: Decimal, high: Decimal, close: Decimal) {
        let bar = Bar {
            symbol: Symbol::new(symbol).unwrap(),
            timeframe: Timeframe::parse("1m").unwrap(),
            ts: UnixNanos(ts),
            open: close,
            high,
            low,
            close,
            volume: dec!(1000),
        };
        let msg_id = subjects::bar_msg_id(&bar.symbol, bar.timeframe, bar.ts);
        let subject = subjects::bar(&bar.symbol, bar.timeframe);
        let event = Event::new(
            msg_id.clone(),
            types::MARKET_DATA_UPDATE,
            "test",
            "test",
            bar,
        );
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        self.js
            .publish_with_headers(subject, headers, serde_json::to_vec(&event).unwrap().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Every `PORTFOLIO_UPDATE` of `account`, with its `Nats-Msg-Id`.
    async fn updates(&self, account: &str) -> Vec<(String, PortfolioUpdate)> {
        let stream = self
            .js
            .get_stream(subjects::streams::PORTFOLIO)
            .await
            .unwrap();
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: subjects::portfolio_update(account),
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
            tokio::time::timeout(Duration::from_secs(5), messages.next()).await
        {
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string())
                .unwrap_or_default();
            let event: Event<PortfolioUpdate> = serde_json::from_slice(&m.payload).unwrap();
            assert_eq!(event.kind, types::PORTFOLIO_UPDATE);
            out.push((id, event.data));
            if m.info().unwrap().pending == 0 {
                break;
            }
        }
        out
    }

    /// Waits until node `node`'s durable consumer acknowledged `sequence`.
    async fn acked(&self, node: &str, sequence: u64) {
        testkit::wait_until("consumer acked", Duration::from_secs(10), || async {
            let stream = self.js.get_stream(subjects::streams::ORDERS).await.ok()?;
            let mut c = stream
                .get_consumer::<pull::Config>(&format!("portfolio-{node}"))
                .await
                .ok()?;
            let info = c.info().await.ok()?;
            (info.ack_floor.stream_sequence >= sequence).then_some(())
        })
        .await;
    }
}

/// The next `orders.submit` request; answers it with an error, as an
/// unavailable execution would.
async fn next_submit(
    client: &async_nats::Client,
    submits: &mut async_nats::Subscriber,
    seen: &mut std::collections::HashSet<String>,
) -> OrderRequest {
    // Each request is answered 503, so the portfolio retries it with the
    // same client order id: those repeats are the same order, skipped here.
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), submits.next())
            .await
            .expect("an orders.submit request")
            .unwrap();
        if let Some(reply) = m.reply.clone() {
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Service-Error-Code", "503");
            h.insert("Nats-Service-Error", "execution is a test double");
            client
                .publish_with_headers(
                    reply,
                    h,
                    r#"{"code":503,"kind":"unavailable","message":"test double"}"#.into(),
                )
                .await
                .unwrap();
        }
        let order: OrderRequest = serde_json::from_slice(&m.payload).unwrap();
        if seen.insert(order.client_order_id.clone()) {
            return order;
        }
    }
}

/// Fill `n` (its whole order) of account `acc`, `minute` minutes after T0.
fn fill(
    n: u32,
    symbol: &str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    commission: Decimal,
    minute: i64,
) -> Fill {
    Fill {
        fill_id: format!("o{n}.1"),
        order_id: format!("o{n}"),
        client_order_id: format!("c{n}"),
        account: "acc".to_string(),
        symbol: Symbol::new(symbol).unwrap(),
        side,
        qty,
        price,
        commission,
        market_ts: UnixNanos(T0 + minute * MINUTE),
        status: OrderStatus::Filled,
        cum_qty: qty,
        leaves_qty: Decimal::ZERO,
        strategy_id: None,
    }
}

fn error_code(reply: &async_nats::Message) -> Option<String> {
    reply
        .headers
        .as_ref()?
        .get("Nats-Service-Error-Code")
        .map(|v| v.to_string())
}

/// equity = cash + Σ qty × last price, for every update.
fn assert_identity(update: &PortfolioUpdate) {
    let marked: Decimal = update.positions.iter().map(|p| p.qty * p.last_price).sum();
    assert_eq!(
        update.summary.equity,
        update.summary.cash + marked,
        "{update:?}"
    );
}

#[tokio::test]
async fn fills_and_marks_make_the_numbers_and_restart_or_replay_give_the_same() {
    let env = Env::start().await;
    let node = env.portfolio("a").await;

    let opened: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "10000"}),
        )
        .await;
    assert_eq!(
        (opened.deposits, opened.cash, opened.equity, opened.fills),
        (dec!(10000), dec!(10000), dec!(10000), 0)
    );
    // Opening again returns the account as it is: the first cash stands.
    let again: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "5"}),
        )
        .await;
    assert_eq!(again, opened);

    // buy 10 AAA @ 100 (fee 1)  cash 10000 - 1000 - 1 = 8999
    // buy 10 AAA @ 110 (fee 1)  cash 8999 - 1100 - 1  = 7898, AAA 20 @ avg 105
    // sell 5 AAA @ 120 (fee 1)  cash 7898 + 600 - 1   = 8497, realized 5 × (120 - 105) = 75
    // sell 20 BBB @ 50 (fee 2)  cash 8497 + 1000 - 2  = 9495, BBB -20 @ avg 50
    env.publish(fill(1, "AAA", Side::Buy, dec!(10), dec!(100), dec!(1), 0))
        .await;
    env.publish(fill(2, "AAA", Side::Buy, dec!(10), dec!(110), dec!(1), 1))
        .await;
    env.publish(fill(3, "AAA", Side::Sell, dec!(5), dec!(120), dec!(1), 2))
        .await;
    let last_fill = env
        .publish(fill(4, "BBB", Side::Sell, dec!(20), dec!(50), dec!(2), 3))
        .await;

    // Read your writes: no waiting, the read catches up with ORDERS first.
    let s = env.summary("acc").await;
    assert_eq!(s.cash, dec!(9495));
    // Marked at the last fill prices: 15 × 120 - 20 × 50 = 800.
    assert_eq!(s.market_value, dec!(800));
    assert_eq!(s.equity, dec!(10295));
    assert_eq!(s.realized_pnl, dec!(75));
    // 15 × (120 - 105) + -20 × (50 - 50) = 225
    assert_eq!(s.unrealized_pnl, dec!(225));
    assert_eq!(s.commissions, dec!(5));
    // deposits + realized + unrealized - commissions = 10000 + 75 + 225 - 5
    assert_eq!(
        s.equity,
        s.deposits + s.realized_pnl + s.unrealized_pnl - s.commissions
    );
    assert_eq!(s.gross_exposure, dec!(2800));
    assert_eq!((s.fills, s.open_positions), (4, 2));
    assert_eq!(s.sequence, last_fill);
    assert_eq!(s.market_ts, UnixNanos(T0 + 3 * MINUTE));

    let p = env.positions("acc").await;
    assert_eq!(p.len(), 2);
    let (a, b) = (&p["AAA"], &p["BBB"]);
    assert_eq!(
        (a.qty, a.avg_price, a.realized_pnl, a.last_price),
        (dec!(15), dec!(105), dec!(75), dec!(120))
    );
    assert_eq!(
        (b.qty, b.avg_price, b.realized_pnl, b.last_price),
        (dec!(-20), dec!(50), dec!(0), dec!(50))
    );

    // A bar marks AAA at 130: market value 15 × 130 - 1000 = 950, equity 10445.
    let bar_ts = T0 + 4 * MINUTE;
    env.bar("AAA", bar_ts, dec!(118), dec!(131), dec!(130))
        .await;
    let marked = testkit::wait_until("AAA marked", Duration::from_secs(10), || async {
        let s = env.summary("acc").await;
        (s.market_ts == UnixNanos(bar_ts)).then_some(s)
    })
    .await;
    assert_eq!(marked.equity, dec!(10445));
    assert_eq!(marked.unrealized_pnl, dec!(375)); // 15 × (130 - 105)
    assert_eq!(marked.cash, dec!(9495));
    assert_eq!(env.positions("acc").await["AAA"].last_price, dec!(130));
    // A bar of a symbol nobody holds changes nothing.
    env.bar("ZZZ", bar_ts, dec!(1), dec!(2), dec!(1)).await;

    // PORTFOLIO: one update per change, ids naming the ORDERS sequence and the mark.
    let mark_id = subjects::msg_id::portfolio_update("acc", last_fill, bar_ts);
    let updates = testkit::wait_until("mark update stored", Duration::from_secs(10), || async {
        let u = env.updates("acc").await;
        u.iter().any(|(id, _)| *id == mark_id).then_some(u)
    })
    .await;
    for (_, u) in &updates {
        assert_identity(u);
    }
    let fill_update = updates
        .iter()
        .find(|(id, _)| *id == subjects::msg_id::portfolio_update("acc", last_fill, 0))
        .expect("an update for the last fill");
    assert_eq!(fill_update.1.summary.equity, dec!(10295));
    let mark_update = &updates.iter().find(|(id, _)| *id == mark_id).unwrap().1;
    assert_eq!(mark_update.summary, marked);
    // account opened + 4 fills + 1 mark
    assert_eq!(
        updates.len(),
        6,
        "{:?}",
        updates.iter().map(|u| &u.0).collect::<Vec<_>>()
    );

    // Restart: the snapshot, then the newest stored bar for the marks.
    node.stop().await.unwrap();
    let node = env.portfolio("a").await;
    assert_eq!(env.summary("acc").await, marked);
    assert_eq!(env.positions("acc").await, p_marked(&p, dec!(130), bar_ts));

    // Without the snapshot: a full replay from the start of ORDERS, same numbers.
    node.stop().await.unwrap();
    std::fs::remove_dir_all(env.config("a").snapshot_dir()).unwrap();
    let node = env.portfolio("a").await;
    assert_eq!(env.summary("acc").await, marked);
    // The replay published nothing twice.
    assert_eq!(env.updates("acc").await.len(), updates.len());

    // A second node with its own consumer and snapshot: same book, and the
    // updates of both are stored once.
    let other = env.portfolio("b").await;
    // A BBB bar at minute 6 closes at 47; then a fill from minute 5 (a paper
    // order filled on older bars, say): buy 5 BBB @ 48 (fee 1),
    // cash 9495 - 240 - 1 = 9254, realized 75 + 5 × (50 - 48) = 85, and BBB
    // stays marked at the newer bar's 47, not at the fill's 48.
    let bbb_ts = T0 + 6 * MINUTE;
    env.bar("BBB", bbb_ts, dec!(46), dec!(49), dec!(47)).await;
    let seq = env
        .publish(fill(5, "BBB", Side::Buy, dec!(5), dec!(48), dec!(1), 5))
        .await;
    // Read your writes, marks included.
    let s = env.summary("acc").await;
    assert_eq!(s.cash, dec!(9254));
    assert_eq!(s.realized_pnl, dec!(85));
    // 9254 + 15 × 130 - 15 × 47
    assert_eq!(s.equity, dec!(10499));
    assert_eq!(s.market_ts, UnixNanos(bbb_ts));
    assert_eq!(s.sequence, seq);
    env.acked("a", seq).await;
    env.acked("b", seq).await;
    node.stop().await.unwrap();
    other.stop().await.unwrap();
    let updates = env.updates("acc").await;
    let mut ids: Vec<&String> = updates.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), updates.len(), "every update once");
    for (_, u) in &updates {
        assert_identity(u);
    }
    // The fill's update (marked at the fill), then the mark at the newer bar.
    let fill_id = subjects::msg_id::portfolio_update("acc", seq, 0);
    let fill_update = &updates.iter().find(|(id, _)| *id == fill_id).unwrap().1;
    assert_eq!(
        (fill_update.summary.cash, fill_update.summary.equity),
        (dec!(9254), dec!(10484)) // 9254 + 15 × 130 - 15 × 48
    );
    let mark_id = subjects::msg_id::portfolio_update("acc", seq, bbb_ts);
    let mark_update = &updates.iter().find(|(id, _)| *id == mark_id).unwrap().1;
    assert_eq!(mark_update.summary, s);
    // Two nodes publish: an older update of the slower one may be stored after
    // a newer one, so the newest by (sequence, market time) is the final state.
    let newest = updates
        .iter()
        .map(|(_, u)| &u.summary)
        .max_by_key(|u| (u.sequence, u.market_ts))
        .unwrap();
    assert_eq!(newest, &s);
}

/// Positions as `before`, with AAA marked at `price`.
fn p_marked(
    before: &BTreeMap<String, Position>,
    price: Decimal,
    ts: i64,
) -> BTreeMap<String, Position> {
    let mut p = before.clone();
    let a = p.get_mut("AAA").unwrap();
    a.last_price = price;
    a.last_ts = UnixNanos(ts);
    p
}

#[tokio::test]
async fn a_bar_through_the_stop_sends_one_closing_order_until_the_position_changes() {
    let env = Env::start().await;
    let _node = env.portfolio("a").await;
    // Execution is played by the test: it records each request and answers an error.
    let mut seen = std::collections::HashSet::new();
    let mut submits = env.submits().await;
    env.long_aaa().await;
    let position: Position = env
        .call(
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "AAA", "stop_loss": "95", "take_profit": "120"}),
        )
        .await;
    assert_eq!(position.qty, dec!(10));
    assert_eq!(
        (position.stop_loss, position.take_profit),
        (Some(dec!(95)), Some(dec!(120)))
    );
    assert_eq!(env.positions("acc").await["AAA"], position);

    // Inside the band: nothing. Then a low of 94 goes through the stop at 95.
    let t1 = T0 + MINUTE;
    env.bar("AAA", t1, dec!(96), dec!(119), dec!(99)).await;
    let t2 = T0 + 2 * MINUTE;
    env.bar("AAA", t2, dec!(94), dec!(99), dec!(95)).await;
    let order = next_submit(&env.client, &mut submits, &mut seen).await;
    assert_eq!(
        order,
        OrderRequest {
            client_order_id: format!("sl-AAA-{t2}"),
            account: "acc".into(),
            symbol: Symbol::new("AAA").unwrap(),
            side: Side::Sell,
            order_type: OrderType::Market,
            qty: dec!(10),
            limit_price: None,
            stop_price: None,
            trailing: None,
            expire_at: None,
            post_only: false,
            tif: Default::default(),
            reduce_only: true,
            timeframe: Some(Timeframe::parse("1m").unwrap()),
            strategy_id: None,
            after_ts: Some(UnixNanos(t2)),
            sizing: None,
            bracket: None,
            oco: Vec::new(),
        }
    );
    // Still through the stop, but its closing order is pending: no second one.
    let t3 = T0 + 3 * MINUTE;
    env.bar("AAA", t3, dec!(90), dec!(94), dec!(91)).await;
    testkit::wait_until("marked at t3", Duration::from_secs(10), || async {
        (env.summary("acc").await.market_ts == UnixNanos(t3)).then_some(())
    })
    .await;
    // The position changes (the failed close never filled; 5 more bought
    // after t3): the next bar through a level sends a new order for all 15.
    env.publish(fill(2, "AAA", Side::Buy, dec!(5), dec!(92), dec!(0), 4))
        .await;
    let t5 = T0 + 5 * MINUTE;
    env.bar("AAA", t5, dec!(89), dec!(93), dec!(90)).await;
    let order = next_submit(&env.client, &mut submits, &mut seen).await;
    assert_eq!(
        order.client_order_id,
        format!("sl-AAA-{t5}"),
        "no order for t3"
    );
    assert_eq!(
        (order.side, order.qty, order.reduce_only),
        (Side::Sell, dec!(15), true)
    );

    // A short's take-profit is below it.
    env.publish(fill(3, "BBB", Side::Sell, dec!(4), dec!(50), dec!(0), 0))
        .await;
    let _: Position = env
        .call(
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "BBB", "take_profit": "45"}),
        )
        .await;
    let t6 = T0 + 6 * MINUTE;
    env.bar("BBB", t6, dec!(44), dec!(49), dec!(46)).await;
    let order = next_submit(&env.client, &mut submits, &mut seen).await;
    assert_eq!(order.client_order_id, format!("tp-BBB-{t6}"));
    assert_eq!(
        (order.side, order.qty, order.reduce_only),
        (Side::Buy, dec!(4), true)
    );
    // The service is still fine after the failed orders.
    assert_eq!(env.summary("acc").await.fills, 3);
}

#[tokio::test]
async fn bad_requests_get_error_replies() {
    let env = Env::start().await;
    let _node = env.portfolio("a").await;
    let _: Summary = env
        .call(
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "acc", "cash": "0"}),
        )
        .await;
    for (subject, body, code) in [
        (
            subjects::portfolio::SUMMARY_GET,
            json!({"account": "ghost"}),
            "404",
        ),
        (
            subjects::portfolio::POSITIONS_GET,
            json!({"account": "ghost"}),
            "404",
        ),
        (
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "ghost", "symbol": "AAA", "stop_loss": "1"}),
            "404",
        ),
        (
            subjects::portfolio::SUMMARY_GET,
            json!({"account": "a.b"}),
            "400",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "bad.id", "cash": "1"}),
            "400",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "", "cash": "1"}),
            "400",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "neg", "cash": "-1"}),
            "400",
        ),
        (
            subjects::portfolio::ACCOUNT_OPEN,
            json!({"account": "x"}),
            "400",
        ),
        (
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "AAA", "stop_loss": "-3"}),
            "400",
        ),
    ] {
        let reply = env
            .client
            .request(subject, serde_json::to_vec(&body).unwrap().into())
            .await
            .unwrap();
        assert_eq!(
            error_code(&reply).as_deref(),
            Some(code),
            "{subject} {body}"
        );
        let error: bus::ServiceError = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(error.code.to_string(), code, "{subject} {body}");
        assert!(!error.message.is_empty());
    }
    let reply = env
        .client
        .request(subjects::portfolio::SUMMARY_GET, "not json".into())
        .await
        .unwrap();
    assert_eq!(error_code(&reply).as_deref(), Some("400"));
    // None of it opened an account or moved money.
    assert_eq!(env.summary("acc").await.equity, dec!(0));
    let reply = env
        .client
        .request(
            subjects::portfolio::SUMMARY_GET,
            r#"{"account":"neg"}"#.into(),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&reply).as_deref(), Some("404"));
}

/// A second instance started with a node name already running waits (it
/// would otherwise share that node's consumer and snapshot), and takes over
/// once the first stops.
#[tokio::test]
async fn a_second_instance_with_the_same_node_name_waits_for_the_first() {
    let env = Env::start().await;
    let first = env.portfolio("n1").await;
    let config = env.config("n1");
    let second = testkit::spawn_connected(env.platform.url(), move |c, s| {
        portfolio_service::run(config, c, s.wait())
    });
    // The twin never joins while the first runs.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ids = env
        .platform
        .instance_ids(subjects::portfolio::SERVICE)
        .await;
    assert_eq!(
        ids,
        vec![first.id()],
        "only the first instance serves node n1"
    );

    first.stop().await.unwrap();
    let twin = testkit::wait_until(
        "the twin takes node n1",
        Duration::from_secs(30),
        || async {
            let ids = env
                .platform
                .instance_ids(subjects::portfolio::SERVICE)
                .await;
            (ids.len() == 1 && ids[0] != first.id()).then(|| ids[0].clone())
        },
    )
    .await;
    assert!(!twin.is_empty());
    second.stop().await.unwrap();
}

/// A protective order that execution does not answer (not running yet) is
/// sent again with back-off, under the same client order id, until execution
/// records it: not only when the position changes.
#[tokio::test]
async fn a_protective_order_is_retried_until_execution_records_it() {
    let env = Env::start().await;
    let _node = env.portfolio("a").await;
    let mut submits = env.submits().await;
    env.long_aaa().await;
    let _: Position = env
        .call(
            subjects::portfolio::PROTECTION_SET,
            json!({"account": "acc", "symbol": "AAA", "stop_loss": "95"}),
        )
        .await;
    let t1 = T0 + MINUTE;
    env.bar("AAA", t1, dec!(94), dec!(99), dec!(95)).await;
    // Nobody answers: the same order comes again (the test only listens).
    let coid = format!("sl-AAA-{t1}");
    for _ in 0..3 {
        let m = tokio::time::timeout(Duration::from_secs(20), submits.next())
            .await
            .expect("the protective order, again")
            .unwrap();
        let order: OrderRequest = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(order.client_order_id, coid);
    }
    // Execution (and risk) start: the next try is recorded, once.
    env.platform
        .add(subjects::risk::SERVICE, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .await;
    env.platform
        .add(subjects::execution::SERVICE, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        })
        .await;
    let order: trading::Order = testkit::wait_until(
        "the protective order recorded",
        Duration::from_secs(60),
        || async {
            request(
                &env.client,
                subjects::execution::GET,
                &json!({"account": "acc", "client_order_id": coid}),
                RequestOptions::timeout(Duration::from_secs(2)),
            )
            .await
            .ok()
        },
    )
    .await;
    assert!(order.reduce_only);
    assert_eq!((order.side, order.qty), (Side::Sell, dec!(10)));
}
