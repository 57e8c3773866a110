//! An event as people read it: type, severity, account/symbol/strategy for the
//! rules, a title and a line of text. Known types get a sentence; anything
//! else (e.g. a future monitor's `SYSTEM_HEALTH`) still gets through, with its
//! data as compact JSON.

use bus::api::notify::{Notice, Severity};
use model::{Event, UnixNanos};
use serde_json::Value;

const MAX_TEXT: usize = 1500;

/// Reads an event envelope that came on `subject`.
pub fn from_event(subject: &str, payload: &[u8]) -> Result<Notice, String> {
    let event: Event<Value> =
        serde_json::from_slice(payload).map_err(|e| format!("not an event envelope: {e}"))?;
    let data = event.data;
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    // `evt.alert.<severity>.<source>`: the subject names the severity.
    let subject_severity = subject
        .strip_prefix("evt.alert.")
        .and_then(|rest| rest.split('.').next())
        .and_then(Severity::parse);
    let data_severity = str_of(&data, "severity")
        .and_then(|s| Severity::parse(&s))
        .or_else(|| health_severity(&data));
    let mut notice = Notice {
        id: event.id,
        event_type: event.kind.clone(),
        severity: data_severity.or(subject_severity).unwrap_or_default(),
        source: event.source,
        subject: subject.to_string(),
        ts: event.ts,
        correlation_id: event.correlation_id,
        account: str_of(&data, "account"),
        symbol: str_of(&data, "symbol"),
        strategy: str_of(&data, "strategy_id").or_else(|| str_of(&data, "strategy")),
        title: event.kind.replace('_', " ").to_lowercase(),
        text: String::new(),
        data: Value::Null,
    };
    match event.kind.as_str() {
        model::event::types::ORDER_EXECUTED => {
            let fill = data.get("fill").cloned().unwrap_or(Value::Null);
            notice.account = str_of(&fill, "account");
            notice.symbol = str_of(&fill, "symbol");
            notice.strategy = str_of(&fill, "strategy_id");
            let g = |k: &str| str_of(&fill, k).unwrap_or_default();
            notice.title = format!("fill {} {}", g("side"), g("symbol"));
            notice.text = format!(
                "{} {} {} @ {} ({}, account {}, order {})",
                g("side").to_uppercase(),
                g("qty"),
                g("symbol"),
                g("price"),
                g("status"),
                g("account"),
                g("client_order_id"),
            );
        }
        model::event::types::BACKTEST_COMPLETE => {
            let job = str_of(&data, "job_id").unwrap_or_default();
            let tasks = data.get("tasks").cloned().unwrap_or(Value::Null);
            let best = data
                .get("best")
                .and_then(|b| b.as_array())
                .and_then(|b| b.first())
                .map(|b| {
                    format!(
                        "; best {} = {}",
                        b.get("params").cloned().unwrap_or(Value::Null),
                        b.get("objective").cloned().unwrap_or(Value::Null)
                    )
                })
                .unwrap_or_default();
            notice.title = format!("backtest {job} complete");
            notice.text = format!("sweep {job} finished: {tasks} tasks{best}");
        }
        _ => {
            notice.text = match str_of(&data, "message") {
                Some(m) => m,
                None => data.to_string(),
            };
            if let Some(source) = Some(&notice.source).filter(|s| !s.is_empty()) {
                notice.title = format!("{} ({source})", notice.title);
            }
        }
    }
    truncate(&mut notice.text, MAX_TEXT);
    notice.data = data;
    if notice.ts.0 == 0 {
        notice.ts = UnixNanos::now();
    }
    Ok(notice)
}

/// Event type of the monitor's samples.
pub const SYSTEM_HEALTH: &str = "SYSTEM_HEALTH";

/// What of a `SYSTEM_HEALTH` sample is worth a message when it changes:
/// instances per service, and whether nats-server's monitoring answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSummary {
    instances: std::collections::BTreeMap<String, usize>,
    server_reachable: Option<bool>,
}

impl HealthSummary {
    pub fn of(data: &Value) -> HealthSummary {
        let instances = data["services"]
            .as_array()
            .map(|services| {
                services
                    .iter()
                    .filter_map(|s| {
                        let n = s["instances"].as_array().map_or(0, Vec::len);
                        s["name"].as_str().map(|name| (name.to_string(), n))
                    })
                    .collect()
            })
            .unwrap_or_default();
        HealthSummary {
            instances,
            server_reachable: data["server"]["reachable"].as_bool(),
        }
    }

