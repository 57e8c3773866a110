//! Bad input gets a clear error reply and the service keeps serving.

mod common;

use common::{expect_error, goog_csv, raw, Env};

#[tokio::test]
async fn malformed_missing_and_unknown_get_error_envelopes() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;

    let err = expect_error(&raw(&env.client, "md.bars.get", "{not json").await, 400);
    assert_eq!(err["kind"], "bad_request");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("malformed JSON"),
        "{err}"
    );

    let err = expect_error(&raw(&env.client, "md.bars.get", "{}").await, 400);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("missing field `symbol`"),
        "{err}"
    );

    let err = expect_error(
        &raw(
            &env.client,
            "md.bars.get",
            r#"{"symbol":"GOOG","timeframe":"7y"}"#,
        )
        .await,
        400,
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("invalid timeframe"),
        "{err}"
    );

    let err = expect_error(
        &raw(&env.client, "md.quote.get", r#"{"symbol":"BRK.B"}"#).await,
        400,
    );
    assert!(
        err["message"].as_str().unwrap().contains("invalid symbol"),
        "{err}"
    );

    let err = expect_error(
        &raw(&env.client, "md.quote.get", r#"{"symbol":"NOPE"}"#).await,
        404,
    );
    assert_eq!(err["kind"], "not_found");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("unknown symbol NOPE"),
        "{err}"
    );

    expect_error(
        &raw(&env.client, "md.bars.get", r#"{"symbol":"NOPE"}"#).await,
        404,
    );
    expect_error(
        &raw(&env.client, "md.bars.get", r#"{"symbol":"GOOG","limit":0}"#).await,
        400,
    );
    expect_error(
        &raw(
            &env.client,
            "md.bars.get",
            r#"{"symbol":"GOOG","from":"2020-01-02","to":"2020-01-01"}"#,
        )
        .await,
        400,
    );
    expect_error(
        &raw(
            &env.client,
            "md.quote.get",
            r#"{"symbol":"GOOG","extra":1}"#,
        )
        .await,
        400,
    );

    // The errors are counted in $SRV.STATS (data.errors), per endpoint.
    let stats: serde_json::Value =
        serde_json::from_slice(&raw(&env.client, "$SRV.STATS.market-data", "").await.payload)
            .unwrap();
    let bars = stats["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "md.bars.get")
        .unwrap();
    assert_eq!(bars["data"]["errors"], 6);
    assert!(bars["data"]["last_error"].as_str().is_some());
}

#[tokio::test]
async fn a_thousand_malformed_requests_then_good_ones_still_work() {
    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let body = serde_json::json!({"symbol": "GOOG", "csv": goog_csv()}).to_string();
    raw(&env.client, "md.import", &body).await;

    let garbage = [
        "",
        "{",
        "null",
        "[]",
        "\u{0}\u{1}",
        r#"{"symbol":1}"#,
        r#"{"symbol":"A B"}"#,
        "{\"symbol\":\"GOOG\"",
        "💥",
    ];
    let mut sent = 0;
    while sent < 1000 {
        let mut batch = Vec::new();
        for _ in 0..50 {
            let g = garbage[sent % garbage.len()];
            sent += 1;
            let client = env.client.clone();
            batch.push(tokio::spawn(async move {
                raw(&client, "md.quote.get", g).await
            }));
        }
        for reply in batch {
            let reply = reply.await.unwrap();
            let headers = reply.headers.as_ref().expect("an error reply");
            assert_eq!(
                headers.get("Nats-Service-Error-Code").unwrap().as_str(),
                "400"
            );
        }
    }
    let quote: model::Quote = serde_json::from_slice(
        &raw(&env.client, "md.quote.get", r#"{"symbol":"GOOG"}"#)
            .await
            .payload,
    )
    .unwrap();
    assert_eq!(quote.last.to_string(), "806.19");
    let symbols = raw(&env.client, "md.symbols.list", "").await;
    assert!(symbols.headers.is_none());
}

#[tokio::test]
async fn protobuf_on_hot_endpoints_and_unknown_content_types() {
    use bus::codec::ProtoConvert;
    use prost::Message;

    let env = Env::start().await;
    let _md = env.market_data(market_data::Config::default()).await;
    let body = serde_json::json!({"symbol": "GOOG", "csv": goog_csv()}).to_string();
    raw(&env.client, "md.import", &body).await;

    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Content-Type", "application/protobuf");
    let req = bus::proto::QuoteRequestPb {
        symbol: "GOOG".into(),
    };
    let reply = env
        .client
        .request_with_headers("md.quote.get", headers.clone(), req.encode_to_vec().into())
        .await
        .unwrap();
    assert_eq!(
        reply
            .headers
            .as_ref()
            .unwrap()
            .get("Content-Type")
            .unwrap()
            .as_str(),
        "application/protobuf"
    );
    let pb = bus::proto::QuotePb::decode(reply.payload.as_ref()).unwrap();
    let quote = model::Quote::from_proto(pb).unwrap();
    assert_eq!(quote.last.to_string(), "806.19");

    let bars_req = bus::proto::BarsRequestPb {
        symbol: "GOOG".into(),
        timeframe: "1d".into(),
        from: None,
        to: None,
        limit: Some(10),
    };
    let reply = env
        .client
        .request_with_headers(
            "md.bars.get",
            headers.clone(),
            bars_req.encode_to_vec().into(),
        )
        .await
        .unwrap();
    let bars = bus::api::md::BarsResponse::from_proto(
        bus::proto::BarsResponsePb::decode(reply.payload.as_ref()).unwrap(),
    )
    .unwrap();
    assert_eq!(bars.bars.len(), 10);
    assert_eq!(bars.bars[0].close.to_string(), "100.34");

    // Garbage protobuf → 400, JSON-only endpoint asked for protobuf → 400.
    let reply = env
        .client
        .request_with_headers(
            "md.quote.get",
            headers.clone(),
            vec![0xff, 0xff, 0xff].into(),
        )
        .await
        .unwrap();
    expect_error(&reply, 400);
    let reply = env
        .client
        .request_with_headers("md.symbols.list", headers, "".into())
        .await
        .unwrap();
    expect_error(&reply, 400);
    let mut csv_type = async_nats::HeaderMap::new();
    csv_type.insert("Content-Type", "text/csv");
    let reply = env
        .client
        .request_with_headers("md.quote.get", csv_type, "x".into())
        .await
        .unwrap();
    expect_error(&reply, 400);
}
