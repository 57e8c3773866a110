//! A NATS route: authenticate, merge path and query parameters into the JSON
//! body, check the account scope, send one request carrying the caller's
//! correlation id and trace context, answer with the reply (an error reply
//! keeps its JSON body and becomes the HTTP status of its code; no responders
//! → 503, timeout → 504).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use bus::{ErrorKind, RequestError, ServiceError};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::http::{self, AppState};
use crate::routes::{Route, Scope};

/// Everything of the HTTP request a route reads.
pub struct Call {
    pub headers: HeaderMap,
    pub path: Vec<(String, String)>,
    pub query: Result<Vec<(String, String)>, String>,
    pub body: Result<Bytes, BytesRejection>,
}

pub async fn handle(
    state: Arc<AppState>,
    route: &'static Route,
    subject: &'static str,
    call: Call,
) -> Response {
    let correlation_id = crate::trace::correlation_id(&call.headers);
    let traceparent = crate::trace::traceparent(&call.headers);
    let outcome = async {
        let principal = http::guard(&state, route, &call.headers).await?;
        if subject.starts_with("gateway.") && !principal.accounts.is_empty() {
            // Keys and users grant accounts: only an administrator of every account.
            return Err(crate::auth::forbidden(
                "keys and users are managed with credentials for every account",
            ));
        }
        let request = build_request(route, &principal, call)?;
        let payload = serde_json::to_vec(&Value::Object(request))
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        let headers = crate::trace::nats_headers(&correlation_id, &traceparent);
        bus::client::request_with_headers(
            &state.client,
            subject,
            headers,
            payload.into(),
            state.config.request_timeout,
        )
        .await
        .map_err(|e| request_error(subject, e))
    }
    .await;
    match outcome {
        Ok(reply) => http::json_response(200, reply.payload, &correlation_id),
        Err(e) => http::error_response(&e, &correlation_id),
    }
}

/// The request object: the JSON body (empty: `{}`), then query parameters,
/// then path parameters on top; the account scope checked and applied.
pub fn build_request(
    route: &Route,
    principal: &Principal,
    call: Call,
) -> Result<Map<String, Value>, ServiceError> {
    let body = call.body.map_err(http::body_error)?;
    let mut request = if route.verb.has_body() && !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(ServiceError::bad_request("the body must be a JSON object")),
            Err(e) => return Err(ServiceError::bad_request(format!("invalid JSON body: {e}"))),
        }
    } else {
        Map::new()
    };
    let query = call
        .query
        .map_err(|e| ServiceError::bad_request(format!("invalid query: {e}")))?;
    for (k, v) in query {
        request.insert(k, query_value(&v));
    }
    for (k, v) in call.path {
        request.insert(k, Value::String(v));
    }
    apply_scope(route.scope, principal, &mut request)?;
    Ok(request)
}

/// A query value as JSON: integers and booleans typed, the rest strings.
fn query_value(v: &str) -> Value {
    if let Ok(n) = v.parse::<i64>() {
        return Value::from(n);
    }
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(v.to_string()),
    }
}

fn apply_scope(
    scope: Scope,
    principal: &Principal,
    request: &mut Map<String, Value>,
) -> Result<(), ServiceError> {
    // A JSON pointer into the request without copying it.
    let pointer = |request: &Map<String, Value>, at: &str| -> Option<Value> {
        let mut parts = at.trim_start_matches('/').split('/');
        let mut here = request.get(parts.next()?)?;
        for part in parts {
            here = here.get(part)?;
        }
        Some(here.clone())
    };
    match scope {
        Scope::Global => Ok(()),
        Scope::Account { at, default } => match pointer(request, at) {
            Some(Value::String(account)) => principal.require_account(&account),
            Some(_) => Err(ServiceError::bad_request("account must be a string")),
            None => match default {
                Some(account) => principal.require_account(account),
                None => Err(ServiceError::bad_request("missing field `account`")),
            },
        },
        Scope::Optional(at) => match pointer(request, at) {
            Some(Value::String(account)) => principal.require_account(&account),
            _ => Ok(()),
        },
        Scope::OrderId => {
            let id = match request.remove("order_id") {
                Some(Value::String(id)) => id,
                _ => return Err(ServiceError::bad_request("missing order id")),
            };
            let (account, client_order_id) = id.split_once('.').ok_or_else(|| {
                ServiceError::bad_request(format!(
                    "invalid order id {id:?}: <account>.<client_order_id>"
                ))
            })?;
            principal.require_account(account)?;
            request.insert("account".into(), Value::String(account.into()));
            request.insert(
                "client_order_id".into(),
                Value::String(client_order_id.into()),
            );
            Ok(())
        }
    }
}

/// A failed request as the error the HTTP caller sees.
pub fn request_error(subject: &str, e: RequestError) -> ServiceError {
    match e {
        RequestError::Service(e) => e,
        RequestError::NoResponders(_) => {
            ServiceError::unavailable(format!("no service is serving {subject} (is it running?)"))
        }
        RequestError::Timeout(_) => ServiceError::new(
            ErrorKind::Timeout,
            format!("{subject} did not answer in time"),
        ),
        other => ServiceError::unavailable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bus::api::gateway::Role;

    fn call(path: &[(&str, &str)], query: &[(&str, &str)], body: &str) -> Call {
        Call {
            headers: HeaderMap::new(),
            path: path
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            query: Ok(query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()),
            body: Ok(Bytes::from(body.to_string())),
        }
    }

    fn trader(accounts: &[&str]) -> Principal {
        Principal {
            id: "k_1".into(),
            role: Role::Trader,
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn merges_path_over_query_over_body() {
        let route = crate::routes::find(
            crate::routes::Verb::Post,
            "/api/v1/accounts/{account}/orders",
        )
        .unwrap();
        let req = build_request(
            route,
            &trader(&["a"]),
            call(&[("account", "a")], &[], r#"{"account":"b","qty":"1"}"#),
        )
        .unwrap();
        assert_eq!(req["account"], "a");
        assert_eq!(req["qty"], "1");
        let e = build_request(route, &trader(&["b"]), call(&[("account", "a")], &[], "{}"))
            .unwrap_err();
        assert_eq!(e.code, 403);
        let bars = crate::routes::find(crate::routes::Verb::Get, "/api/v1/bars/{symbol}").unwrap();
        let req = build_request(
            bars,
            &trader(&[]),
            call(
                &[("symbol", "SIM-A")],
                &[("limit", "5"), ("timeframe", "1m")],
                "",
            ),
        )
        .unwrap();
        assert_eq!(req["limit"], 5);
        assert_eq!(req["timeframe"], "1m");
    }

    #[test]
    fn order_id_splits_into_account_and_client_id() {
        let route =
            crate::routes::find(crate::routes::Verb::Delete, "/api/v1/orders/{order_id}").unwrap();
        let req = build_request(
            route,
            &trader(&["paper"]),
            call(&[("order_id", "paper.c-1.x")], &[], ""),
        )
        .unwrap();
        assert_eq!(req["account"], "paper");
        assert_eq!(req["client_order_id"], "c-1.x");
        assert!(!req.contains_key("order_id"));
        let e = build_request(
            route,
            &trader(&["other"]),
            call(&[("order_id", "paper.c-1")], &[], ""),
        )
        .unwrap_err();
        assert_eq!(e.code, 403);
    }
}
