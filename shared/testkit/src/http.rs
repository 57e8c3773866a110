//! A small HTTP/1.1 client for tests and load tests of the gateway: one
//! keep-alive connection, `Content-Length` and chunked bodies, no TLS.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One connection to `addr` (`127.0.0.1:8080`), re-opened when the server closed it.
pub struct HttpClient {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
    /// Sent with every request (e.g. `Authorization`).
    pub default_headers: Vec<(String, String)>,
    pub timeout: Duration,
}

impl HttpClient {
    pub fn new(addr: impl Into<String>) -> Self {
        HttpClient {
            addr: addr.into(),
            conn: None,
            default_headers: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Sends `Authorization: Bearer <token>` from now on.
    pub fn bearer(mut self, token: &str) -> Self {
        self.default_headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        self
    }

    pub async fn get(&mut self, path: &str) -> std::io::Result<HttpResponse> {
        self.request("GET", path, &[], None).await
    }

    pub async fn send_json(
        &mut self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> std::io::Result<HttpResponse> {
        let body = body.to_string();
        self.request(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        )
        .await
    }

    /// One request; a connection the server had closed is re-opened once.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<HttpResponse> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in self
            .default_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(headers.iter().copied())
        {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() || matches!(method, "POST" | "PUT") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let timeout = self.timeout;
        let reused = self.conn.is_some();
        match tokio::time::timeout(timeout, self.exchange(head.as_bytes(), body)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) if reused => {
                self.conn = None;
                tokio::time::timeout(timeout, self.exchange(head.as_bytes(), body))
                    .await
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))?
            }
            Ok(Err(e)) => {
                self.conn = None;
                Err(e)
            }
            Err(_) => {
                self.conn = None;
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "timed out",
                ))
            }
        }
    }

    async fn exchange(&mut self, head: &[u8], body: &[u8]) -> std::io::Result<HttpResponse> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.conn = Some(BufReader::new(stream));
        }
        let conn = self.conn.as_mut().expect("connected above");
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(body);
        conn.get_mut().write_all(&out).await?;
        let response = read_response(conn).await?;
        if response
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.conn = None;
        }
        Ok(response)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

async fn read_response(conn: &mut BufReader<TcpStream>) -> std::io::Result<HttpResponse> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("malformed status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or_else(|| bad("malformed header"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            conn.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("malformed chunk size"))?;
            let mut chunk = vec![0; size + 2];
            conn.read_exact(&mut chunk).await?;
            chunk.truncate(size);
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().map_err(|_| bad("malformed content-length"))?;
        body.resize(len, 0);
        conn.read_exact(&mut body).await?;
    } else if status != 204 && status != 304 && status >= 200 {
        conn.read_to_end(&mut body).await?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
