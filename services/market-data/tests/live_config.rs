//! The simulator follows the `config` bucket live: its symbols and bar
//! interval change without a restart, as any KV client writes them.

mod common;

use std::time::Duration;

use async_nats::jetstream;
use bus::api::md::BarsResponse;
use common::{raw, Env};
use market_data::SimulatorConfig;
use model::{Symbol, Timeframe};

/// Stream sequence of the newest bar of `symbol` on `timeframe` in MARKET.
async fn last_bar_seq(js: &jetstream::Context, symbol: &str, timeframe: &str) -> Option<u64> {
    let stream = js.get_stream(bus::subjects::streams::MARKET).await.ok()?;
    let subject = bus::subjects::bar(
        &Symbol::new(symbol).unwrap(),
        Timeframe::parse(timeframe).unwrap(),
    );
    stream
        .direct_get_last_for_subject(subject)
        .await
        .ok()
        .map(|m| m.sequence)
}

async fn bars(env: &Env, symbol: &str, timeframe: &str) -> Vec<model::Bar> {
    let body = format!(r#"{{"symbol":"{symbol}","timeframe":"{timeframe}"}}"#);
    let reply = raw(&env.client, "md.bars.get", &body).await;
    if reply.headers.is_some() {
        return Vec::new();
    }
    serde_json::from_slice::<BarsResponse>(&reply.payload)
        .unwrap()
        .bars
}

#[tokio::test]
async fn symbols_and_bar_rate_change_live_from_kv() {
    let env = Env::start().await;
    let js = jetstream::new(env.client.clone());
    let config = market_data::Config {
        simulator: Some(SimulatorConfig {
            symbols: vec![Symbol::new("LIVE-A").unwrap()],
            ..Default::default()
        }),
        config_profile: Some("t".to_string()),
        ..Default::default()
    };
    let _md = env.market_data(config).await;
    testkit::wait_until("a LIVE-A bar in MARKET", Duration::from_secs(20), || {
        last_bar_seq(&js, "LIVE-A", "1s")
    })
    .await;

    // A plain KV client changes the symbol set.
    let kv = js
        .get_key_value(bus::subjects::buckets::CONFIG)
        .await
        .unwrap();
    kv.put("t.sim.symbols", r#"["LIVE-B"]"#.into())
        .await
        .unwrap();
    let first_b = testkit::wait_until("a LIVE-B bar in MARKET", Duration::from_secs(20), || {
        last_bar_seq(&js, "LIVE-B", "1s")
    })
    .await;
    // From then on only LIVE-B: two more of its bars, none of LIVE-A.
    let a_after = last_bar_seq(&js, "LIVE-A", "1s").await.unwrap();
    testkit::wait_until("two more LIVE-B bars", Duration::from_secs(20), || async {
        let b = last_bar_seq(&js, "LIVE-B", "1s").await?;
        (b >= first_b + 2).then_some(())
    })
    .await;
    assert_eq!(
        last_bar_seq(&js, "LIVE-A", "1s").await,
        Some(a_after),
        "LIVE-A stopped"
    );

    // The bar rate: 2-second bars, 2 s apart.
    kv.put("t.sim.bar_seconds", "2".into()).await.unwrap();
    let two = testkit::wait_until(
        "two 2 s bars of LIVE-B",
        Duration::from_secs(30),
        || async {
            let b = bars(&env, "LIVE-B", "2s").await;
            (b.len() >= 2).then_some(b)
        },
    )
    .await;
    for pair in two.windows(2) {
        assert_eq!(pair[1].ts.0 - pair[0].ts.0, 2_000_000_000);
    }
    let one_s_after = last_bar_seq(&js, "LIVE-B", "1s").await;

    // A value that does not pass (written past config.set) counts as unset,
    // as on every instance whatever it saw before: back to the service's own
    // 1 s bars.
    kv.put("t.sim.bar_seconds", "0".into()).await.unwrap();
    testkit::wait_until("1 s bars again", Duration::from_secs(20), || async {
        let now = last_bar_seq(&js, "LIVE-B", "1s").await;
        (now > one_s_after).then_some(())
    })
    .await;
}
