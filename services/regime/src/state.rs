//! What the service knows of each series (symbol and timeframe): rolling
//! features, their recent history, and per method the model in use.

use std::collections::{HashMap, VecDeque};

use bus::api::regime::{Features, ModelRef};
use model::{Bar, RegimeMethod, Symbol, Timeframe, UnixNanos};
use regime::{Decision, FeatureVector, Regime, RegimeModel, RollingFeatures};

pub const METHODS: [RegimeMethod; 2] = [RegimeMethod::Hmm, RegimeMethod::Kmeans];

pub type Key = (Symbol, Timeframe);

#[derive(Default)]
pub struct AllSeries {
    pub series: HashMap<Key, Series>,
}

/// The model one method uses for one series, and where its decisions are.
#[derive(Default, Clone)]
pub struct MethodState {
    pub model: Option<(ModelRef, RegimeModel)>,
    /// The HMM's filtered state probabilities after the last bar.
    pub filter: Option<Vec<f64>>,
    pub last: Option<Decision>,
}

pub struct Series {
    pub features: RollingFeatures,
    /// Recent feature vectors, oldest first (the training set).
    pub history: VecDeque<FeatureVector>,
    /// Open time of the bar each history entry ends on.
    pub history_ts: VecDeque<UnixNanos>,
    pub bars: u64,
    pub as_of: UnixNanos,
    pub last_features: Option<FeatureVector>,
    pub methods: [MethodState; 2],
    /// Bars since each method's model was trained.
    pub since_training: [u64; 2],
    pub last_bar_ts: Option<UnixNanos>,
    /// Recent bars, oldest first (what an ensemble model learns from).
    pub recent_bars: VecDeque<Bar>,
}

/// A label change decided on a bar.
pub struct Change {
    pub method: RegimeMethod,
    pub from: Option<Regime>,
    pub to: Regime,
    pub features: FeatureVector,
    pub as_of: UnixNanos,
    pub model: ModelRef,
}

/// What one bar asks of the service.
#[derive(Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    pub train: Vec<RegimeMethod>,
}

pub fn method_index(method: RegimeMethod) -> usize {
    match method {
        RegimeMethod::Hmm => 0,
        RegimeMethod::Kmeans => 1,
    }
}

pub fn features_of(f: &FeatureVector) -> Features {
    Features {
        mean_return: f.mean_return,
        volatility: f.volatility,
    }
}

impl Series {
    pub fn new(window: usize) -> Self {
        Series {
            features: RollingFeatures::new(window),
            history: VecDeque::new(),
            history_ts: VecDeque::new(),
            bars: 0,
            as_of: UnixNanos(0),
            last_features: None,
            methods: Default::default(),
            since_training: [0; 2],
            last_bar_ts: None,
            recent_bars: VecDeque::new(),
        }
    }

    /// One bar. Bars at or before the last one seen (a replay overlap) are
    /// ignored.
    pub fn on_bar(&mut self, bar: &Bar, config: &crate::Config) -> Outcome {
        let mut out = Outcome::default();
        if self.last_bar_ts.is_some_and(|t| bar.ts <= t) {
            return out;
        }
        self.last_bar_ts = Some(bar.ts);
        self.bars += 1;
        self.as_of = bar.ts;
        self.recent_bars.push_back(bar.clone());
        while self.recent_bars.len() > config.history.max(1) {
            self.recent_bars.pop_front();
        }
        let Some(f) = self.features.update(model::to_f64(bar.close)) else {
            return out;
        };
        self.last_features = Some(f);
        self.history.push_back(f);
        self.history_ts.push_back(bar.ts);
        while self.history.len() > config.history.max(1) {
            self.history.pop_front();
            self.history_ts.pop_front();
        }
        for method in METHODS {
            let i = method_index(method);
            let state = &mut self.methods[i];
            match &state.model {
                None => {
                    if self.history.len() >= config.train_after {
                        out.train.push(method);
                    }
                }
                Some((model_ref, m)) => {
                    let (decision, filter) = m.step(state.filter.as_deref(), &f);
                    state.filter = filter;
                    let from = state.last.as_ref().map(|d| d.regime);
                    if from != Some(decision.regime) {
                        out.changes.push(Change {
                            method,
                            from,
                            to: decision.regime,
                            features: f,
                            as_of: bar.ts,
                            model: model_ref.clone(),
                        });
                    }
                    state.last = Some(decision);
                    self.since_training[i] += 1;
                    if config.retrain_every > 0 && self.since_training[i] >= config.retrain_every {
                        out.train.push(method);
                    }
                }
            }
        }
        out
    }

    /// Puts a newly trained (or loaded) model in use: its filter is run over
    /// the history so its state is that of the last bar. A different label
    /// than before is a change.
    pub fn install(
        &mut self,
        method: RegimeMethod,
        model_ref: ModelRef,
        model: RegimeModel,
    ) -> Option<Change> {
        let i = method_index(method);
        let mut filter: Option<Vec<f64>> = None;
        let mut last = None;
        for f in &self.history {
            let (d, next) = model.step(filter.as_deref(), f);
            filter = next;
            last = Some(d);
        }
        self.since_training[i] = 0;
        let state = &mut self.methods[i];
        let from = state.last.as_ref().map(|d| d.regime);
        state.filter = filter;
        state.model = Some((model_ref.clone(), model));
        state.last = last.clone();
        let to = last?.regime;
        (from != Some(to)).then(|| Change {
            method,
            from,
            to,
            features: self.last_features.unwrap_or_default(),
            as_of: self.as_of,
            model: model_ref,
        })
    }
}
