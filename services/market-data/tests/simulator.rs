//! The live simulator publishes quotes and bars into MARKET on the clock.

mod common;

use std::time::Duration;

use bus::api::md::BarsResponse;
use common::{raw, Env};
use market_data::SimulatorConfig;
use model::Symbol;

#[tokio::test]
async fn simulated_bars_and_quotes_flow_through_market() {
    let env = Env::start().await;
    let config = market_data::Config {
        simulator: Some(SimulatorConfig {
            symbols: vec![Symbol::new("SIM-X").unwrap(), Symbol::new("SIM-Y").unwrap()],
            seed: 9,
            ..Default::default()
        }),
        ..Default::default()
    };
    let md = env.market_data(config).await;

    // Bars appear on md.bar.SIM-X.1s, one per second, valid and contiguous.
    let bars = testkit::wait_until("three simulated bars", Duration::from_secs(20), || async {
        let reply = raw(
            &env.client,
            "md.bars.get",
            r#"{"symbol":"SIM-X","timeframe":"1s"}"#,
        )
        .await;
        if reply.headers.is_some() {
            return None;
        }
        let resp: BarsResponse = serde_json::from_slice(&reply.payload).unwrap();
        (resp.bars.len() >= 3).then_some(resp.bars)
    })
    .await;
    for pair in bars.windows(2) {
        assert_eq!(pair[1].ts.0 - pair[0].ts.0, 1_000_000_000);
    }
    for bar in &bars {
        bar.validate().unwrap();
    }
    // Quotes come from ticks: bid < ask around the last price. (Bars and ticks
    // are followed by two consumers, so for a moment the newest bar's close
    // can be the quote.)
    let quote: model::Quote =
        testkit::wait_until("a quote from ticks", Duration::from_secs(10), || async {
            let reply = raw(&env.client, "md.quote.get", r#"{"symbol":"SIM-Y"}"#).await;
            let q: model::Quote = serde_json::from_slice(&reply.payload).ok()?;
            (q.bid < q.ask).then_some(q)
        })
        .await;
    assert!(
        quote.bid <= quote.last && quote.last <= quote.ask,
        "{quote:?}"
    );

    // The ticks are in the QUOTES stream too.
    let js = async_nats::jetstream::new(env.client.clone());
    let stream = js.get_stream("QUOTES").await.unwrap();
    let tick = stream
        .direct_get_last_for_subject("md.tick.SIM-Y")
        .await
        .unwrap();
    let event: serde_json::Value = serde_json::from_slice(&tick.payload).unwrap();
    assert_eq!(event["type"], "QUOTE_UPDATE");
    assert_eq!(event["source"], "market-data");
    assert!(event["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    md.stop().await.unwrap();
}

#[tokio::test]
async fn one_instance_simulates_and_another_takes_over() {
    let env = Env::start().await;
    let config = market_data::Config {
        simulator: Some(SimulatorConfig {
            symbols: vec![Symbol::new("SIM-Z").unwrap()],
            ..Default::default()
        }),
        lease_ttl: Duration::from_millis(1500),
        ..Default::default()
    };
    let a = env.market_data(config.clone()).await;
    let a_id = env.instance_ids().await.pop().unwrap();
    let b = env.market_data(config).await;
    let js = async_nats::jetstream::new(env.client.clone());
    let leases = js.get_key_value("market-data-leases").await.unwrap();
    let holder = || async {
        let v = leases.get("lease.simulator").await.ok()??;
        Some(String::from_utf8(v.to_vec()).unwrap())
    };
    let first =
        testkit::wait_until("a simulator lease holder", Duration::from_secs(10), holder).await;

    // Ticks come from one simulator: about 4 per second (12 in 3 s), not twice that
    // (the bounds leave room for a loaded machine).
    let mut sub = env.client.subscribe("md.tick.SIM-Z").await.unwrap();
    let mut ticks = 0;
    let window = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Some(_)) =
        tokio::time::timeout_at(window, futures::StreamExt::next(&mut sub)).await
    {
        ticks += 1;
    }
    assert!(
        (4..=18).contains(&ticks),
        "one simulator: {ticks} ticks in 3 s"
    );

    // Stop the holder; the other instance takes the simulator over.
    let (holder_handle, survivor) = if first == a_id { (a, b) } else { (b, a) };
    holder_handle.stop().await.unwrap();
    let second = testkit::wait_until(
        "a new simulator lease holder",
        Duration::from_secs(15),
        || async { holder().await.filter(|h| *h != first) },
    )
    .await;
    assert_ne!(second, first);
    let since = model::UnixNanos::now().0;
    let bar = testkit::wait_until(
        "bars after the takeover",
        Duration::from_secs(15),
        || async {
            let body = format!(r#"{{"symbol":"SIM-Z","timeframe":"1s","from":{since}}}"#);
            let reply = raw(&env.client, "md.bars.get", &body).await;
            if reply.headers.is_some() {
                return None;
            }
            let resp: BarsResponse = serde_json::from_slice(&reply.payload).unwrap();
            resp.bars.into_iter().next()
        },
    )
    .await;
    assert!(bar.ts.0 >= since);
    survivor.stop().await.unwrap();
}
