//! risk scaled out: two instances in the queue group, each with its own
//! connection, against a real nats-server. Whichever instance a check reaches,
//! the account's partition owner decides it, so the rate, open-order and
//! position limits hold for the account as a whole; and when an instance dies
//! the survivor takes its partitions over and keeps answering.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_nats::jetstream;
use bus::api::risk::{CheckResponse, RejectCode};
use bus::{events, request, subjects, RequestOptions};
use futures::StreamExt;
use model::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use testkit::Platform;
use trading::event::{AccountOpened, OrderEvent};

/// The service's default (checked in [`Env::start`]).
const PARTITIONS: u16 = 16;

fn config() -> risk_service::Config {
    risk_service::Config {
        lease_ttl: Duration::from_millis(1500),
        ..Default::default()
    }
}

struct Env {
    platform: Platform,
    client: async_nats::Client,
    js: jetstream::Context,
}

impl Env {
    /// `instances` risk instances, ready, with the partitions spread evenly.
    async fn start(instances: usize) -> Env {
        assert_eq!(config().partitions, PARTITIONS);
        let platform = Platform::builder()
            .service(subjects::risk::SERVICE, instances, |c, s| {
                risk_service::run(config(), c, s.wait())
            })
            .start()
            .await;
        let client = platform.client().clone();
        let env = Env {
            js: jetstream::new(client.clone()),
            client,
            platform,
        };
        env.settled(instances).await;
        env
    }

    async fn open(&self, account: &str) {
        let e = OrderEvent::AccountOpened(AccountOpened {
            account: account.to_string(),
            cash: dec!(1000000),
        });
        events::publish_order_event(&self.js, &e, "t", "test")
            .await
            .unwrap();
    }

    async fn set_limits(&self, account: &str, limits: serde_json::Value) {
        let _: serde_json::Value = request(
            &self.client,
            subjects::risk::LIMITS_SET,
            &json!({"account": account, "limits": limits}),
            RequestOptions::default(),
        )
        .await
        .unwrap();
    }

    async fn check(&self, account: &str, coid: &str, qty: Decimal) -> CheckResponse {
        request(
            &self.client,
            subjects::risk::CHECK,
            &json!({"account": account, "symbol": "GOOG", "side": "buy", "qty": qty,
                    "price": "100", "client_order_id": coid}),
            RequestOptions::default(),
        )
        .await
        .unwrap()
    }

    /// Holder of each partition's lease (`None`: free).
    async fn holders(&self) -> Vec<Option<String>> {
        let Ok(kv) = self.js.get_key_value(subjects::buckets::RISK_LEASES).await else {
            return vec![None; usize::from(PARTITIONS)];
        };
        let mut out = Vec::new();
        for p in 0..PARTITIONS {
            let key = format!("lease.{}", subjects::risk::partition_lease(p));
            let holder = kv
                .get(key)
                .await
                .ok()
                .flatten()
                .and_then(|b| String::from_utf8(b.to_vec()).ok())
                .filter(|s| !s.is_empty());
            out.push(holder);
        }
        out
    }

    /// Waits until every partition is held and `instances` holders share them
    /// evenly; returns partition → holder.
    async fn settled(&self, instances: usize) -> Vec<String> {
        testkit::wait_until(
            "partitions spread over the instances",
            Duration::from_secs(20),
            || async {
                let holders: Vec<String> =
                    self.holders().await.into_iter().collect::<Option<_>>()?;
                let mut per: HashMap<&str, usize> = HashMap::new();
                for h in &holders {
                    *per.entry(h).or_default() += 1;
                }
                let even = usize::from(PARTITIONS).div_ceil(instances);
                (per.len() == instances && per.values().all(|n| *n == even))
                    .then_some(holders.clone())
            },
        )
        .await
    }

