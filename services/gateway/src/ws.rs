//! WebSocket `/ws`: clients subscribe to channels with filters; events from
//! core NATS subscriptions are fanned out to them.
//!
//! Client → server: `{"op":"subscribe","channel":"quotes","symbol":"SIM-A"}`,
//! `{"op":"unsubscribe",...}` (same fields). Server → client:
//! `{"channel":"quotes","data":<event JSON>}`, and notices
//! (`{"notice":"dropped","count":N}`, `{"notice":"subscribed",...}`, errors).

use serde::{Deserialize, Serialize};

/// What a client can subscribe to, and the subjects behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// `md.bar.<symbol>.<timeframe>` (filter: `symbol`).
    Bars,
    /// `md.tick.<symbol>` (filter: `symbol`); coalesced per symbol for slow clients.
    Quotes,
    /// `evt.signal.<strategy>.<symbol>` (filters: `strategy`, `symbol`).
    Signals,
    /// `evt.order.<account>.<event>` (filter: `account`).
    Orders,
    /// `evt.fill.<account>.<symbol>` (filters: `account`, `symbol`).
    Fills,
    /// `evt.portfolio.<account>` (filter: `account`); coalesced per account.
    Positions,
    /// `evt.alert.<severity>.<source>` (filter: `account`, read from the alert).
    Alerts,
    /// `evt.system.health` (the monitor's `SYSTEM_HEALTH`).
    Health,
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ClientMessage {
    Subscribe(Subscription),
    Unsubscribe(Subscription),
}

/// A channel and its filters (absent: everything the caller may see).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub channel: Channel,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub strategy: Option<String>,
}

/// A message to the client: an event, or a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ServerMessage {
    Event {
        channel: Channel,
        /// The event as published (the envelope `{"id","type","ts","correlation_id","source","data"}`).
        data: serde_json::Value,
    },
    Notice {
        /// `dropped` (this many events did not fit in the client's queue),
        /// `subscribed`, `unsubscribed`, `error`.
        notice: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::{self, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use bus::subjects::{self, streams};
use futures::{SinkExt, StreamExt};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{watch, Notify};

use crate::auth::Principal;
use crate::http::{self, AppState};
use crate::routes::Route;

/// The NATS subjects the hub reads, and their channel.
pub const SUBJECTS: [(&str, Channel); 8] = [
    (streams::ALL_BARS, Channel::Bars),
    (streams::ALL_TICKS, Channel::Quotes),
    (streams::ALL_SIGNALS, Channel::Signals),
    (streams::ALL_ORDER_EVENTS, Channel::Orders),
    (streams::ALL_FILLS, Channel::Fills),
    (streams::ALL_PORTFOLIO_UPDATES, Channel::Positions),
    (streams::ALL_ALERTS, Channel::Alerts),
    (subjects::gateway::SYSTEM_HEALTH, Channel::Health),
];

/// What an event is about, read from its subject (and, for alerts, its body).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tags {
    pub symbol: Option<String>,
    pub account: Option<String>,
    pub strategy: Option<String>,
}

/// The channel and tags of a message on `subject`.
pub fn classify(subject: &str, payload: &[u8]) -> Option<(Channel, Tags)> {
    let parts: Vec<&str> = subject.split('.').collect();
    let s = |i: usize| parts.get(i).map(|p| p.to_string());
    let tags = match parts.as_slice() {
        ["md", "bar", _, _] => (
            Channel::Bars,
            Tags {
                symbol: s(2),
                ..Tags::default()
            },
        ),
        ["md", "tick", _] => (
            Channel::Quotes,
            Tags {
                symbol: s(2),
                ..Tags::default()
            },
        ),
        ["evt", "signal", _, _] => (
            Channel::Signals,
            Tags {
                strategy: s(2),
                symbol: s(3),
                ..Tags::default()
            },
        ),
        ["evt", "order", _, _] => (
            Channel::Orders,
            Tags {
                account: s(2),
                ..Tags::default()
            },
        ),
        ["evt", "fill", _, _] => (
            Channel::Fills,
            Tags {
                account: s(2),
                symbol: s(3),
                ..Tags::default()
            },
        ),
        ["evt", "portfolio", _] => (
            Channel::Positions,
            Tags {
                account: s(2),
                ..Tags::default()
            },
        ),
        ["evt", "alert", _, _] => {
            let account = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| {
                    v.pointer("/data/account")
                        .and_then(|a| a.as_str())
                        .map(str::to_string)
                });
            (
                Channel::Alerts,
                Tags {
                    account,
                    ..Tags::default()
                },
            )
        }
        ["evt", "system", "health"] => (Channel::Health, Tags::default()),
        _ => return None,
    };
    Some(tags)
}

