//! Running a service's `run(config, client, shutdown)` in the background.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A shutdown signal handed to a service: resolves once [`ServiceHandle::stop`]
/// is called (or the handle is dropped).
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
    task: JoinHandle<Result<(), E>>,
}

impl<E> ServiceHandle<E> {
    /// Signals shutdown and waits for the service to return.
    pub async fn stop(self) -> Result<(), E> {
        let _ = self.stop.send(true);
        self.task.await.expect("service task panicked")
    }

    /// Kills the service task without a graceful shutdown (a crash).
    pub fn abort(self) {
        self.task.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Spawns `start(shutdown)`; the returned handle stops it.
pub fn spawn_service<F, Fut, E>(start: F) -> ServiceHandle<E>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(start(Shutdown(rx)));
    ServiceHandle { stop, task }
}
