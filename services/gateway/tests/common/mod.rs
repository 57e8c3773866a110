//! A private stack for the gateway's tests: nats-server, the services a test
//! asks for, one or more gateways on free loopback ports, the admin key from
//! the first-run bootstrap, and HTTP / WebSocket clients.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bus::subjects;
use futures::{SinkExt, StreamExt};
use gateway_service::Config;
use testkit::http::{HttpClient, HttpResponse};
use testkit::{Instance, Platform, PlatformBuilder};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Which services run besides the gateway.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Services {
    /// None: the gateway alone (WebSocket tests publish events themselves).
    None,
    /// market-data, risk, execution, portfolio.
    Trading,
    /// Every service, with GOOG imported.
    All,
}

pub struct Stack {
    pub platform: Platform,
    /// The first gateway's address (`127.0.0.1:port`).
    pub addr: String,
    /// An admin API key (made by the first-run bootstrap).
    pub admin: String,
    pub data: tempfile::TempDir,
}

/// A gateway config on a free port, without a rate limit.
pub fn gateway_config() -> Config {
    Config {
        addr: format!("127.0.0.1:{}", testkit::leaf::free_port()),
        rate_limit: None,
        ..Default::default()
    }
}

fn with_services(
    builder: PlatformBuilder,
    services: Services,
    data: &std::path::Path,
) -> PlatformBuilder {
    if services == Services::None {
        return builder;
    }
    let data = data.to_path_buf();
    let mut b = builder
        .service(subjects::md::SERVICE, 1, |c, s| {
            market_data::run(market_data::Config::default(), c, s.wait())
        })
        .service(subjects::risk::SERVICE, 1, |c, s| {
            risk_service::run(risk_service::Config::default(), c, s.wait())
        })
        .service(subjects::execution::SERVICE, 1, |c, s| {
            execution_service::run(execution_service::Config::default(), c, s.wait())
        })
        .service(subjects::portfolio::SERVICE, 1, move |c, s| {
            portfolio_service::run(portfolio_service::Config::new(data.clone()), c, s.wait())
        });
    if services == Services::All {
        b = b
            .service(subjects::strategy::SERVICE, 1, |c, s| {
                strategy_service::run(strategy_service::Config::default(), c, s.wait())
            })
            .service(subjects::backtest::SERVICE, 1, |c, s| {
                backtest_service::run(backtest_service::Config::default(), c, s.wait())
            })
            .service(subjects::analytics::SERVICE, 1, |c, s| {
                analytics_service::run(analytics_service::Config::default(), c, s.wait())
            })
            .import_goog();
    }
    b
}

impl Stack {
    pub async fn start(services: Services, config: Config) -> Stack {
        let data = tempfile::tempdir().unwrap();
        let addr = config.addr.clone();
        let builder = with_services(Platform::builder(), services, data.path());
        let platform = builder
            .service(subjects::gateway::SERVICE, 1, move |c, s| {
                gateway_service::run(config.clone(), c, s.wait())
            })
            .start()
            .await;
        let key_file = data.path().join("gateway-admin.key");
        let admin = gateway_service::bootstrap_admin_key(platform.client(), &key_file, 1)
            .await
            .unwrap()
            .expect("a new admin key at the first start");
        let stack = Stack {
            platform,
            addr,
            admin,
            data,
        };
        stack.wait_http(&stack.addr).await;
        stack
    }

    /// Another gateway instance on the same NATS; its address.
    pub async fn add_gateway(&self, config: Config) -> (Arc<Instance>, String) {
        let addr = config.addr.clone();
        let instance = self
            .platform
            .add(subjects::gateway::SERVICE, move |c, s| {
                gateway_service::run(config.clone(), c, s.wait())
            })
            .await;
        self.wait_http(&addr).await;
        (instance, addr)
    }

    async fn wait_http(&self, addr: &str) {
        testkit::wait_until(
            &format!("the gateway on {addr}"),
            Duration::from_secs(20),
            || async {
                let mut c = HttpClient::new(addr);
                c.get("/health/live")
                    .await
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| ())
            },
        )
        .await;
    }

    /// A client of the first gateway with the admin key.
    pub fn admin(&self) -> HttpClient {
        HttpClient::new(&self.addr).bearer(&self.admin)
    }

    pub fn anonymous(&self) -> HttpClient {
        HttpClient::new(&self.addr)
    }

    /// A new API key (through the REST route, as an admin would).
    pub async fn key(&self, role: &str, accounts: &[&str]) -> String {
        let r = self
            .admin()
            .send_json(
                "POST",
                "/api/v1/keys",
                &serde_json::json!({"role": role, "accounts": accounts}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["key"].as_str().unwrap().to_string()
    }

    /// Opens `account` with cash (admin).
    pub async fn open_account(&self, account: &str) {
        let r = self
            .admin()
            .send_json(
                "POST",
                "/api/v1/accounts",
                &serde_json::json!({"account": account, "cash": "100000"}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// Retries while the answer is 503 (a service still catching up), up to 20 s.
pub async fn until_served(
    client: &mut HttpClient,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> HttpResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = match body {
            Some(b) => client.send_json(method, path, b).await.unwrap(),
            None => client.request(method, path, &[], None).await.unwrap(),
        };
        if r.status != 503 || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub type WsStream = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket to `/ws<query>` with `Authorization: Bearer <token>` (when given).
pub async fn ws_connect(addr: &str, query: &str, token: Option<&str>) -> Result<WsStream, String> {
    let mut request = format!("ws://{addr}/ws{query}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

pub async fn ws_send(ws: &mut WsStream, msg: serde_json::Value) {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON text message (30 s at most).
pub async fn ws_next(ws: &mut WsStream) -> serde_json::Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a WebSocket message within 30 s")
            .expect("the WebSocket open")
            .expect("a WebSocket message");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Subscribes and waits for the `subscribed` notice.
pub async fn ws_subscribe(ws: &mut WsStream, sub: serde_json::Value) {
    let mut msg = sub;
    msg["op"] = "subscribe".into();
    ws_send(ws, msg).await;
    let ack = ws_next(ws).await;
    assert_eq!(ack["notice"], "subscribed", "{ack}");
}
