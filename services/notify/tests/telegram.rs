//! The Telegram bot against a running stack (market-data, strategy, risk,
//! execution, portfolio, notify) and a local Bot API server: every command
//! answers from the service that owns it; `/halt` halts the account in
//! risk; a chat not on the allowlist gets nothing; a trader-role chat cannot
//! halt; the offset survives a restart (no command runs twice).

mod common;

use std::time::Duration;

use bus::subjects;
use common::*;
use notify_service::{SecretRef, TelegramBot};
use serde_json::json;
use testkit::wait_until;
use testkit::Platform;

const ADMIN: i64 = 111;
const TRADER: i64 = 222;
const VIEWER: i64 = 333;
const STRANGER: i64 = 999;

/// Sends `text` from `chat` and returns the bot's answer.
async fn ask(fake: &FakeTelegram, chat: i64, text: &str) -> String {
    let before = fake.sent_to(&chat.to_string()).len();
    fake.say(chat, text);
    wait_until(&format!("an answer to {text}"), WAIT, || async {
        let sent = fake.sent_to(&chat.to_string());
        (sent.len() > before).then(|| sent[before].clone())
    })
    .await
}

async fn risk_state(client: &async_nats::Client) -> String {
    let st = req(client, subjects::risk::STATUS, json!({"account": "paper"})).await;
    st["state"]["state"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_answer_from_the_running_stack_with_roles() {
    std::env::set_var("NOTIFY_TEST_BOT_TOKEN", "999:bot-token");
    let (tg_server, tg) = FakeTelegram::start("999:bot-token").await;
    let mut config = config();
    let mut bot = TelegramBot::new(tg_server.url(), SecretRef::env("NOTIFY_TEST_BOT_TOKEN"));
    bot.poll_timeout = Duration::from_secs(1);
    bot.request_timeout = Duration::from_secs(10);
    bot.chats
        .push(TelegramBot::parse_chat(&format!("{ADMIN}:admin")).unwrap());
    config.telegram = Some(bot);

    let platform = Platform::builder()
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::strategy::SERVICE, 1, |c, s| {
            strategy_service::run(strategy_service::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, |c, s| {
            let dir = std::env::temp_dir().join(format!("notify-tg-{}", model::ids::new_id()));
            portfolio_service::run(portfolio_service::Config::new(dir), c, s.wait())
        })
        .service(subjects::notify::SERVICE, 1, move |c, s| {
            notify_service::run(config.clone(), c, s.wait())
        })
        .start()
        .await;
    platform.import_goog(0..300).await;
    let client = platform.client().clone();
    req(
        &client,
        subjects::portfolio::ACCOUNT_OPEN,
        json!({"account": "paper", "cash": "100000"}),
    )
    .await;
    req(
        &client,
        subjects::strategy::START,
        json!({"id": "s1", "kind": "sma_cross",
        "params": {"fast": 5, "slow": 20}, "symbols": ["GOOG"], "timeframe": "1d"}),
    )
    .await;
    req(&client, subjects::execution::SUBMIT, json!({"client_order_id": "o1", "account": "paper",
        "symbol": "GOOG", "side": "buy", "type": "limit", "qty": "1", "limit_price": "1", "tif": "GTC"})).await;
    req(
        &client,
        subjects::notify::CHATS_SET,
        json!({"chat_id": TRADER.to_string(), "role": "trader"}),
    )
    .await;
    req(
        &client,
        subjects::notify::CHATS_SET,
        json!({"chat_id": VIEWER.to_string(), "role": "viewer", "account": "paper"}),
    )
    .await;

    // A stranger first: the next answer to someone else proves the bot read past it.
    tg.say(STRANGER, "/status");
    let help = ask(&tg, VIEWER, "/help").await;
    assert!(
        help.contains("/positions") && help.contains("/strategies"),
        "{help}"
    );
    assert!(
        !help.contains("/halt") && !help.contains("/stop"),
        "viewer help: {help}"
    );
    assert!(
        tg.sent_to(&STRANGER.to_string()).is_empty(),
        "a stranger got an answer"
    );

    let status = ask(&tg, ADMIN, "/status").await;
    assert!(status.starts_with("<pre>"), "{status}");
    assert!(
        status.contains("ACTIVE") && status.contains("100000"),
        "{status}"
    );
    assert!(
        status.contains("open orders") && status.contains(" 1"),
        "{status}"
    );
    let balance = ask(&tg, VIEWER, "/balance").await;
    assert!(
        balance.contains("cash") && balance.contains("100000"),
        "{balance}"
    );
    assert_eq!(
        ask(&tg, VIEWER, "/positions").await,
        "No open positions in paper."
    );
    let orders = ask(&tg, VIEWER, "/orders").await;
    assert!(
        orders.contains("o1") && orders.contains("GOOG") && orders.contains("limit"),
        "{orders}"
    );
    let profit = ask(&tg, VIEWER, "/profit").await;
    assert!(
        profit.contains("realized") && profit.contains("unrealized"),
        "{profit}"
    );
    let daily = ask(&tg, VIEWER, "/daily").await;
    assert!(daily.contains("daily P&amp;L"), "{daily}");
    let strategies = ask(&tg, VIEWER, "/strategies").await;
    assert!(
        strategies.contains("s1")
            && strategies.contains("sma_cross")
            && strategies.contains("running"),
        "{strategies}"
    );

    // Roles: a viewer cannot stop, a trader cannot halt.
    let denied = ask(&tg, VIEWER, "/stop s1").await;
    assert!(denied.contains("needs the trader role"), "{denied}");
    let denied = ask(&tg, TRADER, "/halt").await;
    assert!(denied.contains("needs the admin role"), "{denied}");
    assert_eq!(risk_state(&client).await, "ACTIVE");

    // A trader steers strategies and orders.
    let stopped = ask(&tg, TRADER, "/stop s1").await;
    assert!(stopped.contains("strategy s1 is stopped"), "{stopped}");
    let st = req(&client, subjects::strategy::STATUS, json!({"id": "s1"})).await;
    assert_eq!(st["record"]["state"], "stopped");
    let started = ask(&tg, TRADER, "/start s1").await;
    assert!(started.contains("strategy s1 is running"), "{started}");
    let canceled = ask(&tg, TRADER, "/cancel o1").await;
    assert!(canceled.contains("order o1 is canceled"), "{canceled}");
    let o = req(
        &client,
        subjects::execution::GET,
        json!({"account": "paper", "client_order_id": "o1"}),
    )
    .await;
    assert_eq!(o["status"], "canceled");
    let again = ask(&tg, TRADER, "/cancel o1").await;
    assert!(
        again.starts_with("/cancel: ") && again.contains("not working"),
        "{again}"
    );
    let usage = ask(&tg, TRADER, "/stop").await;
    assert!(usage.contains("usage: /stop &lt;strategy&gt;"), "{usage}");

    // An admin halts the account in risk, and resumes it.
    let halted = ask(&tg, ADMIN, "/halt lunch break").await;
    assert!(
        halted.contains("HALTED") && halted.contains("lunch break"),
        "{halted}"
    );
    assert_eq!(risk_state(&client).await, "HALTED");
    let resumed = ask(&tg, ADMIN, "/resume").await;
    assert!(resumed.contains("ACTIVE"), "{resumed}");
    assert_eq!(risk_state(&client).await, "ACTIVE");
    let unknown = ask(&tg, ADMIN, "/moon").await;
    assert!(unknown.contains("Unknown command"), "{unknown}");

    // Restart: the bot goes on after the last update it read, so nothing runs twice.
    let sent_before = tg.all_sent().len();
    let last_id = tg.say(ADMIN, "/daily");
    wait_until("the last answer", WAIT, || async {
        (tg.all_sent().len() > sent_before).then_some(())
    })
    .await;
    let notify = platform.instance(subjects::notify::SERVICE, 0);
    let polls_before = tg.offsets().len();
    notify.restart().await;
    wait_until("polling again after the restart", WAIT, || async {
        (tg.offsets().len() > polls_before + 1).then_some(())
    })
    .await;
    assert!(
        tg.offsets()[polls_before..].iter().all(|o| *o > last_id),
        "{:?}",
        tg.offsets()
    );
    assert_eq!(
        tg.all_sent().len(),
        sent_before + 1,
        "no command answered twice"
    );
    assert!(tg.sent_to(&STRANGER.to_string()).is_empty());
}
