//! Each kind of channel receives what its rules send it, rendered its way:
//! a generic webhook (HMAC verified by the receiver), Discord, Slack,
//! Telegram and email (a local SMTP sink). And the channel list never shows
//! a secret.

mod common;

use std::time::Duration;

use async_nats::jetstream;
use bus::subjects::notify as s;
use common::*;
use serde_json::json;
use testkit::sinks::{Recorder, SmtpSink};
use testkit::wait_until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_gets_what_its_rules_route_to_it() {
    // Secrets by name: the test's environment holds the values.
    std::env::set_var("NOTIFY_TEST_HMAC", "hmac-secret-1");
    std::env::set_var("NOTIFY_TEST_TG_TOKEN", "123:tg-token");
    std::env::set_var("NOTIFY_TEST_SMTP_PASS", "smtp-pass");
    let dir = tempfile::tempdir().unwrap();
    let slack_url_file = dir.path().join("slack-url");

    let (hook_server, hook) = Recorder::start().await;
    let (discord_server, discord) = Recorder::start().await;
    let (slack_server, slack) = Recorder::start().await;
    std::fs::write(
        &slack_url_file,
        format!("{}/services/T0/B0/secret\n", slack_server.url()),
    )
    .unwrap();
    let (tg_server, tg) = FakeTelegram::start("123:tg-token").await;
    let smtp = SmtpSink::start().await;

    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());

    set_channel(
        &client,
        json!({"name": "hook", "type": "webhook",
        "url": format!("{}/hook", hook_server.url()), "secret_env": "NOTIFY_TEST_HMAC"}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "disc", "type": "discord",
        "url": format!("{}/api/webhooks/1/discord-token", discord_server.url())}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "slk", "type": "slack",
        "secret_file": slack_url_file.to_str().unwrap()}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "tg", "type": "telegram", "url": tg_server.url(),
        "chat_id": "-42", "secret_env": "NOTIFY_TEST_TG_TOKEN"}),
    )
    .await;
    set_channel(
        &client,
        json!({"name": "mail", "type": "email", "secret_env": "NOTIFY_TEST_SMTP_PASS",
        "smtp": {"host": "127.0.0.1", "port": smtp.port(), "tls": "none", "username": "ops",
                 "from": "trader <trader@example.com>", "to": ["ops@example.com"]}}),
    )
    .await;

    // Critical alerts → webhook; fills of account acct-a → Discord; backtests →
    // Slack; warnings and worse → Telegram; alerts of account acct-b → email.
    set_rule(&client, json!({"id": "r-hook", "channel": "hook", "event_types": ["RISK_ALERT"], "min_severity": "critical"})).await;
    set_rule(&client, json!({"id": "r-disc", "channel": "disc", "event_types": ["ORDER_EXECUTED"], "accounts": ["acct-a"]})).await;
    set_rule(
        &client,
        json!({"id": "r-slk", "channel": "slk", "event_types": ["BACKTEST_COMPLETE"]}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "r-tg", "channel": "tg", "min_severity": "warning"}),
    )
    .await;
    set_rule(&client, json!({"id": "r-mail", "channel": "mail", "event_types": ["RISK_ALERT"], "accounts": ["acct-b"]})).await;

    alert(
        &js,
        "a1",
        "critical",
        "risk",
        "acct-a",
        "account acct-a is now Halted: lunch",
    )
    .await;
    alert(
        &js,
        "a2",
        "warning",
        "risk",
        "acct-b",
        "order rejected: max_order_qty",
    )
    .await;
    alert(&js, "a3", "info", "monitor", "acct-c", "all services ready").await;
    let f1 = fill(&js, 1, "acct-a", "GOOG", Some("s1")).await;
    let _f2 = fill(&js, 2, "acct-z", "GOOG", None).await;
    backtest_complete(&js, "job7").await;

    wait_until("every channel delivered", WAIT, || async {
        (!hook.requests().is_empty()
            && !discord.requests().is_empty()
            && !slack.requests().is_empty()
            && tg.sent_to("-42").len() >= 2
            && !smtp.mails().is_empty())
        .then_some(())
    })
    .await;
    // Anything still on its way would show up within this pause.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Webhook: the critical alert only, signed, with its idempotency key.
    let hooks = hook.requests();
    assert_eq!(
        hooks.len(),
        1,
        "{:?}",
        hooks.iter().map(|r| r.json()).collect::<Vec<_>>()
    );
    let r = &hooks[0];
    assert_eq!(r.path, "/hook");
    assert!(signature_ok(r, "hmac-secret-1"), "signature must verify");
    assert!(!signature_ok(r, "another-secret"));
    assert_eq!(r.header("idempotency-key"), Some("a1@hook"));
    let body = r.json();
    assert_eq!(body["id"], "a1@hook");
    assert_eq!(body["events"][0]["notice"]["severity"], "critical");
    assert_eq!(body["events"][0]["notice"]["account"], "acct-a");
    assert_eq!(
        body["events"][0]["notice"]["text"],
        "account acct-a is now Halted: lunch"
    );

    // Discord: the acct-a fill, as content.
    let d = discord.requests();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "/api/webhooks/1/discord-token");
    let content = d[0].json()["content"].as_str().unwrap().to_string();
    assert!(content.contains("BUY 1 GOOG @ 100.5"), "{content}");
    assert!(content.contains("acct-a"), "{content}");
    assert_eq!(
        d[0].header("idempotency-key"),
        Some(format!("{f1}@disc").as_str())
    );

    // Slack: the backtest, as text, at the URL from the secret file.
    let sl = slack.requests();
    assert_eq!(sl.len(), 1);
    assert_eq!(sl[0].path, "/services/T0/B0/secret");
    let text = sl[0].json()["text"].as_str().unwrap().to_string();
    assert!(text.contains("sweep job7 finished: 12 tasks"), "{text}");

    // Telegram: the critical and the warning alert, not the info one.
    let t = tg.sent_to("-42");
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(
        t.iter()
            .any(|m| m.contains("[CRITICAL]") && m.contains("Halted: lunch")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|m| m.contains("[WARNING]") && m.contains("max_order_qty")),
        "{t:?}"
    );
    assert!(!t.iter().any(|m| m.contains("all services ready")));

    // Email: the acct-b alert, authenticated.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["ops@example.com".to_string()]);
    assert_eq!(mails[0].from, "trader@example.com");
    assert!(mails[0].auth.is_some(), "logged in with the secret");
    assert!(
        mails[0].data.contains("Subject: [WARNING]"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("max_order_qty"), "{}", mails[0].data);
    assert!(mails[0].data.contains("Message-ID: <"), "{}", mails[0].data);

    // The list names secrets, never shows them, and cuts URLs to their origin.
    let list = req(&client, s::CHANNELS_LIST, json!({})).await;
    let text = list.to_string();
    for secret in [
        "hmac-secret-1",
        "tg-token",
        "smtp-pass",
        "discord-token",
        "/services/T0",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let chans = list["channels"].as_array().unwrap();
    assert_eq!(chans.len(), 5);
    let hook_view = chans
        .iter()
        .find(|c| c["channel"]["name"] == "hook")
        .unwrap();
    assert_eq!(hook_view["secret"], "env:NOTIFY_TEST_HMAC");
    assert_eq!(hook_view["secret_ok"], true);
    assert_eq!(
        hook_view["channel"]["url"],
        format!("{}/…", hook_server.url())
    );

    // notify.test: straight to one channel.
    let test = req(
        &client,
        s::TEST,
        json!({"channel": "disc", "message": "hello from the test"}),
    )
    .await;
    assert_eq!(test["delivered"], true);
    wait_until("the test message", WAIT, || async {
        discord
            .requests()
            .iter()
            .any(|r| {
                r.json()["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("hello from the test")
            })
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_channels_rules_and_chats_get_clear_errors() {
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let cases = [
        (
            s::CHANNELS_SET,
            json!({"name": "x", "type": "webhook"}),
            400,
            "needs url",
        ),
        (
            s::CHANNELS_SET,
            json!({"name": "bad name", "type": "slack", "url": "http://a"}),
            400,
            "invalid channel name",
        ),
        (
            s::CHANNELS_SET,
            json!({"name": "t", "type": "telegram", "chat_id": "1"}),
            400,
            "bot token",
        ),
        (
            s::CHANNELS_SET,
            json!({"name": "w", "type": "webhook", "url": "ftp://x"}),
            400,
            "http",
        ),
        (
            s::CHANNELS_SET,
            json!({"name": "w", "type": "webhook", "url": "http://x", "token": "inline"}),
            400,
            "unknown field",
        ),
        (
            s::CHANNELS_SET,
            json!({"name": "m", "type": "email", "smtp": {"host": "h", "from": "a@b", "to": []}}),
            400,
            "smtp.to",
        ),
        (
            s::RULES_SET,
            json!({"id": "r1", "channel": "nope"}),
            404,
            "unknown channel",
        ),
        (
            s::RULES_SET,
            json!({"id": "r1", "channel": "nope", "min_severity": "loud"}),
            400,
            "invalid request",
        ),
        (
            s::CHATS_SET,
            json!({"chat_id": "abc", "role": "admin"}),
            400,
            "chat id",
        ),
        (
            s::CHATS_SET,
            json!({"chat_id": "12", "role": "god"}),
            400,
            "invalid request",
        ),
        (s::TEST, json!({"channel": "nope"}), 404, "unknown channel"),
    ];
    for (subject, body, code, needle) in cases {
        let (got, reply) = testkit::raw_request(&client, subject, &body).await;
        assert_eq!(got, code, "{subject} {body}: {reply}");
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{subject} {body}: {message}");
    }
    // A channel pointing nowhere: notify.test answers 503 with the reason.
    set_channel(
        &client,
        json!({"name": "down", "type": "webhook", "url": "http://127.0.0.1:9"}),
    )
    .await;
    let (code, reply) = testkit::raw_request(&client, s::TEST, &json!({"channel": "down"})).await;
    assert_eq!(code, 503, "{reply}");
    // Deleting: once true, then false.
    let del = req(&client, s::CHANNELS_DELETE, json!({"id": "down"})).await;
    assert_eq!(del["deleted"], true);
    let del = req(&client, s::CHANNELS_DELETE, json!({"id": "down"})).await;
    assert_eq!(del["deleted"], false);
}

/// The monitor's SYSTEM_HEALTH samples (every few seconds, into SYSTEM) become
/// a notice only when they change: instances per service, server reachability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_health_changes_not_samples() {
    let (hook_server, hook) = Recorder::start().await;
    let platform = platform(config()).await;
    let client = platform.client().clone();
    let js = jetstream::new(client.clone());
    set_channel(
        &client,
        json!({"name": "ops", "type": "webhook", "url": hook_server.url()}),
    )
    .await;
    set_rule(
        &client,
        json!({"id": "health", "channel": "ops", "event_types": ["SYSTEM_HEALTH"]}),
    )
    .await;
    let sample = |risk: usize, reachable: bool| {
        json!({"ts": 0, "monitor": "m1", "services": [
            {"name": "risk", "instances": vec![json!({}); risk], "requests": 0, "errors": 0, "average_processing_ns": 0},
            {"name": "notify", "instances": [{}], "requests": 0, "errors": 0, "average_processing_ns": 0},
        ], "server": {"reachable": reachable}})
    };
    for (id, data) in [
        ("h1", sample(2, true)),  // the first sample: a baseline
        ("h2", sample(2, true)),  // unchanged
        ("h3", sample(1, true)),  // risk lost an instance
        ("h4", sample(1, true)),  // unchanged
        ("h5", sample(2, false)), // risk back, the server's monitoring gone
    ] {
        bus::events::publish(
            &js,
            bus::subjects::monitor::HEALTH.to_string(),
            id,
            "SYSTEM_HEALTH",
            "corr",
            "monitor",
            &data,
            None,
        )
        .await
        .unwrap();
    }
    wait_until("two changes delivered", WAIT, || async {
        (ids_received(&hook.requests()).len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = ids_received(&hook.requests());
    assert_eq!(got, ["h3", "h5"].iter().map(|s| s.to_string()).collect());
    let notices: Vec<serde_json::Value> = hook
        .requests()
        .iter()
        .map(|r| r.json()["events"][0]["notice"].clone())
        .collect();
    let h3 = notices.iter().find(|n| n["id"] == "h3").unwrap();
    assert_eq!(h3["severity"], "warning");
    assert_eq!(h3["text"], "instances: risk 2→1");
    let h5 = notices.iter().find(|n| n["id"] == "h5").unwrap();
    assert_eq!(h5["severity"], "warning");
    assert_eq!(
        h5["text"],
        "instances: risk 1→2, nats-server monitoring unreachable"
    );
}
