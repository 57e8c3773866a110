//! Polarity on committed finance headlines: the scorer alone (pure), so a
//! wrong sign names the headline. The service path is in `service.rs`.

use sentiment_service::Analyzer;

mod common;

#[test]
fn every_headline_has_the_expected_sign() {
    let analyzer = Analyzer::new();
    let headlines = common::headlines();
    assert_eq!(headlines.len(), 40);
    let wrong: Vec<String> = headlines
        .iter()
        .filter_map(|(sign, text)| {
            let s = analyzer.score(text);
            (s.compound * sign < 0.05).then(|| format!("{text:?}: {}", s.compound))
        })
        .collect();
    assert!(wrong.is_empty(), "wrong or neutral signs: {wrong:#?}");
}
