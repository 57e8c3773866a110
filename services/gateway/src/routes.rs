//! The one route table: every REST route of the gateway, what it calls, who
//! may call it. The HTTP router ([`crate::http`]), the OpenAPI document
//! ([`crate::openapi`]) and the dashboard's client all read this table.
//!
//! A NATS route is one request: path parameters and query parameters are
//! merged into the JSON body (they win over body fields of the same name),
//! the merged object is sent to the subject, the reply is the response (a
//! micro error reply becomes the HTTP status of its code, same JSON body).

use axum::http::Method;
use bus::api::{analytics, backtest, gateway, md, orders, portfolio, risk, strategy};
use bus::subjects as s;
use schemars::{JsonSchema, Schema, SchemaGenerator};

pub use bus::api::gateway::Role;

/// HTTP method of a route (a `const`-friendly copy of [`Method`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

impl Verb {
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }

    /// Lower-case, as OpenAPI names operations.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }

    /// Whether a JSON request body is read (GET and DELETE take parameters only).
    pub fn has_body(self) -> bool {
        matches!(self, Verb::Post | Verb::Put)
    }
}

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A NATS request on this subject.
    Nats(&'static str),
    /// Served by the gateway itself.
    Local(Local),
}

/// Routes the gateway answers without a NATS request of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    Login,
    /// `$SRV` discovery, or `monitor.status` when a monitor answers.
    Services,
    Live,
    Ready,
    OpenApi,
    Docs,
    WebSocket,
}

/// Which account a request touches, for keys and users scoped to accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Not about one account (market data, strategies, backtests).
    Global,
    /// The account at this JSON pointer of the merged request; when absent,
    /// `default` (or the request is refused with 400).
    Account {
        at: &'static str,
        default: Option<&'static str>,
    },
    /// Checked only when present (e.g. an analytics `account` source).
    Optional(&'static str),
    /// `order_id` path parameter `<account>.<client_order_id>`: split into
    /// `account` and `client_order_id` of the request.
    OrderId,
}

/// An account from the path (`/accounts/{account}/…`).
const ACCOUNT: Scope = Scope::Account {
    at: "/account",
    default: None,
};

/// JSON Schema of `T`, as a `$ref` into the document's components.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub verb: Verb,
    /// axum syntax: `/api/v1/bars/{symbol}`; parameter names are request fields.
    pub path: &'static str,
    pub target: Target,
    /// `None`: no credentials needed (health, docs, login).
    pub role: Option<Role>,
    pub scope: Scope,
    /// Query parameters (GET/DELETE), merged into the request like path parameters.
    pub query: &'static [&'static str],
    /// OpenAPI tag (the service).
    pub tag: &'static str,
    pub summary: &'static str,
    pub request: SchemaFn,
    pub response: SchemaFn,
}

impl Route {
    /// The OpenAPI `operationId`: the subject, or the local route's name.
    pub fn operation_id(&self) -> String {
        match self.target {
            Target::Nats(subject) => subject.replace('.', "_"),
            Target::Local(local) => format!("gateway_{local:?}").to_lowercase(),
        }
    }

    /// Names of the `{…}` parameters of the path.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// No request fields (an empty object).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct Empty {}

/// Any JSON (health, the docs page is HTML).
pub fn any(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!(true)
}

/// `GET /api/v1/orders/{order_id}` and `DELETE`: the order id only.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct OrderIdParams {
    /// `<account>.<client_order_id>` (the `id` of an `Order`).
    pub order_id: String,
}

/// `PUT /api/v1/accounts/{account}/limits` body: the limits (the account is the path's).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct LimitsBody {
    pub limits: risk::RiskLimits,
}

macro_rules! nats {
    ($verb:ident $path:literal => $subject:expr, $role:ident, $scope:expr, $query:expr, $tag:literal,
     $summary:literal, $req:ty => $resp:ty) => {
        Route {
            verb: Verb::$verb,
            path: $path,
            target: Target::Nats($subject),
            role: Some(Role::$role),
            scope: $scope,
            query: $query,
            tag: $tag,
            summary: $summary,
            request: schema::<$req>,
            response: schema::<$resp>,
        }
    };
}