/// Channels about one account: a caller scoped to accounts sees only theirs.
fn account_channel(channel: Channel) -> bool {
    matches!(
        channel,
        Channel::Orders | Channel::Fills | Channel::Positions | Channel::Alerts
    )
}

impl Subscription {
    fn matches(&self, channel: Channel, tags: &Tags) -> bool {
        let same = |filter: &Option<String>, tag: &Option<String>| match filter {
            None => true,
            Some(f) => tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(f)),
        };
        self.channel == channel
            && same(&self.symbol, &tags.symbol)
            && same(&self.account, &tags.account)
            && same(&self.strategy, &tags.strategy)
    }
}

/// Key of a coalesced event: the latest quote per symbol, the latest
/// portfolio per account replaces an older one still queued.
type CoalesceKey = (Channel, String);

enum Item {
    Frame(Utf8Bytes),
    Latest(CoalesceKey),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    latest: HashMap<CoalesceKey, Utf8Bytes>,
    dropped: u64,
}

/// One connected client.
pub struct Client {
    principal: Principal,
    subscriptions: RwLock<Vec<Subscription>>,
    queue: Mutex<Queue>,
    wake: Notify,
    capacity: usize,
}

impl Client {
    /// Queues an event for the writer; never waits. A full queue drops it
    /// (counted, reported to the client with the next message).
    fn push(&self, frame: &Utf8Bytes, coalesce: Option<CoalesceKey>) {
        let mut q = self.queue.lock();
        match coalesce {
            Some(key) => {
                if let Some(slot) = q.latest.get_mut(&key) {
                    *slot = frame.clone();
                } else if q.items.len() < self.capacity {
                    q.latest.insert(key.clone(), frame.clone());
                    q.items.push_back(Item::Latest(key));
                } else {
                    q.dropped += 1;
                }
            }
            None => {
                if q.items.len() < self.capacity {
                    q.items.push_back(Item::Frame(frame.clone()));
                } else {
                    q.dropped += 1;
                }
            }
        }
        drop(q);
        self.wake.notify_one();
    }

    /// A notice for this client only (always queued: it is small and rare).
    fn notice(&self, message: &ServerMessage) {
        let text = serde_json::to_string(message).unwrap_or_default();
        self.queue.lock().items.push_back(Item::Frame(text.into()));
        self.wake.notify_one();
    }

    /// What the writer sends next: a drop notice first if any were dropped.
    fn take(&self, max: usize, out: &mut Vec<Utf8Bytes>) {
        let mut q = self.queue.lock();
        if q.dropped > 0 {
            let notice = ServerMessage::Notice {
                notice: "dropped".into(),
                count: Some(q.dropped),
                message: None,
            };
            out.push(serde_json::to_string(&notice).unwrap_or_default().into());
            q.dropped = 0;
        }
        while out.len() < max {
            match q.items.pop_front() {
                Some(Item::Frame(f)) => out.push(f),
                Some(Item::Latest(key)) => {
                    if let Some(f) = q.latest.remove(&key) {
                        out.push(f);
                    }
                }
                None => break,
            }
        }
    }

    fn allowed(&self, channel: Channel, tags: &Tags) -> bool {
        !account_channel(channel)
            || self.principal.accounts.is_empty()
            || tags
                .account
                .as_deref()
                .is_some_and(|a| self.principal.may_touch(a))
    }
}

/// Every client of this instance, fed from one core NATS subscription per
/// channel (events are not replayed: a client sees what happens after it subscribed).
pub struct Hub {
    clients: RwLock<HashMap<u64, Arc<Client>>>,
    next_id: AtomicU64,
    capacity: usize,
}

