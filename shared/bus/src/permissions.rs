//! Who may publish and subscribe to what: one NATS user per service, `trader`
//! (the all-in-one process, the union of every service) and `client` (people and
//! tools: the public endpoints, discovery, reading events).
//!
//! Written once, from the names in [`crate::subjects`]; [`render_users_conf`]
//! turns it into nats-server's `authorization` block, committed as
//! `nats/auth/users.conf` (a test keeps the file equal to the rendering:
//! `UPDATE_NATS_AUTH=1 cargo test -p bus permissions` rewrites it).
//!
//! A service user may: serve its own endpoints (queue group `q` only), answer
//! requests it received (`allow_responses`), answer `$SRV` discovery for its own
//! name, request the endpoints of other services it uses, publish the events it
//! writes, and use the JetStream API of the streams and buckets it provisions or
//! reads — nothing else (no `$JS.API.>`, no `>`).

use std::collections::BTreeSet;

use crate::subjects::{self, buckets, streams};

/// Allowed subjects of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: BTreeSet<String>,
    /// `"<subject>"`, or `"<subject> <queue>"` for a queue subscription only.
    pub subscribe: BTreeSet<String>,
    /// May publish one reply to the reply subject of each request it received.
    pub allow_responses: bool,
    /// Micro services one connection of this user answers `$SRV` for: a
    /// discovery request reaches each of them, so each may answer it
    /// (execution: 2 with the paper exchange; `trader`: every service on one
    /// connection). See [`Permissions::max_responses`].
    pub services: usize,
}

/// The JetStream API prefix.
const JS_API: &str = "$JS.API";

impl Permissions {
    /// What every user needs: replies to its own requests and JetStream acks of
    /// its publishes arrive on `_INBOX.>`.
    fn base() -> Self {
        let mut p = Permissions::default();
        p.subscribe.insert("_INBOX.>".to_string());
        p
    }

    fn publish(mut self, subjects: impl IntoIterator<Item = String>) -> Self {
        self.publish.extend(subjects);
        self
    }

    fn subscribe(mut self, subjects: impl IntoIterator<Item = String>) -> Self {
        self.subscribe.extend(subjects);
        self
    }

    /// Serves `endpoints` in queue group `q` (a plain or other-group
    /// subscription to them is refused) and answers `$SRV` pings, info and
    /// stats requests addressed to all services or to `service`.
    fn serves(mut self, service: &str, endpoints: &[&str]) -> Self {
        self.allow_responses = true;
        self.services += 1;
        self.subscribe(
            endpoints
                .iter()
                .map(|e| format!("{e} {}", subjects::QUEUE_GROUP)),
        )
        .subscribe(["PING", "INFO", "STATS"].into_iter().flat_map(|verb| {
            [
                format!("$SRV.{verb}"),
                format!("$SRV.{verb}.{service}"),
                format!("$SRV.{verb}.{service}.*"),
            ]
        }))
    }

    /// Plain (core) subscriptions: live ticks.
    fn listens(self, subjects: &[&str]) -> Self {
        self.subscribe(subjects.iter().map(|s| s.to_string()))
    }

    /// Requests these endpoints of other services.
    fn requests(self, endpoints: &[&str]) -> Self {
        self.publish(endpoints.iter().map(|s| s.to_string()))
    }

    /// Publishes these event subjects (into their streams).
    fn publishes(self, subjects: &[&str]) -> Self {
        self.requests(subjects)
    }

    /// Creates or updates `stream` at start (idempotent provisioning).
    fn provisions(self, stream: &str) -> Self {
        self.publish(
            ["CREATE", "UPDATE", "INFO"]
                .into_iter()
                .map(|verb| format!("{JS_API}.STREAM.{verb}.{stream}")),
        )
    }

