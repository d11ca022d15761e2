//! Push notifications: push rules and their evaluation when an event is stored (`rules`),
//! the pushers phone apps register (`pushers`), the outbox written in the commit path
//! (`outbox`), the job that delivers it to the push gateways (`sender`, `gateway`), the
//! badge count (`counts`) and the list of a user's notifications (`notifications`).

pub mod counts;
pub mod gateway;
pub mod notifications;
pub mod outbox;
pub mod pushers;
pub mod rules;
pub mod sender;

use std::sync::Arc;

use tokio::sync::Notify;

/// The process's part of push delivery: the sender job's wake-up and the HTTP client it
/// sends with.
pub struct PushService {
    /// Woken after a commit that queued notifications (see [`outbox`]).
    pub wake: Arc<Notify>,
    /// The client for the push gateways (rustls, no redirects, bounded time).
    pub client: reqwest::Client,
}

impl PushService {
    /// The service with its HTTP client.
    pub fn new() -> crate::Result<Self> {
        Ok(Self {
            wake: Arc::new(Notify::new()),
            client: gateway::client()?,
        })
    }
}
