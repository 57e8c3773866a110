//! The HTTP side: one axum router built from [`crate::routes::ROUTES`], the
//! checks every route shares (credentials, rate limit, role), responses and
//! error mapping, CORS (off unless origins are configured), the embedded files.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, RawPathParams, Request, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use bus::{ErrorKind, ServiceError};

use crate::auth::{self, Principal, Store};
use crate::ratelimit::Limiter;
use crate::routes::{Local, Route, Target, Verb, ROUTES};
use crate::{forward, local, ws, Config};

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub client: async_nats::Client,
    pub store: Arc<Store>,
    pub limiter: Limiter,
    pub hub: Arc<ws::Hub>,
    /// `/api/openapi.json`, rendered once.
    pub openapi: Bytes,
    pub stop: tokio::sync::watch::Receiver<bool>,
}

fn filter(verb: Verb) -> MethodFilter {
    match verb {
        Verb::Get => MethodFilter::GET,
        Verb::Post => MethodFilter::POST,
        Verb::Put => MethodFilter::PUT,
        Verb::Delete => MethodFilter::DELETE,
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        let method = filter(route.verb);
        router = match route.target {
            Target::Nats(subject) => router.route(
                route.path,
                on(
                    method,
                    move |State(state): State<Arc<AppState>>,
                          params: Result<
                        RawPathParams,
                        axum::extract::rejection::RawPathParamsRejection,
                    >,
                          query: Result<
                        Query<Vec<(String, String)>>,
                        axum::extract::rejection::QueryRejection,
                    >,
                          headers: HeaderMap,
                          body: Result<Bytes, BytesRejection>| async move {
                        let call = forward::Call {
                            headers,
                            path: path_params(params),
                            query: query.map(|q| q.0).map_err(|e| e.body_text()),
                            body,
                        };
                        forward::handle(state, route, subject, call).await
                    },
                ),
            ),
            Target::Local(Local::WebSocket) => router.route(
                route.path,
                on(
                    method,
                    move |State(state): State<Arc<AppState>>,
                          headers: HeaderMap,
                          query: axum::extract::RawQuery,
                          upgrade: Result<
                        WebSocketUpgrade,
                        axum::extract::ws::rejection::WebSocketUpgradeRejection,
                    >| async move {
                        ws::upgrade(state, route, headers, query.0, upgrade).await
                    },
                ),
            ),
            Target::Local(which) => router.route(
                route.path,
                on(
                    method,
                    move |State(state): State<Arc<AppState>>,
                          headers: HeaderMap,
                          body: Result<Bytes, BytesRejection>| async move {
                        local::handle(state, route, which, headers, body).await
                    },
                ),
            ),
        };
    }
    let cors = !state.config.cors_origins.is_empty();
    let mut router = router
        .fallback(fallback)
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.body_limit,
        ));
    if cors {
        router = router.layer(middleware::from_fn_with_state(state.clone(), cors_layer));
    }
    router.with_state(state)
}

fn path_params(
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
) -> Vec<(String, String)> {
    match params {
        Ok(params) => params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The embedded dashboard, else a JSON 404.
async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    if method == Method::GET {
        if let Some((mime, bytes)) = crate::assets::asset(uri.path()) {
            return Response::builder()
                .header(header::CONTENT_TYPE, mime)
                .header(header::CACHE_CONTROL, "no-cache")
                .body(Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    }
    let e = ServiceError::not_found(format!("no route {method} {}", uri.path()));
    error_response(&e, "")
}

/// Credentials (401), rate limit (429) and role (403) of a route; `None`
/// for routes anyone may call.
pub async fn guard(
    state: &AppState,
    route: &Route,
    headers: &HeaderMap,
) -> Result<Principal, ServiceError> {
    let Some(role) = route.role else {
        return Ok(Principal {
            id: "anonymous".into(),
            role: bus::api::gateway::Role::Viewer,
            accounts: Vec::new(),
        });
    };
    let token = auth::header_token(headers);
    let principal = auth::authenticate(&state.store, token.as_deref()).await?;
    rate_limit(&state.limiter, &principal.id)?;
    principal.require(role)?;
    Ok(principal)
}

/// 429 with the wait in `details.retry_after_s` (and `Retry-After`).
pub fn rate_limit(limiter: &Limiter, caller: &str) -> Result<(), ServiceError> {
    limiter.take(caller).map_err(|wait| {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        ServiceError::new(ErrorKind::TooManyRequests, "rate limit exceeded")
            .with_details(serde_json::json!({ "retry_after_s": seconds }))
    })
}

pub fn json_response(status: u16, body: impl Into<Body>, correlation_id: &str) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "application/json");
    if let Ok(v) = HeaderValue::from_str(correlation_id) {
        if !correlation_id.is_empty() {
            builder = builder.header(bus::headers::CORRELATION_ID, v);
        }
    }
    builder
        .body(body.into())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The error envelope with the status of its code.
pub fn error_response(e: &ServiceError, correlation_id: &str) -> Response {
    let status = if (400..=599).contains(&e.code) {
        e.code
    } else {
        500
    };
    let mut response = json_response(status, e.body(), correlation_id);
    if let Some(wait) = e.details.get("retry_after_s").and_then(|v| v.as_u64()) {
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if status == 401 {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// A body that could not be read: 413 beyond the limit, else 400.
pub fn body_error(e: BytesRejection) -> ServiceError {
    let code = e.status().as_u16();
    let kind = ErrorKind::from_code(code);
    let message = if code == 413 {
        "request body too large".to_string()
    } else {
        format!("cannot read the body: {}", e.body_text())
    };
    ServiceError::new(kind, message)
}

/// CORS for the configured origins only: preflights answered here, the
/// allow headers added to responses; other origins get no CORS headers.
async fn cors_layer(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| {
            state
                .config
                .cors_origins
                .iter()
                .any(|allowed| allowed == "*" || allowed == o)
        })
        .map(str::to_string);
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, x-api-key, correlation-id, traceparent",
                ),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    response
}
