//! Routes the gateway answers itself: login, the service list, health, the
//! OpenAPI document and the docs page.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bus::api::gateway::{LoginRequest, LoginResponse, ServicesResponse};
use bus::ServiceError;
use futures::StreamExt;

use crate::auth::{self, jwt};
use crate::http::{self, AppState};
use crate::routes::{Local, Route};

pub async fn handle(
    state: Arc<AppState>,
    route: &'static Route,
    which: Local,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let correlation_id = crate::trace::correlation_id(&headers);
    let outcome = async {
        http::guard(&state, route, &headers).await?;
        let json = |bytes: Vec<u8>| http::json_response(200, bytes, &correlation_id);
        Ok::<_, ServiceError>(match which {
            Local::Login => json(login(&state, body.map_err(http::body_error)?).await?),
            Local::Services => json(services(&state).await?),
            Local::Live => json(br#"{"live":true}"#.to_vec()),
            Local::Ready => ready(),
            Local::OpenApi => http::json_response(200, state.openapi.clone(), ""),
            Local::Docs => docs(),
            Local::WebSocket => return Err(ServiceError::bad_request("use a WebSocket upgrade")),
        })
    }
    .await;
    outcome.unwrap_or_else(|e| http::error_response(&e, &correlation_id))
}

async fn login(state: &AppState, body: Bytes) -> Result<Vec<u8>, ServiceError> {
    let req: LoginRequest = serde_json::from_slice(&body)
        .map_err(|e| ServiceError::bad_request(format!("invalid request: {e}")))?;
    // Guessing passwords is rate limited per username.
    http::rate_limit(&state.limiter, &format!("login:{}", req.username))?;
    let user = state
        .store
        .check_password(&req.username, &req.password)
        .await?
        .ok_or_else(|| auth::unauthorized("wrong username or password"))?;
    let now = model::UnixNanos::now().0 as u64 / 1_000_000_000;
    let ttl = state.config.token_ttl.as_secs();
    let claims = jwt::Claims {
        sub: format!("user:{}", user.username),
        role: user.role,
        accounts: user.accounts.clone(),
        iat: now,
        exp: now + ttl,
    };
    let response = LoginResponse {
        token: jwt::sign(&state.store.jwt_key, &claims),
        expires_in: ttl,
        role: user.role,
        accounts: user.accounts,
    };
    serde_json::to_vec(&response).map_err(|e| ServiceError::internal(e.to_string()))
}

/// `monitor.status` when a monitor answers, else `$SRV.INFO` and `$SRV.STATS`
/// of every instance.
async fn services(state: &AppState) -> Result<Vec<u8>, ServiceError> {
    let client = &state.client;
    let monitor = tokio::time::timeout(
        Duration::from_secs(1),
        client.request(
            bus::subjects::gateway::MONITOR_STATUS,
            Bytes::from_static(b"{}"),
        ),
    )
    .await;
    let response = match monitor {
        Ok(Ok(reply)) if bus::client::service_error(&reply).is_none() => ServicesResponse {
            source: "monitor".into(),
            services: vec![serde_json::from_slice(&reply.payload).unwrap_or_default()],
            stats: Vec::new(),
        },
        _ => ServicesResponse {
            source: "discovery".into(),
            services: gather(client, "$SRV.INFO").await?,
            stats: gather(client, "$SRV.STATS").await?,
        },
    };
    serde_json::to_vec(&response).map_err(|e| ServiceError::internal(e.to_string()))
}

/// Every reply to `subject` until none has come for 250 ms (2 s at most).
async fn gather(
    client: &async_nats::Client,
    subject: &str,
) -> Result<Vec<serde_json::Value>, ServiceError> {
    let inbox = client.new_inbox();
    let mut replies = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| ServiceError::unavailable(e.to_string()))?;
    client
        .publish_with_reply(subject.to_string(), inbox, Bytes::new())
        .await
        .map_err(|e| ServiceError::unavailable(e.to_string()))?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let quiet = if out.is_empty() {
            Duration::from_millis(1000)
        } else {
            Duration::from_millis(250)
        };
        let wait = quiet.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        match tokio::time::timeout(wait, replies.next()).await {
            Ok(Some(msg)) => {
                if let Ok(v) = serde_json::from_slice(&msg.payload) {
                    out.push(v);
                }
            }
            _ => break,
        }
    }
    Ok(out)
}

/// 200 when every service of this process is set up and connected, else 503.
fn ready() -> Response {
    let services = bus::runner::process_health();
    let ready = !services.is_empty() && services.iter().all(|s| s.ready);
    let body = serde_json::to_vec(&serde_json::json!({"ready": ready, "services": services}))
        .unwrap_or_default();
    http::json_response(if ready { 200 } else { 503 }, body, "")
}

fn docs() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(crate::docs::PAGE),
    )
        .into_response()
}
