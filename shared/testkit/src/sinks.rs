//! Local stand-ins for external APIs a service talks to (tests never reach the
//! internet): an HTTP/1.1 server answering with a handler the test gives, and
//! an SMTP sink speaking enough of RFC 5321 for a mail client to deliver.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What the handler answers.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn status(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Handler =
    Arc<dyn Fn(HttpRequest) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync>;

/// An HTTP/1.1 server on a free loopback port (keep-alive, Content-Length
/// bodies); stops when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Serves every request with `handler`.
    pub async fn start<F, Fut>(handler: F) -> HttpServer
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HttpResponse> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |r| Box::pin(handler(r)));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                tokio::spawn(serve_connection(stream, handler));
            }
        });
        HttpServer { addr, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_connection(stream: TcpStream, handler: Handler) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let close = headers
            .get("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = handler(HttpRequest {
            method,
            path,
            headers,
            body,
        })
        .await;
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
            response.status,
            response.body.len()
        );
        for (k, v) in &response.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let stream = reader.get_mut();
        if stream.write_all(out.as_bytes()).await.is_err()
            || stream.write_all(&response.body).await.is_err()
        {
            return;
        }
        if close {
            return;
        }
    }
}

/// A webhook receiver that records every request and answers with the status
/// the test sets (200 until told otherwise).
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<RecorderState>>,
}

#[derive(Default)]
struct RecorderState {
    requests: Vec<HttpRequest>,
    status: Option<u16>,
    retry_after: Option<String>,
    refused: usize,
}

impl Recorder {
    /// Starts a server recording into a new recorder.
    pub async fn start() -> (HttpServer, Recorder) {
        let recorder = Recorder::default();
        let r = recorder.clone();
        let server = HttpServer::start(move |req| {
            let r = r.clone();
            async move { r.answer(req) }
        })
        .await;
        (server, recorder)
    }

    fn answer(&self, req: HttpRequest) -> HttpResponse {
        let mut state = self.inner.lock().unwrap();
        match state.status {
            Some(status) if status >= 300 => {
                state.refused += 1;
                let mut response = HttpResponse::status(status);
                if let Some(after) = &state.retry_after {
                    response = response.header("Retry-After", after);
                }
                response
            }
            _ => {
                state.requests.push(req);
                HttpResponse::status(200)
            }
        }
    }

    /// Answers every request with `status` (and records only 2xx ones).
    pub fn set_status(&self, status: u16) {
        self.inner.lock().unwrap().status = Some(status);
    }

    /// Sends `Retry-After: <value>` with refusals.
    pub fn set_retry_after(&self, value: Option<&str>) {
        self.inner.lock().unwrap().retry_after = value.map(str::to_string);
    }

    /// Requests answered 2xx, in arrival order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Requests refused (answered with the status set).
    pub fn refused(&self) -> usize {
        self.inner.lock().unwrap().refused
    }
}

/// One mail as the SMTP sink received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section (headers and body), dot-unstuffed.
    pub data: String,
    /// `AUTH` was used (PLAIN or LOGIN) with this user, if any.
    pub auth: Option<String>,
}

/// An SMTP server on a free loopback port that accepts every mail (plain
/// text, EHLO, optional AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
pub struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let m = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, m.clone()));
            }
        });
        SmtpSink { addr, mails, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let mut reader = BufReader::new(stream);
    macro_rules! say {
        ($text:expr) => {
            if reader.get_mut().write_all($text.as_bytes()).await.is_err() {
                return;
            }
        };
    }
    say!("220 sink ESMTP\r\n");
    let (mut from, mut to, mut auth) = (String::new(), Vec::new(), None);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end().to_string();
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            say!("250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
        } else if upper.starts_with("HELO") {
            say!("250 sink\r\n");
        } else if upper.starts_with("AUTH PLAIN") {
            auth = Some(line[10..].trim().to_string());
            say!("235 ok\r\n");
        } else if upper.starts_with("AUTH LOGIN") {
            say!("334 VXNlcm5hbWU6\r\n");
            let mut user = String::new();
            let _ = reader.read_line(&mut user).await;
            say!("334 UGFzc3dvcmQ6\r\n");
            let mut pass = String::new();
            let _ = reader.read_line(&mut pass).await;
            auth = Some(user.trim().to_string());
            say!("235 ok\r\n");
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().trim_matches(['<', '>']).to_string();
            to.clear();
            say!("250 ok\r\n");
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
            say!("250 ok\r\n");
        } else if upper == "DATA" {
            say!("354 go on\r\n");
            let mut data = String::new();
            loop {
                let mut l = String::new();
                match reader.read_line(&mut l).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                let l = l.strip_prefix('.').unwrap_or(&l);
                data.push_str(l);
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
                auth: auth.clone(),
            });
            say!("250 queued\r\n");
        } else if upper == "QUIT" {
            say!("221 bye\r\n");
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            say!("250 ok\r\n");
        } else {
            say!("502 not here\r\n");
        }
    }
}