    /// `risk.check` requests each instance has served: instance id → count.
    async fn check_requests(&self) -> HashMap<String, u64> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await.unwrap();
        self.client
            .publish_with_reply("$SRV.STATS.risk", inbox, "".into())
            .await
            .unwrap();
        let mut out = HashMap::new();
        while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await
        {
            let v: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
            let id = v["id"].as_str().unwrap().to_string();
            let n = v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["subject"] == subjects::risk::CHECK)
                .and_then(|e| e["num_requests"].as_u64())
                .unwrap_or(0);
            out.insert(id, n);
        }
        out
    }

    /// Sends all checks at once; returns the answers.
    async fn burst(&self, account: &str, qtys: &[Decimal]) -> Vec<CheckResponse> {
        let checks = qtys.iter().enumerate().map(|(i, q)| {
            let coid = format!("{account}-{i}");
            async move { self.check(account, &coid, *q).await }
        });
        futures::future::join_all(checks).await
    }
}

/// Checks each instance served between two `$SRV.STATS` readings.
fn served(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Vec<u64> {
    after
        .iter()
        .map(|(id, n)| n - before.get(id).copied().unwrap_or(0))
        .collect()
}

/// A known-account check answered on every partition (an account per partition).
async fn accounts_per_partition(env: &Env) -> Vec<String> {
    let mut accounts: Vec<Option<String>> = vec![None; usize::from(PARTITIONS)];
    let mut i = 0;
    while accounts.iter().any(Option::is_none) {
        let name = format!("acc{i}");
        let p = usize::from(risk_service::partition_of(&name, PARTITIONS));
        if accounts[p].is_none() {
            env.open(&name).await;
            accounts[p] = Some(name);
        }
        i += 1;
    }
    accounts.into_iter().flatten().collect()
}

#[tokio::test]
async fn the_rate_limit_holds_for_the_account_across_two_instances() {
    let env = Env::start(2).await;
    env.open("acc").await;
    let n = 10;
    env.set_limits("acc", json!({"max_orders_per_second": n}))
        .await;
    let before = env.check_requests().await;
    // Twice the limit, all at once (well within one second).
    let answers = env.burst("acc", &vec![dec!(1); 2 * n]).await;
    let after = env.check_requests().await;

    let served = served(&before, &after);
    assert_eq!(served.len(), 2);
    assert!(
        served.iter().all(|n| *n > 0),
        "the queue group spread the checks over both instances: {served:?}"
    );
    let accepted = answers.iter().filter(|a| a.accepted).count();
    assert!(accepted > 0);
    assert!(accepted <= n, "{accepted} accepted with a limit of {n}/s");
    for a in answers.iter().filter(|a| !a.accepted) {
        assert_eq!(a.violations[0].code, RejectCode::Throttled);
    }
}

#[tokio::test]
async fn position_room_and_open_orders_are_reserved_across_two_instances() {
    let env = Env::start(2).await;

    // Position: each check fits alone, together they do not.
    env.open("pos").await;
    let max_position = dec!(10);
    env.set_limits("pos", json!({"max_position": max_position}))
        .await;
    let qtys: Vec<Decimal> = (0..24).map(|i| Decimal::from(1 + i % 3)).collect();
    let before = env.check_requests().await;
    let answers = env.burst("pos", &qtys).await;
    let after = env.check_requests().await;
    assert!(served(&before, &after).iter().all(|n| *n > 0));
    let accepted_qty: Decimal = answers
        .iter()
        .zip(&qtys)
        .filter(|(a, _)| a.accepted)
        .map(|(_, q)| *q)
        .sum();
    assert!(accepted_qty > Decimal::ZERO);
    assert!(
        accepted_qty <= max_position,
        "accepted {accepted_qty} with max_position {max_position}"
    );
    assert!(answers
        .iter()
        .filter(|a| !a.accepted)
        .all(|a| a.violations[0].code == RejectCode::MaxPosition));

    // Open orders: reservations count as working orders wherever they were made.
    env.open("opn").await;
    let max_open = 6;
    env.set_limits("opn", json!({"max_open_orders": max_open}))
        .await;
    let answers = env.burst("opn", &vec![dec!(1); 2 * max_open]).await;
    let accepted = answers.iter().filter(|a| a.accepted).count();
    assert!(accepted > 0);
    assert!(
        accepted <= max_open,
        "{accepted} open with a limit of {max_open}"
    );
}

#[tokio::test]
async fn the_survivor_takes_over_the_partitions_of_a_dead_instance() {
    let env = Env::start(2).await;
    // Lease holders are the instances' `$SRV.PING` ids.
    let holders = env.settled(2).await;
    let (first, second) = (
        env.platform.instance(subjects::risk::SERVICE, 0),
        env.platform.instance(subjects::risk::SERVICE, 1),
    );
    let second_holder = second.id();
    assert!(holders.contains(&first.id()) && holders.contains(&second_holder));

    let accounts = accounts_per_partition(&env).await;
    for (i, account) in accounts.iter().enumerate() {
        let r = env.check(account, &format!("before-{i}"), dec!(1)).await;
        assert!(r.accepted, "{account}: {r:?}");
    }

    first.abort();
    // Once the server has seen it go, no request can be lost to it.
    testkit::wait_until(
        "one risk instance left",
        Duration::from_secs(10),
        || async { (env.check_requests().await.len() == 1).then_some(()) },
    )
    .await;
    // Accounts the survivor owned are answered throughout.
    let survivors: Vec<&String> = accounts
        .iter()
        .filter(|a| {
            holders[usize::from(risk_service::partition_of(a, PARTITIONS))] == second_holder
        })
        .collect();
    assert_eq!(survivors.len(), usize::from(PARTITIONS / 2));
    for (i, account) in survivors.iter().enumerate() {
        let r = env.check(account, &format!("during-{i}"), dec!(1)).await;
        assert!(r.accepted, "{account}: {r:?}");
    }
    // The dead instance's leases expire and the survivor takes them all.
    testkit::wait_until(
        "the survivor holds every partition",
        Duration::from_secs(20),
        || async {
            let holders = env.holders().await;
            holders
                .iter()
                .all(|h| h.as_deref() == Some(second_holder.as_str()))
                .then_some(())
        },
    )
    .await;
    let mut answered = HashSet::new();
    for (i, account) in accounts.iter().enumerate() {
        let r = env.check(account, &format!("after-{i}"), dec!(1)).await;
        assert!(r.accepted, "{account}: {r:?}");
        answered.insert(account.clone());
    }
    assert_eq!(answered.len(), usize::from(PARTITIONS));
}

#[tokio::test]
async fn one_order_checked_on_both_instances_gets_one_answer() {
    // Two execution instances racing on one client order id both ask risk;
    // JetStream keeps the first decision, so both answers must agree.
    let env = Env::start(2).await;
    env.open("dup").await;
    env.set_limits(
        "dup",
        json!({"max_position": "10", "max_open_orders": 1, "max_orders_per_second": 1}),
    )
    .await;
    let before = env.check_requests().await;
    let checks = (0..16).map(|_| env.check("dup", "same", dec!(10)));
    let answers = futures::future::join_all(checks).await;
    let after = env.check_requests().await;
    assert!(served(&before, &after).iter().all(|n| *n > 0));
    assert!(answers.iter().all(|a| a.accepted), "{answers:?}");
    // And it holds its room against any other order.
    let other = env.check("dup", "other", dec!(1)).await;
    assert!(!other.accepted);
}

#[tokio::test]
async fn the_internal_subject_answers_only_for_its_own_partition() {
    let env = Env::start(1).await;
    env.open("acc").await;
    let p = risk_service::partition_of("acc", PARTITIONS);
    let body =
        json!({"account": "acc", "symbol": "GOOG", "side": "buy", "qty": "1", "price": "100"});
    let ok: CheckResponse = request(
        &env.client,
        &subjects::risk::internal_check(p),
        &body,
        RequestOptions::default(),
    )
    .await
    .unwrap();
    assert!(ok.accepted);
    let wrong = request::<_, CheckResponse>(
        &env.client,
        &subjects::risk::internal_check((p + 1) % PARTITIONS),
        &body,
        RequestOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong.service_error().map(|e| e.code), Some(400), "{wrong}");
    // Not a micro endpoint: `$SRV.INFO` lists only the public ones.
    let info = env
        .client
        .request("$SRV.INFO.risk", "".into())
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    let subjects: Vec<&str> = info["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    assert!(subjects.contains(&subjects::risk::CHECK));
    assert!(!subjects.iter().any(|s| s.starts_with("risk.internal")));
}
