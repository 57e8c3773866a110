//! README "Notifications": the `trader notify …` commands as written there,
//! against a notify service on a private server (the channel is then pointed
//! at a local receiver so `trader notify test` has somewhere to deliver).

use std::process::Output;

use testkit::sinks::Recorder;

async fn trader(url: &str, args: &[&str]) -> Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_trader"))
        .args(args)
        .env("NATS_URL", url)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "trader {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trader_notify_commands_as_in_the_readme() {
    let server = testkit::NatsServer::start().await;
    let client = server.client().await;
    let url = server.url().to_string();
    let service = testkit::spawn_connected(&url, |c, s| {
        notify_service::run(notify_service::Config::default(), c, s.wait())
    });
    testkit::wait_for_service(&client, bus::subjects::notify::CHANNELS_LIST, "{}").await;

    let set = trader(&url, &["notify", "set-channel", r#"{"name":"ops","type":"webhook","url":"https://example.com/hooks/trader","secret_env":"OPS_HOOK_SECRET"}"#]).await;
    assert_eq!(json(&set)["channel"]["url"], "https://example.com/…");
    let rule = trader(&url, &["notify", "set-rule", r#"{"id":"critical-alerts","channel":"ops","event_types":["RISK_ALERT","SYSTEM_HEALTH"],"min_severity":"critical"}"#]).await;
    assert_eq!(json(&rule)["min_severity"], "critical");
    let chat = trader(&url, &["notify", "set-chat", "123456789", "admin"]).await;
    assert_eq!(json(&chat)["role"], "admin");
    let channels = json(&trader(&url, &["notify", "channels"]).await);
    assert_eq!(channels["channels"][0]["secret"], "env:OPS_HOOK_SECRET");
    assert_eq!(channels["channels"][0]["secret_ok"], false);
    let rules = json(&trader(&url, &["notify", "rules"]).await);
    assert_eq!(rules["rules"][0]["id"], "critical-alerts");
    let chats = json(&trader(&url, &["notify", "chats"]).await);
    assert_eq!(chats["chats"][0]["chat_id"], "123456789");

    let (receiver, hook) = Recorder::start().await;
    let local = format!(
        r#"{{"name":"ops","type":"webhook","url":"{}/hooks/trader"}}"#,
        receiver.url()
    );
    trader(&url, &["notify", "set-channel", &local]).await;
    let test = json(&trader(&url, &["notify", "test", "ops"]).await);
    assert_eq!(test["delivered"], true);
    let got = hook.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/hooks/trader");
    assert!(got[0].json()["events"][0]["notice"]["text"]
        .as_str()
        .unwrap()
        .contains("test message to channel ops"));
    service.stop().await.unwrap();
}
