//! Background jobs: started, named and stopped in one place.
//!
//! Every piece of work that runs beside the requests (the directory watcher, retention, WAL
//! checkpoints, the rights reload on SIGHUP, and later the quiet-hours release and the
//! appservice and push senders) is a job started with [`Jobs::start`]. A job gets a [`Stop`]
//! and returns when it fires; [`Jobs::shutdown`] fires it for all and waits for them.
//!
//! A [`Scope::Singleton`] job runs once per deployment: before it starts, its process takes
//! the job's lock ([`schulhof_store::Db::try_job_lock`]: a PostgreSQL advisory lock; on SQLite
//! the serve lease already admits one process). A process that does not get the lock retries,
//! so the job moves to another process when its holder dies.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// How often a process that lacks a singleton job's lock tries again.
const LOCK_RETRY: Duration = Duration::from_secs(5);

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In every server process (e.g. keeping the process's own caches current).
    PerProcess,
    /// In one server process of the deployment at a time.
    Singleton,
}

/// The jobs of this process.
pub struct Jobs {
    stop: watch::Sender<bool>,
    running: Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

/// Tells a job to finish; cheap to clone.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once shutdown has begun.
    pub async fn stopped(&mut self) {
        // An error means the sender is gone: the server is going away as well.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Runs `work` unless shutdown begins first; `None` if it did.
    pub async fn unless_stopped<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            _ = self.stopped() => None,
            value = work => Some(value),
        }
    }

    /// Waits `period` unless shutdown begins first; `false` if it did.
    pub async fn sleep(&mut self, period: Duration) -> bool {
        self.unless_stopped(tokio::time::sleep(period))
            .await
            .is_some()
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    /// No jobs yet.
    pub fn new() -> Self {
        Self {
            stop: watch::channel(false).0,
            running: Mutex::default(),
        }
    }

    /// Starts the job `name`: `job(state, stop)` runs until it returns, which it must do soon
    /// after `stop` fires.
    pub fn start<F, Fut>(&self, state: &Arc<AppState>, name: &'static str, scope: Scope, job: F)
    where
        F: FnOnce(Arc<AppState>, Stop) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stop = Stop(self.stop.subscribe());
        let state = state.clone();
        let handle = tokio::spawn(async move {
            let _lock = match scope {
                Scope::PerProcess => None,
                Scope::Singleton => match take_lock(&state, name, &mut stop).await {
                    Some(lock) => Some(lock),
                    None => return,
                },
            };
            tracing::debug!(job = name, "job started");
            job(state, stop).await;
            tracing::debug!(job = name, "job finished");
        });
        self.running.lock().expect("jobs lock").push((name, handle));
    }

    /// The names of the jobs started and not yet finished.
    pub fn running(&self) -> Vec<&'static str> {
        self.running
            .lock()
            .expect("jobs lock")
            .iter()
            .filter(|(_, handle)| !handle.is_finished())
            .map(|(name, _)| *name)
            .collect()
    }

    /// Tells every job to stop and waits up to `grace` for them; jobs still running then are
    /// aborted. Returns the names of the aborted jobs.
    pub async fn shutdown(&self, grace: Duration) -> Vec<&'static str> {
        self.stop.send_replace(true);
        let running = std::mem::take(&mut *self.running.lock().expect("jobs lock"));
        let deadline = tokio::time::Instant::now() + grace;
        let mut aborted = Vec::new();
        for (name, mut handle) in running {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                handle.abort();
                tracing::warn!(job = name, "job did not stop in time and was aborted");
                aborted.push(name);
            }
        }
        aborted
    }
}

/// Waits for the lock of a singleton job; `None` if shutdown began first.
async fn take_lock(
    state: &AppState,
    name: &'static str,
    stop: &mut Stop,
) -> Option<schulhof_store::JobLock> {
    loop {
        match state.db.try_job_lock(name).await {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) => tracing::debug!(job = name, "another process runs this job"),
            Err(err) => tracing::warn!(job = name, %err, "job lock unavailable"),
        }
        if !stop.sleep(LOCK_RETRY).await {
            return None;
        }
    }
}