    /// Reads `stream`: its info, consumers of its own (create, info, delete,
    /// fetch, ack, flow control), direct gets and message gets.
    fn reads(self, stream: &str) -> Self {
        self.publish([
            format!("{JS_API}.STREAM.INFO.{stream}"),
            // Unnamed (ordered) consumers are created on the stream's subject alone.
            format!("{JS_API}.CONSUMER.CREATE.{stream}"),
            format!("{JS_API}.CONSUMER.CREATE.{stream}.>"),
            format!("{JS_API}.CONSUMER.INFO.{stream}.*"),
            format!("{JS_API}.CONSUMER.DELETE.{stream}.*"),
            format!("{JS_API}.CONSUMER.MSG.NEXT.{stream}.*"),
            format!("{JS_API}.DIRECT.GET.{stream}"),
            format!("{JS_API}.DIRECT.GET.{stream}.>"),
            format!("{JS_API}.STREAM.MSG.GET.{stream}"),
            format!("$JS.ACK.{stream}.>"),
            format!("$JS.FC.{stream}.>"),
        ])
    }

    /// Removes messages of `stream` (a sweep's queued tasks when it is canceled).
    fn purges(self, stream: &str) -> Self {
        self.publish([format!("{JS_API}.STREAM.PURGE.{stream}")])
    }

    /// Creates, reads, writes and watches the KV bucket `bucket`.
    fn owns_bucket(self, bucket: &str) -> Self {
        let stream = kv_stream(bucket);
        self.publish([format!("{JS_API}.INFO"), format!("$KV.{bucket}.>")])
            .provisions(&stream)
            .reads(&stream)
    }

    /// Creates (when missing), reads and watches the KV bucket `bucket`, never
    /// writes it (settings a service follows live).
    fn follows_bucket(self, bucket: &str) -> Self {
        let stream = kv_stream(bucket);
        self.publish([format!("{JS_API}.INFO")])
            .provisions(&stream)
            .reads(&stream)
    }

    /// Reads and watches the KV bucket `bucket` someone else owns.
    fn reads_bucket(self, bucket: &str) -> Self {
        self.reads(&kv_stream(bucket))
    }

    /// Creates, reads and writes the object store `bucket` (stream `OBJ_<bucket>`,
    /// subjects `$O.<bucket>.>`; a replaced object's old chunks are purged).
    fn owns_object_store(self, bucket: &str) -> Self {
        let stream = format!("OBJ_{bucket}");
        self.publish([format!("{JS_API}.INFO"), format!("$O.{bucket}.>")])
            .provisions(&stream)
            .reads(&stream)
            .purges(&stream)
    }

    /// Reads the object store `bucket` someone else owns.
    fn reads_object_store(self, bucket: &str) -> Self {
        self.reads(&format!("OBJ_{bucket}"))
    }

    /// Reads `stream` without a consumer: its info and direct gets.
    fn inspects(self, stream: &str) -> Self {
        self.publish([
            format!("{JS_API}.STREAM.INFO.{stream}"),
            format!("{JS_API}.DIRECT.GET.{stream}"),
            format!("{JS_API}.DIRECT.GET.{stream}.>"),
        ])
    }

    /// Everything `self` or `other` allows.
    pub fn union(mut self, other: &Permissions) -> Self {
        self.publish.extend(other.publish.iter().cloned());
        self.subscribe.extend(other.subscribe.iter().cloned());
        self.allow_responses |= other.allow_responses;
        self.services += other.services;
        self
    }
}

impl Permissions {
    /// nats-server's `allow_responses.max` that lets each of `services`
    /// subscriptions of one connection answer a request once. Measured on
    /// 2.15.1: a request delivered `k` times to one connection uses up `k - 1`
    /// of `max` before any reply, so `k` replies need `max = 2k - 1` (the
    /// `k + 1`-th is refused); `true` (max 1) allows one reply whatever `k`.
    pub fn max_responses(&self) -> usize {
        (2 * self.services).saturating_sub(1).max(1)
    }
}

/// The stream behind a KV bucket.
fn kv_stream(bucket: &str) -> String {
    format!("KV_{bucket}")
}