impl Hub {
    pub fn new(capacity: usize) -> Self {
        Hub {
            clients: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            capacity: capacity.max(1),
        }
    }

    pub fn clients(&self) -> usize {
        self.clients.read().len()
    }

    fn register(&self, principal: Principal) -> (u64, Arc<Client>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let client = Arc::new(Client {
            principal,
            subscriptions: RwLock::new(Vec::new()),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            capacity: self.capacity,
        });
        self.clients.write().insert(id, client.clone());
        (id, client)
    }

    fn remove(&self, id: u64) {
        self.clients.write().remove(&id);
    }

    /// Hands one NATS message to every client subscribed to it.
    pub fn dispatch(&self, subject: &str, payload: &[u8]) {
        let Some((channel, tags)) = classify(subject, payload) else {
            return;
        };
        let Ok(body) = std::str::from_utf8(payload) else {
            return;
        };
        if !body.trim_start().starts_with(['{', '[']) {
            return;
        }
        let mut frame: Option<Utf8Bytes> = None;
        let coalesce = match channel {
            Channel::Quotes => tags.symbol.clone().map(|s| (channel, s)),
            Channel::Positions => tags.account.clone().map(|a| (channel, a)),
            _ => None,
        };
        for client in self.clients.read().values() {
            let wanted = client
                .subscriptions
                .read()
                .iter()
                .any(|s| s.matches(channel, &tags));
            if wanted && client.allowed(channel, &tags) {
                let frame = frame.get_or_insert_with(|| {
                    let channel = serde_json::to_string(&channel).unwrap_or_default();
                    format!("{{\"channel\":{channel},\"data\":{body}}}").into()
                });
                client.push(frame, coalesce.clone());
            }
        }
    }

    /// Subscribes to every event subject (before the service reports ready,
    /// so a client that subscribes right after the start misses nothing).
    pub async fn subscribe(&self, client: &async_nats::Client) -> Result<Events, bus::BusError> {
        let mut subs = Vec::new();
        for (subject, _) in SUBJECTS {
            let sub = client
                .subscribe(subject)
                .await
                .map_err(|e| bus::BusError::Service {
                    service: subjects::gateway::SERVICE.to_string(),
                    message: format!("subscribe {subject}: {e}"),
                })?;
            subs.push(sub);
        }
        Ok(futures::stream::select_all(subs))
    }

    /// Reads the events until `stop`; each message is dispatched without
    /// waiting on any client.
    pub async fn run(self: Arc<Self>, mut events: Events, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                next = events.next() => match next {
                    Some(msg) => self.dispatch(&msg.subject, &msg.payload),
                    None => return,
                },
            }
        }
    }
}

/// The hub's subscriptions, merged.
pub type Events = futures::stream::SelectAll<async_nats::Subscriber>;

/// `GET /ws`: authenticate (header, `bearer.<token>` sub-protocol, or
/// `?token=`), then upgrade.
pub async fn upgrade(
    state: Arc<AppState>,
    route: &'static Route,
    headers: HeaderMap,
    query: Option<String>,
    upgrade: Result<WebSocketUpgrade, ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let correlation_id = crate::trace::correlation_id(&headers);
    let outcome = async {
        let token = crate::auth::ws_token(&headers, query.as_deref());
        let principal = crate::auth::authenticate(&state.store, token.as_deref()).await?;
        http::rate_limit(&state.limiter, &principal.id)?;
        if let Some(role) = route.role {
            principal.require(role)?;
        }
        let upgrade = upgrade.map_err(|e| bus::ServiceError::bad_request(e.body_text()))?;
        Ok::<_, bus::ServiceError>((principal, upgrade))
    }
    .await;
    match outcome {
        Ok((principal, upgrade)) => upgrade
            .protocols(["trader"])
            .max_message_size(64 * 1024)
            .on_upgrade(move |socket| session(socket, state, principal)),
        Err(e) => http::error_response(&e, &correlation_id),
    }
}

