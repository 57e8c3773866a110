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
    // Quotes come from ticks: bid < ask around the last price.
    let quote: model::Quote = serde_json::from_slice(
        &raw(&env.client, "md.quote.get", r#"{"symbol":"SIM-Y"}"#)
            .await
            .payload,
    )
    .unwrap();
    assert!(
        quote.bid < quote.ask && quote.bid <= quote.last && quote.last <= quote.ask,
        "{quote:?}"
    );

    // The ticks are in the stream too.
    let js = async_nats::jetstream::new(env.client.clone());
    let stream = js.get_stream("MARKET").await.unwrap();
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