/// The endpoints of one service: public ones anyone with the `client` user
/// may call, internal ones only the service itself.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    pub service: &'static str,
    pub public: &'static [&'static str],
    pub internal: &'static [&'static str],
}

pub const MARKET_DATA: Endpoints = Endpoints {
    service: subjects::md::SERVICE,
    public: &[
        subjects::md::SYMBOLS_LIST,
        subjects::md::BARS_GET,
        subjects::md::QUOTE_GET,
        subjects::md::IMPORT,
        subjects::md::QUALITY_GET,
    ],
    internal: &[],
};

pub const STRATEGY: Endpoints = Endpoints {
    service: subjects::strategy::SERVICE,
    public: &[
        subjects::strategy::KINDS,
        subjects::strategy::START,
        subjects::strategy::STOP,
        subjects::strategy::LIST,
        subjects::strategy::STATUS,
        subjects::strategy::IND_COMPUTE,
    ],
    internal: &[],
};

pub const RISK: Endpoints = Endpoints {
    service: subjects::risk::SERVICE,
    public: &[
        subjects::risk::CHECK,
        subjects::risk::LIMITS_GET,
        subjects::risk::LIMITS_SET,
        subjects::risk::HALT,
        subjects::risk::REDUCE,
        subjects::risk::RESUME,
        subjects::risk::STATUS,
    ],
    internal: &[subjects::risk::INTERNAL_CHECKS],
};

pub const EXECUTION: Endpoints = Endpoints {
    service: subjects::execution::SERVICE,
    public: &[
        subjects::execution::SUBMIT,
        subjects::execution::CANCEL,
        subjects::execution::GET,
        subjects::execution::LIST,
    ],
    internal: &[subjects::execution::EXCHANGE_CANCEL],
};

pub const PORTFOLIO: Endpoints = Endpoints {
    service: subjects::portfolio::SERVICE,
    public: &[
        subjects::portfolio::ACCOUNT_OPEN,
        subjects::portfolio::POSITIONS_GET,
        subjects::portfolio::SUMMARY_GET,
        subjects::portfolio::PROTECTION_SET,
    ],
    internal: &[],
};

pub const BACKTEST: Endpoints = Endpoints {
    service: subjects::backtest::SERVICE,
    public: &[
        subjects::backtest::RUN,
        subjects::backtest::SWEEP_SUBMIT,
        subjects::backtest::JOB_GET,
        subjects::backtest::JOB_CANCEL,
    ],
    internal: &[],
};

pub const ANALYTICS: Endpoints = Endpoints {
    service: subjects::analytics::SERVICE,
    public: &[
        subjects::analytics::PERFORMANCE_GET,
        subjects::analytics::REPORT_GET,
    ],
    internal: &[],
};

pub const MONITOR: Endpoints = Endpoints {
    service: subjects::monitor::SERVICE,
    public: &[subjects::monitor::STATUS, subjects::monitor::HISTORY],
    internal: &[],
};

/// Runs only inside `trader run` (no binary, no user of its own).
pub const CONFIG: Endpoints = Endpoints {
    service: subjects::config::SERVICE,
    public: &[
        subjects::config::GET,
        subjects::config::SET,
        subjects::config::PROFILES_LIST,
    ],
    internal: &[],
};

pub const SENTIMENT: Endpoints = Endpoints {
    service: subjects::sentiment::SERVICE,
    public: &[
        subjects::sentiment::SCORE,
        subjects::sentiment::BATCH,
        subjects::sentiment::SYMBOL_GET,
    ],
    internal: &[],
};

pub const GATEWAY: Endpoints = Endpoints {
    service: subjects::gateway::SERVICE,
    public: &[subjects::gateway::INFO],
    // Keys and users: administrators only (the `trader` user, and the gateway
    // itself for its REST routes), never `client`.
    internal: &[
        subjects::gateway::KEYS_CREATE,
        subjects::gateway::KEYS_LIST,
        subjects::gateway::KEYS_REVOKE,
        subjects::gateway::USERS_CREATE,
        subjects::gateway::USERS_LIST,
        subjects::gateway::USERS_DELETE,
    ],
};

