//! Regimes recovered on synthetic series built with known regimes: after the
//! warm-up (the feature window), at least 90 % of bars get the regime that
//! generated them, with both methods, bar by bar (no look-ahead) and decoded.

use regime::synthetic::{series, standard_segments};
use regime::{FeatureVector, Regime, RegimeMethod, RegimeModel, RegimeTracker, RollingFeatures};

const WINDOW: usize = 20;

fn features(closes: &[f64]) -> Vec<Option<FeatureVector>> {
    let mut f = RollingFeatures::new(WINDOW);
    closes.iter().map(|c| f.update(*c)).collect()
}

/// Share of bars (with features) labelled as the regime of the return that
/// ended them, on a fresh series (not the training one).
fn accuracy(method: RegimeMethod) -> (f64, f64) {
    let (train_closes, _) = series(&standard_segments(), 1);
    let train: Vec<FeatureVector> = features(&train_closes).into_iter().flatten().collect();
    let model = RegimeModel::train(method, WINDOW, &train).unwrap();
    model.validate().unwrap();
    assert_eq!(
        model
            .labels
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4,
        "every label used once: {:?}",
        model.labels
    );

    let (closes, truth) = series(&standard_segments(), 2);
    let mut tracker = RegimeTracker::new(model.clone());
    let (mut right, mut total) = (0, 0);
    let mut all = Vec::new();
    let mut all_truth = Vec::new();
    for (i, c) in closes.iter().enumerate() {
        if let Some((f, d)) = tracker.on_close(*c) {
            // closes[i] ends return i-1.
            let want = truth[i - 1];
            total += 1;
            right += (d.regime == want) as usize;
            let p: f64 = d.probabilities.iter().sum();
            assert!((p - 1.0).abs() < 1e-9);
            all.push(f);
            all_truth.push(want);
        }
    }
    let online = right as f64 / total as f64;
    let decoded = model.decode(&all);
    let offline = decoded
        .iter()
        .zip(&all_truth)
        .filter(|(a, b)| a == b)
        .count() as f64
        / total as f64;
    (online, offline)
}

#[test]
fn hmm_recovers_the_regimes() {
    let (online, decoded) = accuracy(RegimeMethod::Hmm);
    println!("hmm: online {online:.3}, viterbi {decoded:.3}");
    assert!(online >= 0.90, "online {online}");
    assert!(decoded >= 0.90, "viterbi {decoded}");
}

#[test]
fn kmeans_recovers_the_regimes() {
    let (online, decoded) = accuracy(RegimeMethod::Kmeans);
    println!("kmeans: online {online:.3}, nearest {decoded:.3}");
    assert!(online >= 0.90, "online {online}");
    assert_eq!(online, decoded);
}

#[test]
fn training_is_deterministic_and_round_trips_through_json() {
    let (closes, _) = series(&standard_segments(), 3);
    let f: Vec<FeatureVector> = features(&closes).into_iter().flatten().collect();
    for method in [RegimeMethod::Hmm, RegimeMethod::Kmeans] {
        let a = RegimeModel::train(method, WINDOW, &f).unwrap();
        let b = RegimeModel::train(method, WINDOW, &f).unwrap();
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).unwrap();
        let back: RegimeModel = serde_json::from_str(&json).unwrap();
        back.validate().unwrap();
        assert_eq!(back.decode(&f), a.decode(&f));
    }
    assert!(RegimeModel::train(RegimeMethod::Hmm, WINDOW, &f[..10]).is_err());
}

#[test]
fn a_model_with_broken_parameters_is_rejected() {
    let (closes, _) = series(&standard_segments(), 4);
    let f: Vec<FeatureVector> = features(&closes).into_iter().flatten().collect();
    let mut m = RegimeModel::train(RegimeMethod::Hmm, WINDOW, &f).unwrap();
    m.hmm.as_mut().unwrap().a[0][0] = 7.0;
    assert!(m.validate().is_err());
    let mut m = RegimeModel::train(RegimeMethod::Kmeans, WINDOW, &f).unwrap();
    m.labels.pop();
    assert!(m.validate().is_err());
    let _ = Regime::ALL;
}