async fn session(socket: WebSocket, state: Arc<AppState>, principal: Principal) {
    let hub = state.hub.clone();
    let (id, client) = hub.register(principal);
    let (mut sink, mut stream) = socket.split();
    let mut stop = state.stop.clone();
    let writer_client = client.clone();
    let mut writer_stop = state.stop.clone();
    let writer = tokio::spawn(async move {
        let mut batch = Vec::with_capacity(64);
        loop {
            writer_client.take(64, &mut batch);
            if batch.is_empty() {
                tokio::select! {
                    _ = writer_client.wake.notified() => continue,
                    _ = writer_stop.wait_for(|s| *s) => break,
                }
            }
            for frame in batch.drain(..) {
                let sent = tokio::select! {
                    sent = sink.feed(Message::Text(frame)) => sent,
                    _ = writer_stop.wait_for(|s| *s) => return,
                };
                if sent.is_err() {
                    return;
                }
            }
            let flushed = tokio::select! {
                flushed = sink.flush() => flushed,
                _ = writer_stop.wait_for(|s| *s) => return,
            };
            if flushed.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    });
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        match next {
            Some(Ok(Message::Text(text))) => on_client_message(&client, text.as_str()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    hub.remove(id);
    writer.abort();
}

fn on_client_message(client: &Client, text: &str) {
    let notice = |notice: &str, message: Option<String>| ServerMessage::Notice {
        notice: notice.into(),
        count: None,
        message,
    };
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Subscribe(sub)) => {
            if let Some(account) = &sub.account {
                if !client.principal.may_touch(account) {
                    client.notice(&notice(
                        "error",
                        Some(format!("the credentials are not for account {account:?}")),
                    ));
                    return;
                }
            }
            let mut subs = client.subscriptions.write();
            if !subs.contains(&sub) {
                subs.push(sub.clone());
            }
            drop(subs);
            client.notice(&notice(
                "subscribed",
                Some(serde_json::to_string(&sub).unwrap_or_default()),
            ));
        }
        Ok(ClientMessage::Unsubscribe(sub)) => {
            client.subscriptions.write().retain(|s| *s != sub);
            client.notice(&notice(
                "unsubscribed",
                Some(serde_json::to_string(&sub).unwrap_or_default()),
            ));
        }
        Err(e) => client.notice(&notice("error", Some(format!("invalid message: {e}")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_subjects() {
        assert_eq!(
            classify("md.tick.SIM-A", b"{}").unwrap(),
            (
                Channel::Quotes,
                Tags {
                    symbol: Some("SIM-A".into()),
                    ..Tags::default()
                }
            )
        );
        assert_eq!(
            classify("evt.fill.paper.SIM-B", b"{}").unwrap().1,
            Tags {
                account: Some("paper".into()),
                symbol: Some("SIM-B".into()),
                strategy: None
            }
        );
        let alert = br#"{"data":{"account":"a1"}}"#;
        assert_eq!(
            classify("evt.alert.warning.risk", alert)
                .unwrap()
                .1
                .account
                .as_deref(),
            Some("a1")
        );
        assert_eq!(
            classify("evt.system.health", b"{}").unwrap().0,
            Channel::Health
        );
        assert!(classify("md.symbols.list", b"{}").is_none());
    }

    #[test]
    fn full_queue_drops_and_coalesces() {
        let hub = Hub::new(2);
        let (_, client) = hub.register(Principal {
            id: "k".into(),
            role: bus::api::gateway::Role::Viewer,
            accounts: vec![],
        });
        client.subscriptions.write().push(Subscription {
            channel: Channel::Quotes,
            symbol: None,
            account: None,
            strategy: None,
        });
        client.subscriptions.write().push(Subscription {
            channel: Channel::Bars,
            symbol: None,
            account: None,
            strategy: None,
        });
        for i in 0..10 {
            hub.dispatch("md.tick.A", format!("{{\"n\":{i}}}").as_bytes());
        }
        hub.dispatch("md.bar.A.1m", b"{\"bar\":1}");
        hub.dispatch("md.bar.A.1m", b"{\"bar\":2}");
        hub.dispatch("md.bar.A.1m", b"{\"bar\":3}");
        let mut out = Vec::new();
        client.take(10, &mut out);
        let texts: Vec<&str> = out.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            texts,
            [
                r#"{"notice":"dropped","count":2}"#,
                r#"{"channel":"quotes","data":{"n":9}}"#,
                r#"{"channel":"bars","data":{"bar":1}}"#,
            ]
        );
    }
}