pub const NOTIFY: Endpoints = Endpoints {
    service: subjects::notify::SERVICE,
    public: &[
        subjects::notify::CHANNELS_LIST,
        subjects::notify::CHANNELS_SET,
        subjects::notify::CHANNELS_DELETE,
        subjects::notify::RULES_LIST,
        subjects::notify::RULES_SET,
        subjects::notify::RULES_DELETE,
        subjects::notify::CHATS_LIST,
        subjects::notify::CHATS_SET,
        subjects::notify::CHATS_DELETE,
        subjects::notify::TEST,
    ],
    internal: &[],
};

pub const ORCHESTRATOR: Endpoints = Endpoints {
    service: subjects::orchestrator::SERVICE,
    public: &[
        subjects::orchestrator::PREDICT,
        subjects::orchestrator::BATCH,
        subjects::orchestrator::STATUS,
    ],
    internal: &[],
};

pub const REGIME: Endpoints = Endpoints {
    service: subjects::regime::SERVICE,
    public: &[
        subjects::regime::GET,
        subjects::regime::TRAIN,
        subjects::regime::MODELS_LIST,
    ],
    internal: &[],
};

/// Every service, in start order.
pub const SERVICES: [Endpoints; 14] = [
    CONFIG,
    MARKET_DATA,
    STRATEGY,
    RISK,
    EXECUTION,
    PORTFOLIO,
    BACKTEST,
    ANALYTICS,
    MONITOR,
    GATEWAY,
    NOTIFY,
    SENTIMENT,
    ORCHESTRATOR,
    REGIME,
];

fn serves_public(e: &Endpoints) -> Permissions {
    Permissions::base().serves(e.service, e.public)
}

pub fn market_data() -> Permissions {
    serves_public(&MARKET_DATA)
        .provisions(streams::MARKET)
        .provisions(streams::QUOTES)
        .reads(streams::MARKET)
        .reads(streams::QUOTES)
        .publishes(&streams::MARKET_SUBJECTS)
        .publishes(&streams::QUOTES_SUBJECTS)
        .owns_bucket(buckets::MARKET_DATA_LEASES)
        .follows_bucket(buckets::CONFIG)
}

pub fn strategy() -> Permissions {
    serves_public(&STRATEGY)
        .requests(&[subjects::md::BARS_GET])
        // Pinned model versions (an ensemble's `model_version`).
        .reads_object_store(subjects::object_stores::MODELS)
        .provisions(streams::MARKET)
        .provisions(streams::SIGNALS)
        .reads(streams::MARKET)
        .reads(streams::SIGNALS)
        .publishes(&streams::SIGNALS_SUBJECTS)
        .owns_bucket(buckets::STRATEGIES)
        .owns_bucket(buckets::STRATEGY_LEASES)
}

pub fn risk() -> Permissions {
    serves_public(&RISK)
        .provisions(streams::ORDERS)
        .provisions(streams::PORTFOLIO)
        .provisions(streams::ALERTS)
        .reads(streams::ORDERS)
        .reads(streams::PORTFOLIO)
        .publishes(&[&subjects::alert("*", subjects::risk::SERVICE)])
        .owns_bucket(buckets::RISK_LIMITS)
        .owns_bucket(buckets::RISK_STATE)
        // Account partitions: the owner serves its partitions' internal check
        // subjects (plain subscriptions in queue group `q`, not a micro
        // service); the others forward checks there.
        .owns_bucket(buckets::RISK_LEASES)
        .follows_bucket(buckets::CONFIG)
        .subscribe(
            RISK.internal
                .iter()
                .map(|e| format!("{e} {}", subjects::QUEUE_GROUP)),
        )
        .requests(RISK.internal)
}