macro_rules! local {
    ($verb:ident $path:literal => $local:ident, $role:expr, $tag:literal, $summary:literal,
     $req:expr => $resp:expr) => {
        Route {
            verb: Verb::$verb,
            path: $path,
            target: Target::Local(Local::$local),
            role: $role,
            scope: Scope::Global,
            query: &[],
            tag: $tag,
            summary: $summary,
            request: $req,
            response: $resp,
        }
    };
}

const G: Scope = Scope::Global;
const NO_QUERY: &[&str] = &[];

/// Every route, in the order the OpenAPI document lists them.
pub static ROUTES: &[Route] = &[
    // market-data
    nats!(Get "/api/v1/symbols" => s::md::SYMBOLS_LIST, Viewer, G, NO_QUERY, "market-data",
        "Symbols with stored bars or quotes", md::SymbolsRequest => md::SymbolsResponse),
    nats!(Get "/api/v1/bars/{symbol}" => s::md::BARS_GET, Viewer, G,
        &["timeframe", "from", "to", "limit"], "market-data",
        "Bars of a symbol, oldest first; page with `next_from` as the next `from`",
        md::BarsRequest => md::BarsResponse),
    nats!(Get "/api/v1/quotes/{symbol}" => s::md::QUOTE_GET, Viewer, G, NO_QUERY, "market-data",
        "The last quote of a symbol", md::QuoteRequest => md::QuoteResponse),
    nats!(Post "/api/v1/imports" => s::md::IMPORT, Trader, G, NO_QUERY, "market-data",
        "Import CSV bars (strict or lenient)", md::ImportRequest => md::ImportReport),
    // strategy
    nats!(Get "/api/v1/strategy-kinds" => s::strategy::KINDS, Viewer, G, NO_QUERY, "strategy",
        "Built-in strategy kinds and their parameters", strategy::KindsRequest => strategy::KindsResponse),
    nats!(Get "/api/v1/strategies" => s::strategy::LIST, Viewer, G, NO_QUERY, "strategy",
        "Every strategy and where it is", strategy::ListRequest => strategy::ListResponse),
    nats!(Post "/api/v1/strategies" => s::strategy::START, Trader,
        Scope::Account { at: "/account", default: Some(strategy::DEFAULT_PAPER_ACCOUNT) },
        NO_QUERY, "strategy", "Start (or re-start) a strategy",
        strategy::StartRequest => strategy::StrategyRecord),
    nats!(Get "/api/v1/strategies/{id}" => s::strategy::STATUS, Viewer, G, NO_QUERY, "strategy",
        "One strategy's status", strategy::StrategyIdRequest => strategy::StrategyStatus),
    nats!(Post "/api/v1/strategies/{id}/stop" => s::strategy::STOP, Trader, G, NO_QUERY, "strategy",
        "Stop a strategy", strategy::StrategyIdRequest => strategy::StrategyRecord),
    nats!(Post "/api/v1/indicators" => s::strategy::IND_COMPUTE, Viewer, G, NO_QUERY, "strategy",
        "An indicator over stored or inline bars", strategy::ComputeRequest => strategy::ComputeResponse),
    // backtest
    nats!(Post "/api/v1/backtests" => s::backtest::RUN, Trader, G, NO_QUERY, "backtest",
        "Run one backtest", backtest::RunRequest => backtest::BacktestReport),
    nats!(Post "/api/v1/sweeps" => s::backtest::SWEEP_SUBMIT, Trader, G, NO_QUERY, "backtest",
        "Submit a parameter sweep", backtest::SweepRequest => backtest::SweepAccepted),
    nats!(Get "/api/v1/jobs/{job_id}" => s::backtest::JOB_GET, Viewer, G, &["top"], "backtest",
        "A sweep's progress and best results", backtest::JobRequest => backtest::JobStatus),
    nats!(Post "/api/v1/jobs/{job_id}/cancel" => s::backtest::JOB_CANCEL, Trader, G, NO_QUERY,
        "backtest", "Cancel a sweep", backtest::JobRequest => backtest::JobStatus),
    // analytics
    nats!(Post "/api/v1/analytics/performance" => s::analytics::PERFORMANCE_GET, Trader,
        Scope::Optional("/source/account/account"), NO_QUERY, "analytics",
        "Performance of a backtest, sweep result or account against buy & hold",
        analytics::PerformanceRequest => analytics::Performance),
    nats!(Post "/api/v1/analytics/report" => s::analytics::REPORT_GET, Trader,
        Scope::Optional("/source/account/account"), NO_QUERY, "analytics",
        "A report (JSON, or a self-contained HTML page)", analytics::ReportRequest => analytics::Report),
    // portfolio
    nats!(Post "/api/v1/accounts" => s::portfolio::ACCOUNT_OPEN, Admin, ACCOUNT, NO_QUERY,
        "portfolio", "Open an account with cash (once)", portfolio::OpenAccountRequest => portfolio::Summary),
    nats!(Get "/api/v1/accounts/{account}" => s::portfolio::SUMMARY_GET, Viewer, ACCOUNT, NO_QUERY,
        "portfolio", "An account's equity, cash and P&L", portfolio::AccountRequest => portfolio::Summary),
    nats!(Get "/api/v1/accounts/{account}/positions" => s::portfolio::POSITIONS_GET, Viewer, ACCOUNT,
        NO_QUERY, "portfolio", "Open positions", portfolio::AccountRequest => portfolio::PositionsResponse),
    nats!(Put "/api/v1/accounts/{account}/protections" => s::portfolio::PROTECTION_SET, Trader,
        ACCOUNT, NO_QUERY, "portfolio", "Stop-loss and take-profit of a position",
        portfolio::ProtectionRequest => portfolio::Position),
    // execution
    nats!(Post "/api/v1/accounts/{account}/orders" => s::execution::SUBMIT, Trader, ACCOUNT, NO_QUERY,
        "execution", "Submit an order (through risk)", orders::SubmitRequest => orders::Order),
    nats!(Get "/api/v1/accounts/{account}/orders" => s::execution::LIST, Viewer, ACCOUNT,
        &["symbol", "status", "open", "limit"], "execution", "An account's orders, newest first",
        orders::ListRequest => orders::ListResponse),
    nats!(Get "/api/v1/orders/{order_id}" => s::execution::GET, Viewer, Scope::OrderId, NO_QUERY,
        "execution", "One order", OrderIdParams => orders::Order),
    nats!(Delete "/api/v1/orders/{order_id}" => s::execution::CANCEL, Trader, Scope::OrderId,
        NO_QUERY, "execution", "Cancel a working order", OrderIdParams => orders::Order),
    // risk
    nats!(Get "/api/v1/accounts/{account}/risk" => s::risk::STATUS, Viewer, ACCOUNT, NO_QUERY, "risk",
        "An account's trading state, limits and exposure", risk::AccountRequest => risk::StatusResponse),
    nats!(Get "/api/v1/accounts/{account}/limits" => s::risk::LIMITS_GET, Viewer, ACCOUNT, NO_QUERY,
        "risk", "An account's limits", risk::AccountRequest => risk::LimitsResponse),
    nats!(Put "/api/v1/accounts/{account}/limits" => s::risk::LIMITS_SET, Admin, ACCOUNT, NO_QUERY,
        "risk", "Replace an account's limits", LimitsBody => risk::LimitsResponse),
    nats!(Post "/api/v1/accounts/{account}/halt" => s::risk::HALT, Admin, ACCOUNT, NO_QUERY, "risk",
        "Halt an account: every order is rejected", risk::StateRequest => risk::StateRecord),
    nats!(Post "/api/v1/accounts/{account}/reduce" => s::risk::REDUCE, Admin, ACCOUNT, NO_QUERY, "risk",
        "Only orders that reduce a position pass", risk::StateRequest => risk::StateRecord),
    nats!(Post "/api/v1/accounts/{account}/resume" => s::risk::RESUME, Admin, ACCOUNT, NO_QUERY, "risk",
        "Back to ACTIVE", risk::AccountRequest => risk::StateRecord),
    nats!(Post "/api/v1/risk/check" => s::risk::CHECK, Trader, ACCOUNT, NO_QUERY, "risk",
        "Would this order pass?", risk::CheckRequest => risk::CheckResponse),
    // gateway: keys and users (admin), reached over NATS like any endpoint
    nats!(Post "/api/v1/keys" => s::gateway::KEYS_CREATE, Admin, G, NO_QUERY, "gateway",
        "Create an API key (shown once)", gateway::KeyCreateRequest => gateway::KeyCreated),
    nats!(Get "/api/v1/keys" => s::gateway::KEYS_LIST, Admin, G, NO_QUERY, "gateway",
        "List API keys (without secrets)", gateway::ListRequest => gateway::KeysList),
    nats!(Delete "/api/v1/keys/{id}" => s::gateway::KEYS_REVOKE, Admin, G, NO_QUERY, "gateway",
        "Revoke an API key", gateway::KeyRevokeRequest => gateway::Deleted),
    nats!(Post "/api/v1/users" => s::gateway::USERS_CREATE, Admin, G, NO_QUERY, "gateway",
        "Create a user (password hashed with argon2)", gateway::UserCreateRequest => gateway::UserInfo),
    nats!(Get "/api/v1/users" => s::gateway::USERS_LIST, Admin, G, NO_QUERY, "gateway",
        "List users", gateway::ListRequest => gateway::UsersList),
    nats!(Delete "/api/v1/users/{username}" => s::gateway::USERS_DELETE, Admin, G, NO_QUERY,
        "gateway", "Delete a user", gateway::UserDeleteRequest => gateway::Deleted),
    // gateway: served here
    local!(Post "/api/v1/auth/login" => Login, None, "gateway",
        "Username and password → a JWT", schema::<gateway::LoginRequest> => schema::<gateway::LoginResponse>),
    local!(Get "/api/v1/services" => Services, Some(Role::Viewer), "gateway",
        "Running service instances (monitor.status, else $SRV discovery)",
        schema::<Empty> => schema::<gateway::ServicesResponse>),
    local!(Get "/health/live" => Live, None, "gateway", "The process runs", schema::<Empty> => any),
    local!(Get "/health/ready" => Ready, None, "gateway",
        "Every service of this process is set up and connected to NATS", schema::<Empty> => any),
    local!(Get "/api/openapi.json" => OpenApi, None, "gateway", "This document", schema::<Empty> => any),
    local!(Get "/api/docs" => Docs, None, "gateway", "API documentation page (HTML)",
        schema::<Empty> => any),
    local!(Get "/ws" => WebSocket, Some(Role::Viewer), "gateway",
        "WebSocket: subscribe to bars, quotes, signals, orders, fills, positions, alerts, health",
        schema::<crate::ws::ClientMessage> => schema::<crate::ws::ServerMessage>),
];

/// The route of `verb` and an axum `path` pattern, if any.
pub fn find(verb: Verb, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.verb == verb && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_unique_and_versioned() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.verb, r.path)),
                "{:?} {} twice",
                r.verb,
                r.path
            );
            assert!(
                r.path.starts_with("/api/v1/") || matches!(r.target, Target::Local(_)),
                "{}",
                r.path
            );
            if r.verb.has_body() || r.verb == Verb::Get {
                // Path parameters are request fields; checked by the OpenAPI test.
            }
            if let Scope::Account { at, .. } = r.scope {
                assert!(at.starts_with('/'));
            }
        }
    }
}
