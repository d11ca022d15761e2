//! Application services (the spec's Application Service API, homeserver side): the
//! registrations the server config lists, who a request made with an appservice's token acts
//! as (identity assertion), what the server pushes to them (`outbox`, written in the commit
//! path, and the `sender` job), the calls the server makes to them (`client`: transactions,
//! ping, user and alias queries), the names they reserve (`exclusive`) and the school
//! directory the school's own appservice reads (`directory`).

pub mod accounts;
pub mod client;
pub mod directory;
pub mod exclusive;
pub mod outbox;
pub mod query;
pub mod registration;
pub mod sender;

use std::path::PathBuf;

use ruma::{OwnedUserId, ServerName, UserId};
use std::sync::Arc;

use tokio::sync::Notify;

pub use registration::{AdminJoin, Registration};

use crate::{Error, Result};

/// Every registered appservice, with what wakes its sender.
#[derive(Debug, Default)]
pub struct Appservices {
    registrations: Arc<[Registration]>,
    /// One per registration (same order): notified after a commit wrote outbox rows for it.
    wakers: Vec<Arc<Notify>>,
    /// The HTTP client for calls to appservices.
    pub client: client::AppserviceClient,
}

impl Appservices {
    /// Loads the registration files for a server named `server_name`; IDs, tokens and sender
    /// localparts must be unique.
    pub fn load(
        files: &[PathBuf],
        server_name: &ServerName,
    ) -> std::result::Result<Appservices, String> {
        let registrations = files
            .iter()
            .map(|f| Registration::load(f, server_name))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for (i, a) in registrations.iter().enumerate() {
            for b in &registrations[..i] {
                if a.id == b.id || a.as_token_hash == b.as_token_hash || a.sender == b.sender {
                    return Err(format!(
                        "appservices `{}` and `{}` share their id, as_token or sender_localpart",
                        b.id, a.id
                    ));
                }
            }
        }
        let wakers = registrations
            .iter()
            .map(|_| Arc::new(Notify::new()))
            .collect();
        Ok(Appservices {
            registrations: registrations.into(),
            wakers,
            client: client::AppserviceClient::default(),
        })
    }

    /// Checks the registration files `config` lists, as the start does: the error names the
    /// file and the field.
    pub fn check(config: &crate::config::Config) -> std::result::Result<(), String> {
        let server_name = ruma::OwnedServerName::try_from(config.server_name.as_str())
            .map_err(|e| format!("server_name: {e}"))?;
        Self::load(&config.appservices, &server_name).map(drop)
    }

    /// The registrations.
    pub fn all(&self) -> &[Registration] {
        &self.registrations
    }

    /// The registrations, shared (cheap: an `Arc` clone), for what outlives a borrow of the
    /// state, such as a policy context.
    pub fn shared(&self) -> Arc<[Registration]> {
        Arc::clone(&self.registrations)
    }

    /// Whether any appservice is registered that receives transactions (has a URL).
    pub fn any_receiving(&self) -> bool {
        self.registrations.iter().any(|r| r.url.is_some())
    }

    /// The appservice whose `as_token` has this hash.
    pub fn by_token_hash(&self, hash: &str) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.as_token_hash == hash)
    }

    /// The appservice with this registration ID.
    pub fn by_id(&self, id: &str) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.id == id)
    }

    /// What wakes the sender of appservice `id`: a commit that wrote outbox rows for it
    /// notifies it ([`crate::service::write::Effects::wake_sender`]).
    pub fn waker(&self, id: &str) -> Option<Arc<Notify>> {
        let i = self.registrations.iter().position(|r| r.id == id)?;
        Some(Arc::clone(&self.wakers[i]))
    }

    /// Resolves when the sender of appservice `id` is woken (at once if it was woken since
    /// it last waited, so no wake-up between a look at the outbox and the wait is lost).
    pub async fn woken(&self, id: &str) {
        match self.registrations.iter().position(|r| r.id == id) {
            Some(i) => self.wakers[i].notified().await,
            None => std::future::pending().await,
        }
    }
}

/// Whom a request authenticated with `registration`'s token acts as: the user named by the
/// `user_id` query parameter if the appservice may act as them, else its own sender.
pub fn asserted_user(
    registration: &Registration,
    server_name: &ServerName,
    user_id: Option<&str>,
) -> Result<OwnedUserId> {
    let Some(user_id) = user_id else {
        return Ok(registration.sender.clone());
    };
    let forbidden = || {
        Error::forbidden(
            "Dieser Dienst darf nicht für diesen Benutzer handeln.",
            "This application service may not act as this user.",
        )
    };
    let user_id = UserId::parse(user_id).map_err(|_| forbidden())?;
    if registration.may_act_as(&user_id, server_name) {
        Ok(user_id)
    } else {
        Err(forbidden())
    }
}