pub fn execution() -> Permissions {
    serves_public(&EXECUTION)
        // The paper exchange's instance (the lease holder) serves cancels as
        // a micro service of its own.
        .serves(subjects::execution::EXCHANGE_SERVICE, EXECUTION.internal)
        .requests(EXECUTION.internal)
        .requests(&[subjects::risk::CHECK, subjects::md::BARS_GET])
        .provisions(streams::ORDERS)
        .provisions(streams::MARKET)
        .provisions(streams::QUOTES)
        .provisions(streams::SIGNALS)
        .reads(streams::ORDERS)
        .reads(streams::MARKET)
        .reads(streams::QUOTES)
        .reads(streams::SIGNALS)
        .listens(&streams::QUOTES_SUBJECTS)
        .publishes(&[&subjects::order_event("*", "*"), streams::ALL_FILLS])
        .owns_bucket(buckets::EXECUTION_LEASES)
        .follows_bucket(buckets::CONFIG)
}

pub fn portfolio() -> Permissions {
    serves_public(&PORTFOLIO)
        .requests(&[subjects::execution::SUBMIT])
        .provisions(streams::ORDERS)
        .provisions(streams::PORTFOLIO)
        .provisions(streams::MARKET)
        .reads(streams::ORDERS)
        .reads(streams::PORTFOLIO)
        .reads(streams::MARKET)
        .publishes(&[
            &subjects::account_event("*", "*"),
            &subjects::portfolio_update("*"),
        ])
        .owns_bucket(buckets::PORTFOLIO_NODES)
}

pub fn backtest() -> Permissions {
    serves_public(&BACKTEST)
        .requests(&[subjects::md::BARS_GET])
        .reads_object_store(subjects::object_stores::MODELS)
        .provisions(streams::JOBS)
        .provisions(streams::BACKTESTS)
        .reads(streams::JOBS)
        .purges(streams::JOBS)
        .publishes(&[
            &subjects::backtest_task("*"),
            &subjects::backtest_complete("*"),
        ])
        .owns_bucket(buckets::BACKTEST_JOBS)
        .owns_bucket(buckets::BACKTEST_RESULTS)
}

/// The settings service (inside `trader run`): writes the `config` bucket.
pub fn config() -> Permissions {
    serves_public(&CONFIG).owns_bucket(buckets::CONFIG)
}

pub fn analytics() -> Permissions {
    serves_public(&ANALYTICS)
        .requests(&[
            subjects::backtest::RUN,
            subjects::md::SYMBOLS_LIST,
            subjects::md::BARS_GET,
        ])
        .reads(streams::PORTFOLIO)
        .reads(streams::ORDERS)
        .reads_bucket(buckets::BACKTEST_JOBS)
}

pub fn monitor() -> Permissions {
    serves_public(&MONITOR)
        // Discovery of every service (replies come to its inbox).
        .requests(&["$SRV.STATS", "$SRV.INFO"])
        .provisions(streams::SYSTEM)
        .provisions(streams::ALERTS)
        .reads(streams::SYSTEM)
        .publishes(&[
            subjects::monitor::HEALTH,
            &subjects::alert("*", subjects::monitor::SERVICE),
        ])
        .owns_bucket(buckets::MONITOR_ALERTS)
        // Its job is every stream's state: listing streams and their
        // consumers and reading their info, never their messages.
        .publish([
            format!("{JS_API}.STREAM.LIST"),
            format!("{JS_API}.STREAM.INFO.*"),
            format!("{JS_API}.CONSUMER.LIST.*"),
        ])
}

