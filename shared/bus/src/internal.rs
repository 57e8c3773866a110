//! Internal endpoints: a typed JSON handler on a plain (queue) subscription,
//! for requests one instance of a service sends to the instance that owns some
//! piece of work (risk's account partitions). They are not micro endpoints:
//! they do not join the public queue group and are not in `$SRV.INFO`, and
//! they exist only while the owner subscribes.
//!
//! Replies speak the same envelope as [`crate::MicroService`] endpoints (JSON
//! body; micro error headers and a JSON [`ServiceError`] on failure), so
//! [`crate::request`] reads them the same way.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, HeaderMap, Message};
use futures::StreamExt;
use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::ServiceError;
use crate::service::catch_panic;
use crate::{codec, headers, BusError, RequestContext};

/// How long a stopping endpoint waits for requests already on their way.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// A running internal endpoint. [`InternalEndpoint::stop`] unsubscribes and
/// answers what was already delivered; dropping it unsubscribes at once.
pub struct InternalEndpoint {
    subject: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl InternalEndpoint {
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Unsubscribes, hands the requests already delivered to the handler, and
    /// waits until the subscription loop has ended.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for InternalEndpoint {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves `subject` in `queue_group` with `handler` until the returned
/// endpoint is stopped or dropped. `endpoint` names it in logs and in
/// [`RequestContext::endpoint`].
pub async fn serve<Req, Resp, H, Fut>(
    client: &Client,
    subject: String,
    queue_group: &str,
    endpoint: &'static str,
    handler: H,
) -> Result<InternalEndpoint, BusError>
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    H: Fn(RequestContext, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Resp, ServiceError>> + Send + 'static,
{
    let mut subscriber = client
        .queue_subscribe(subject.clone(), queue_group.to_string())
        .await
        .map_err(|e| BusError::Service {
            service: endpoint.to_string(),
            message: format!("subscribe to {subject}: {e}"),
        })?;
    let handler = Arc::new(handler);
    let client = client.clone();
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                biased;
                _ = &mut stop_rx => break,
                next = subscriber.next() => next,
            };
            match next {
                Some(message) => {
                    tokio::spawn(handle(client.clone(), message, endpoint, handler.clone()));
                }
                None => return,
            }
        }
        // Drain: unsubscribe, then answer what had already arrived (bounded:
        // a connection that is down would otherwise keep us here).
        if subscriber.drain().await.is_err() {
            return;
        }
        let drained = async {
            while let Some(message) = subscriber.next().await {
                tokio::spawn(handle(client.clone(), message, endpoint, handler.clone()));
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
    });
    Ok(InternalEndpoint {
        subject,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

async fn handle<Req, Resp, H, Fut>(
    client: Client,
    message: Message,
    endpoint: &'static str,
    handler: Arc<H>,
) where
    Req: DeserializeOwned,
    Resp: Serialize,
    H: Fn(RequestContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, ServiceError>>,
{
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let correlation_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(headers::CORRELATION_ID))
        .map(|v| v.as_str().to_string())
        .unwrap_or_else(model::ids::new_correlation_id);
    let trace = crate::trace::continue_from(message.headers.as_ref());
    let span =
        crate::trace_span!("internal request", trace, endpoint, correlation_id = %correlation_id);
    let work = async {
        let ctx = RequestContext {
            correlation_id: correlation_id.clone(),
            subject: message.subject.to_string(),
            endpoint,
        };
        let outcome = match codec::decode_json::<Req>(&message.payload) {
            Ok(req) => catch_panic(handler(ctx, req)).await,
            Err(e) => Err(e),
        };
        let mut reply_headers = HeaderMap::new();
        reply_headers.insert(headers::CORRELATION_ID, correlation_id.as_str());
        reply_headers.insert(headers::CONTENT_TYPE, codec::JSON);
        let payload = match outcome.and_then(|resp| codec::encode_json(&resp)) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::debug!(code = err.code, error = %err.message, "internal request failed");
                err.add_reply_headers(&mut reply_headers);
                err.body()
            }
        };
        if let Err(e) = client
            .publish_with_headers(reply, reply_headers, payload)
            .await
        {
            tracing::debug!(error = %e, "could not send the reply");
        }
    };
    crate::trace::in_span(trace, span, work).await
}