    /// When this differs from `before`, writes the change into `notice`
    /// (text `risk 2→1, notify 0→1`; a warning when anything went down).
    pub fn describe_change(&self, before: &HealthSummary, notice: &mut Notice) -> bool {
        if self == before {
            return false;
        }
        let mut changes = Vec::new();
        let mut worse = false;
        let names: std::collections::BTreeSet<&String> = self
            .instances
            .keys()
            .chain(before.instances.keys())
            .collect();
        for name in names {
            let (was, now) = (
                before.instances.get(name).copied().unwrap_or(0),
                self.instances.get(name).copied().unwrap_or(0),
            );
            if was != now {
                worse |= now < was;
                changes.push(format!("{name} {was}→{now}"));
            }
        }
        if self.server_reachable != before.server_reachable {
            let now = self.server_reachable == Some(true);
            worse |= !now;
            changes.push(format!(
                "nats-server monitoring {}",
                if now { "reachable" } else { "unreachable" }
            ));
        }
        notice.severity = if worse {
            Severity::Warning
        } else {
            Severity::Info
        };
        notice.title = "system health changed".to_string();
        notice.text = format!("instances: {}", changes.join(", "));
        true
    }
}

/// A health event's status word (`ok`, `degraded`, `down`, …) as a severity.
fn health_severity(data: &Value) -> Option<Severity> {
    let status = data
        .get("status")
        .or_else(|| data.get("state"))
        .and_then(Value::as_str)?
        .to_ascii_lowercase();
    Some(match status.as_str() {
        "ok" | "healthy" | "up" | "ready" => Severity::Info,
        "degraded" | "warning" | "slow" => Severity::Warning,
        "down" | "unhealthy" | "critical" | "failed" | "unavailable" => Severity::Critical,
        _ => return None,
    })
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut cut = max.saturating_sub(3);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push('…');
}

/// One line: `[WARNING] title: text`.
pub fn line(n: &Notice) -> String {
    format!(
        "[{}] {}: {}",
        n.severity.as_str().to_uppercase(),
        n.title,
        n.text
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(kind: &str, data: Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"id": "e1", "type": kind, "ts": 5,
            "correlation_id": "c", "source": "src", "data": data}))
        .unwrap()
    }

    #[test]
    fn a_fill_names_its_account_symbol_and_strategy() {
        let data = serde_json::json!({"event": "order_filled", "fill": {"account": "paper",
            "symbol": "GOOG", "side": "sell", "qty": "3", "price": "10.5", "status": "filled",
            "client_order_id": "o9", "strategy_id": "s1"}});
        let n = from_event("evt.fill.paper.GOOG", &envelope("ORDER_EXECUTED", data)).unwrap();
        assert_eq!(n.account.as_deref(), Some("paper"));
        assert_eq!(n.symbol.as_deref(), Some("GOOG"));
        assert_eq!(n.strategy.as_deref(), Some("s1"));
        assert_eq!(n.severity, Severity::Info);
        assert_eq!(
            n.text,
            "SELL 3 GOOG @ 10.5 (filled, account paper, order o9)"
        );
    }

    #[test]
    fn severity_from_the_data_then_the_subject_then_a_health_status() {
        let n = from_event(
            "evt.alert.critical.x",
            &envelope("X", serde_json::json!({"message": "m"})),
        )
        .unwrap();
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.text, "m");
        let n = from_event(
            "evt.alert.critical.x",
            &envelope("X", serde_json::json!({"severity": "warning"})),
        )
        .unwrap();
        assert_eq!(n.severity, Severity::Warning);
        let n = from_event(
            "evt.system.health",
            &envelope("SYSTEM_HEALTH", serde_json::json!({"status": "degraded"})),
        )
        .unwrap();
        assert_eq!(n.severity, Severity::Warning);
        assert!(from_event("x", b"not json").is_err());
        let mut long = "é".repeat(1000);
        truncate(&mut long, 11);
        assert!(long.len() <= 11 && long.ends_with('…'));
    }
}