/// The HTTP gateway: serves its own endpoints, requests every public endpoint
/// (its REST routes) and its own key and user endpoints, `$SRV` discovery and
/// `monitor.status`, reads every live event (the WebSocket), owns its buckets.
pub fn gateway() -> Permissions {
    let own: Vec<&str> = GATEWAY
        .public
        .iter()
        .chain(GATEWAY.internal)
        .copied()
        .collect();
    let public: Vec<&str> = SERVICES
        .iter()
        .flat_map(|e| e.public.iter().copied())
        .collect();
    Permissions::base()
        .serves(GATEWAY.service, &own)
        .requests(&public)
        .requests(&own)
        .requests(&[subjects::gateway::MONITOR_STATUS])
        .publish(["$SRV.>".to_string()])
        .subscribe([streams::EVENTS.to_string()])
        .listens(&streams::MARKET_SUBJECTS)
        .listens(&streams::QUOTES_SUBJECTS)
        .owns_bucket(buckets::GATEWAY_KEYS)
        .owns_bucket(buckets::GATEWAY_USERS)
        .owns_bucket(buckets::GATEWAY_CONFIG)
}

pub fn notify() -> Permissions {
    let mut p = serves_public(&NOTIFY)
        // The Telegram commands.
        .requests(&[
            subjects::portfolio::SUMMARY_GET,
            subjects::portfolio::POSITIONS_GET,
            subjects::execution::LIST,
            subjects::execution::CANCEL,
            subjects::strategy::LIST,
            subjects::strategy::STATUS,
            subjects::strategy::START,
            subjects::strategy::STOP,
            subjects::risk::STATUS,
            subjects::risk::HALT,
            subjects::risk::RESUME,
        ])
        .publishes(&[&subjects::notify::dead("*")]);
    for stream in [
        streams::ALERTS,
        streams::ORDERS,
        streams::BACKTESTS,
        streams::SYSTEM,
    ] {
        p = p.provisions(stream).reads(stream);
    }
    p = p.provisions(streams::NOTIFY_DEAD);
    for bucket in [
        buckets::NOTIFY_CHANNELS,
        buckets::NOTIFY_RULES,
        buckets::NOTIFY_CHATS,
        buckets::NOTIFY_SENT,
        buckets::NOTIFY_STATE,
        buckets::NOTIFY_LEASES,
    ] {
        p = p.owns_bucket(bucket);
    }
    p
}

pub fn sentiment() -> Permissions {
    serves_public(&SENTIMENT)
        .provisions(streams::NEWS)
        .reads(streams::NEWS)
        .owns_bucket(buckets::SENTIMENT_CACHE)
}

/// Asks every service a prediction or the status needs (`regime.get` too,
/// whose service lives elsewhere), `$SRV.PING` discovery and the stream list.
pub fn orchestrator() -> Permissions {
    serves_public(&ORCHESTRATOR)
        .requests(&[
            subjects::md::SYMBOLS_LIST,
            subjects::md::BARS_GET,
            subjects::md::QUOTE_GET,
            subjects::strategy::IND_COMPUTE,
            subjects::strategy::LIST,
            subjects::sentiment::SYMBOL_GET,
            subjects::regime::GET,
            subjects::risk::CHECK,
            subjects::risk::STATUS,
            subjects::portfolio::SUMMARY_GET,
            subjects::monitor::STATUS,
            "$SRV.PING",
        ])
        .publish([format!("{JS_API}.STREAM.LIST")])
}

/// Streams whose events anyone may read.
pub fn regime() -> Permissions {
    serves_public(&REGIME)
        .provisions(streams::MARKET)
        .provisions(streams::REGIMES)
        .provisions(streams::MODELS)
        .reads(streams::MARKET)
        .publishes(&streams::REGIMES_SUBJECTS)
        .publishes(&streams::MODELS_SUBJECTS)
        .owns_object_store(subjects::object_stores::MODELS)
}

const EVENT_STREAMS: [&str; 12] = [
    streams::MARKET,
    streams::QUOTES,
    streams::SIGNALS,
    streams::ORDERS,
    streams::ALERTS,
    streams::PORTFOLIO,
    streams::BACKTESTS,
    streams::SYSTEM,
    streams::NOTIFY_DEAD,
    streams::NEWS,
    streams::REGIMES,
    streams::MODELS,
];

