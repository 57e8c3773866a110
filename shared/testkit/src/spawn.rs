//! Running a service's `run(config, client, shutdown)` in the background.
//!
//! Each service gets its own Tokio runtime (one worker thread), so
//! [`ServiceHandle::abort`] is a faithful crash: every task the service
//! spawned (endpoint loops, consumers, lease renewals) stops at once, with no
//! graceful shutdown. Create the service's NATS client inside the future you
//! pass, so its connection dies with it too.

use std::future::Future;

use tokio::sync::{oneshot, watch};

/// A shutdown signal handed to a service: resolves once [`ServiceHandle::stop`]
/// is called.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

impl std::future::IntoFuture for Shutdown {
    type Output = ();
    type IntoFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

pub struct ServiceHandle<E> {
    stop: watch::Sender<bool>,
    done: oneshot::Receiver<Result<(), E>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl<E> ServiceHandle<E> {
    /// Signals shutdown and waits for the service to return.
    pub async fn stop(mut self) -> Result<(), E> {
        let _ = self.stop.send(true);
        let result = (&mut self.done)
            .await
            .expect("service panicked or was killed");
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        result
    }

    /// What the service returned, if it already did (on its own: an error, or a
    /// bug); `None` while it runs.
    pub fn try_result(&mut self) -> Option<Result<(), E>> {
        self.done.try_recv().ok()
    }

    /// Kills the service and everything it spawned, without a graceful
    /// shutdown: a crash.
    pub fn abort(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl<E> Drop for ServiceHandle<E> {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `start(shutdown)` on a runtime of its own; the handle stops or kills it.
pub fn spawn_service<F, Fut, E>(start: F) -> ServiceHandle<E>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let (stop, rx) = watch::channel(false);
    let (done_tx, done) = oneshot::channel();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("service")
        .enable_all()
        .build()
        .expect("a runtime for the service");
    let service = start(Shutdown(rx));
    runtime.spawn(async move {
        let _ = done_tx.send(service.await);
    });
    ServiceHandle {
        stop,
        done,
        runtime: Some(runtime),
    }
}

/// [`spawn_service`] with the service's own NATS client, connected to `url`
/// (one URL or several, comma-separated) inside the service's runtime, so [`ServiceHandle::abort`] also drops its
/// connection (the server sees the service disconnect, as after a crash).
pub fn spawn_connected<F, Fut, E>(url: &str, start: F) -> ServiceHandle<E>
where
    F: FnOnce(async_nats::Client, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let url = url.to_string();
    spawn_service(move |shutdown| async move {
        // A cluster's URLs come comma-separated, as `--nats-url` takes them.
        let client = async_nats::connect(url.split(',').collect::<Vec<_>>())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        start(client, shutdown).await
    })
}