/// People and tools (the CLI, `nats`, dashboards): every public endpoint,
/// `$SRV` discovery, live events, and reading (never writing) the event streams.
pub fn client() -> Permissions {
    let mut p = Permissions::base()
        .requests(
            &SERVICES
                .iter()
                .flat_map(|e| e.public.iter().copied())
                .collect::<Vec<_>>(),
        )
        .publish(["$SRV.>".to_string(), format!("{JS_API}.INFO")])
        .publish(["NAMES", "LIST"].map(|verb| format!("{JS_API}.STREAM.{verb}")))
        .subscribe([streams::EVENTS.to_string()])
        .listens(&streams::MARKET_SUBJECTS)
        .listens(&streams::QUOTES_SUBJECTS);
    for stream in EVENT_STREAMS {
        p = p.inspects(stream);
    }
    p
}

/// The all-in-one process: every service, and the client commands.
pub fn trader() -> Permissions {
    all_services()
        .iter()
        .fold(client(), |acc, (_, p)| acc.union(p))
        .union(&config())
}

fn all_services() -> Vec<(&'static str, Permissions)> {
    vec![
        (MARKET_DATA.service, market_data()),
        (STRATEGY.service, strategy()),
        (RISK.service, risk()),
        (EXECUTION.service, execution()),
        (PORTFOLIO.service, portfolio()),
        (BACKTEST.service, backtest()),
        (ANALYTICS.service, analytics()),
        (MONITOR.service, monitor()),
        (GATEWAY.service, gateway()),
        (NOTIFY.service, notify()),
        (SENTIMENT.service, sentiment()),
        (ORCHESTRATOR.service, orchestrator()),
        (REGIME.service, regime()),
    ]
}

/// The user of the all-in-one process.
pub const TRADER_USER: &str = "trader";
/// The user of people and tools.
pub const CLIENT_USER: &str = "client";

/// Every NATS user with its permissions: one per service (named like the
/// service), `trader` and `client`.
pub fn users() -> Vec<(&'static str, Permissions)> {
    let mut users = all_services();
    users.push((TRADER_USER, trader()));
    users.push((CLIENT_USER, client()));
    users
}

/// The environment variable nats-server reads `user`'s password from
/// (`risk` → `RISK_NATS_PASSWORD`): a bcrypt hash or the password itself.
pub fn password_var(user: &str) -> String {
    format!("{}_NATS_PASSWORD", user.to_uppercase().replace('-', "_"))
}

/// nats-server's `authorization` block for [`users`]: the text of
/// `nats/auth/users.conf`.
pub fn render_users_conf() -> String {
    let mut out = String::from(
        "# GENERATED from shared/bus/src/permissions.rs: do not edit. Regenerate with\n\
         #   UPDATE_NATS_AUTH=1 cargo test -p bus permissions\n\
         # One user per service, `trader` (all-in-one) and `client` (people, tools).\n\
         # Passwords come from the environment (<USER>_NATS_PASSWORD, a bcrypt hash or\n\
         # the password); nats/auth/dev.env has the dev ones. Included by\n\
         # nats/secure.conf and nats/cluster-docker/n*.conf.\n\
         authorization {\n  users: [\n",
    );
    for (user, p) in users() {
        out.push_str(&format!(
            "    {{\n      user: \"{user}\"\n      password: ${}\n      permissions: {{\n",
            password_var(user)
        ));
        render_list(&mut out, "publish", &p.publish);
        render_list(&mut out, "subscribe", &p.subscribe);
        if p.allow_responses && p.services > 1 {
            out.push_str(&format!(
                "        allow_responses: {{ max: {} }}\n",
                p.max_responses()
            ));
        } else if p.allow_responses {
            out.push_str("        allow_responses: true\n");
        }
        out.push_str("      }\n    }\n");
    }
    out.push_str("  ]\n}\n");
    out
}

fn render_list(out: &mut String, what: &str, subjects: &BTreeSet<String>) {
    out.push_str(&format!("        {what}: {{\n          allow: [\n"));
    for s in subjects {
        out.push_str(&format!("            \"{s}\"\n"));
    }
    out.push_str("          ]\n        }\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(path: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path)
    }

    /// The committed config is the rendering of this file; set
    /// `UPDATE_NATS_AUTH=1` to rewrite it after changing a permission.
    #[test]
    fn committed_users_conf_is_the_rendering() {
        let path = repo_file("nats/auth/users.conf");
        let rendered = render_users_conf();
        if std::env::var_os("UPDATE_NATS_AUTH").is_some() {
            std::fs::write(&path, &rendered).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "{} is not the rendering of bus::permissions: run `UPDATE_NATS_AUTH=1 cargo test -p bus permissions`",
            path.display()
        );
    }

    /// nats/auth/dev.env sets a password for every user, and nothing else.
    #[test]
    fn dev_env_has_a_password_per_user() {
        let text = std::fs::read_to_string(repo_file("nats/auth/dev.env")).unwrap();
        let vars: BTreeSet<String> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
            .map(|l| l.split('=').next().unwrap().trim().to_string())
            .collect();
        let wanted: BTreeSet<String> = users().iter().map(|(u, _)| password_var(u)).collect();
        assert_eq!(vars, wanted);
    }

    #[test]
    fn client_reaches_no_internal_subject_and_writes_no_stream() {
        let client = client();
        for e in SERVICES {
            for internal in e.internal {
                assert!(!client.publish.contains(*internal), "{internal}");
            }
            for public in e.public {
                assert!(!public.contains(".internal."), "{public}");
            }
        }
        for s in &client.publish {
            assert!(
                !s.starts_with("evt.")
                    && !s.starts_with("md.bar.")
                    && !s.starts_with("md.tick.")
                    && !s.starts_with("$KV.")
            );
            assert!(!s.contains("CREATE") && !s.contains("UPDATE") && !s.contains("DELETE"));
            assert!(!s.contains("PURGE") && !s.starts_with("$JS.ACK"));
        }
        assert!(!client.allow_responses);
    }

    #[test]
    fn services_serve_only_in_the_queue_group() {
        for (user, p) in all_services() {
            for s in &p.subscribe {
                let plain_ok = s == "_INBOX.>"
                    || s.starts_with("$SRV.")
                    || (user == EXECUTION.service && s == streams::ALL_TICKS)
                    // The gateway's WebSocket reads live events (no request
                    // subject starts with these).
                    || (user == GATEWAY.service
                        && [streams::EVENTS, streams::ALL_BARS, streams::ALL_TICKS]
                            .contains(&s.as_str()));
                assert!(plain_ok || s.ends_with(" q"), "{user}: {s}");
            }
            assert!(!p.publish.iter().any(|s| s == ">" || s == "$JS.API.>"));
        }
    }

    #[test]
    fn trader_is_the_union() {
        let trader = trader();
        for (_, p) in users() {
            assert!(p.publish.is_subset(&trader.publish));
            assert!(p.subscribe.is_subset(&trader.subscribe));
        }
    }

    /// `$SRV.PING` reaches every micro service of a connection: the user of
    /// `trader run` may answer once per service, execution twice.
    #[test]
    fn replies_per_discovery_request() {
        assert_eq!(market_data().services, 1);
        assert_eq!(execution().services, 2);
        assert_eq!(trader().services, SERVICES.len() + 1);
        assert_eq!(client().services, 0);
        assert_eq!(execution().max_responses(), 3);
        assert_eq!(trader().max_responses(), 29);
        assert_eq!(risk().max_responses(), 1);
        let conf = render_users_conf();
        assert!(conf.contains("allow_responses: { max: 29 }"));
    }

    #[test]
    fn password_vars() {
        assert_eq!(password_var("market-data"), "MARKET_DATA_NATS_PASSWORD");
        assert_eq!(password_var("client"), "CLIENT_NATS_PASSWORD");
    }
}
