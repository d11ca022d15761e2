//! The running school appservice: it connects to the homeserver as its bot, reconciles the
//! managed rooms with the directory at start, after every directory change and on the
//! configured schedule, and (if its registration has a URL) receives transactions for the
//! bot. One reconcile: read the directory, [`desired()`], read the rooms back
//! ([`read_current`]), [`plan()`], apply ([`Applier`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::apply::{Applied, Applier};
use crate::config::Config;
use crate::desired::desired;
use crate::homeserver::Homeserver;
use crate::plan::{plan, Change};
use crate::read::{read_current, ServerRooms};
use crate::registration::Registration;
use crate::service_error::ServiceError;
use crate::source::{DirectorySource, DirectoryVersion};
use crate::transactions;
use schulhof_directory::Directory;

/// How soon a reconcile that left failures (or failed as a whole) is tried again.
const RETRY: Duration = Duration::from_secs(10);

/// The appservice, connected to its homeserver.
#[derive(Clone)]
pub struct Appservice {
    /// The homeserver, called with the `as_token`.
    pub homeserver: Homeserver,
    /// The registration.
    pub registration: Registration,
    /// `config/appservice.toml`.
    pub config: Arc<Config>,
    /// The homeserver's server name (from the bot's user ID).
    pub server_name: String,
    /// Where the directory comes from.
    pub source: DirectorySource,
    /// What the bot knows of rooms: room ID → `Some(is a space)` for managed rooms, `None`
    /// for others (filled by each reconcile and by the bot's own look-ups).
    pub managed: Arc<RwLock<BTreeMap<String, Option<bool>>>>,
}

/// Reads `config/appservice.toml` at `path`; a missing file means the defaults, an invalid
/// one is an error naming line and field.
pub fn read_config(path: &std::path::Path) -> Result<Config, ServiceError> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(ServiceError::Setup(format!("{name}: {error}"))),
    };
    Ok(Config::from_optional_toml(&name, text.as_deref())?)
}

/// What one reconcile did.
#[derive(Debug)]
pub struct Reconciled {
    /// Changes planned.
    pub planned: usize,
    /// What applying them did.
    pub applied: Applied,
    /// How long it took.
    pub took: Duration,
}

impl Appservice {
    /// Reads the registration file and `config/appservice.toml` (a missing file means the
    /// defaults), then [`Appservice::connect`]s.
    pub async fn open(
        homeserver_url: &str,
        registration: &std::path::Path,
        config: &std::path::Path,
        source: DirectorySource,
    ) -> Result<Appservice, ServiceError> {
        let registration = Registration::load(registration)?;
        let config = read_config(config)?;
        Appservice::connect(homeserver_url, registration, config, source).await
    }

    /// The plan for the directory as it is now, as `plan` prints it (nothing is applied).
    pub async fn plan_now(
        &self,
        language: crate::render::Language,
    ) -> Result<String, ServiceError> {
        let version = self.source.read(&self.homeserver).await?;
        let (changes, _) = self.plan(&version.directory).await?;
        Ok(crate::render::render(&changes, language))
    }

    /// Asks the homeserver who the token is (the bot) and checks that the registration and
    /// `config/appservice.toml` agree on the bot.
    pub async fn connect(
        homeserver_url: &str,
        registration: Registration,
        config: Config,
        source: DirectorySource,
    ) -> Result<Appservice, ServiceError> {
        if registration.sender_localpart != config.bot {
            return Err(ServiceError::Setup(format!(
                "the registration's sender_localpart {:?} differs from `bot` {:?} in config/appservice.toml",
                registration.sender_localpart, config.bot
            )));
        }
        let homeserver = Homeserver::new(homeserver_url, &registration.as_token)?;
        let user_id = homeserver.whoami().await?;
        let server_name = user_id
            .strip_prefix(&format!("@{}:", config.bot))
            .ok_or_else(|| {
                ServiceError::Setup(format!(
                    "the homeserver knows the token as {user_id}, not as the bot {:?}",
                    config.bot
                ))
            })?
            .to_owned();
        Ok(Appservice {
            homeserver,
            registration,
            config: Arc::new(config),
            server_name,
            source,
            managed: Arc::default(),
        })
    }

    /// The bot's user ID.
    pub fn bot_user_id(&self) -> String {
        format!("@{}:{}", self.config.bot, self.server_name)
    }

    /// Reads the managed rooms and plans the changes `directory` asks for.
    pub async fn plan(
        &self,
        directory: &Directory,
    ) -> Result<(Vec<Change>, ServerRooms), ServiceError> {
        let want = desired(directory, &self.config);
        let rooms = read_current(
            &self.homeserver,
            &self.server_name,
            &self.registration.alias_prefix,
        )
        .await?;
        Ok((plan(&want, &rooms.current), rooms))
    }

    /// One reconcile for `directory`: plan and apply.
    pub async fn reconcile(&self, directory: &Directory) -> Result<Reconciled, ServiceError> {
        let started = Instant::now();
        let (changes, rooms) = self.plan(directory).await?;
        let applier = Applier::new(
            &self.homeserver,
            &self.server_name,
            &self.registration.alias_prefix,
            &self.config.bot,
            self.config.power_levels.teacher,
            rooms.ids.clone(),
        );
        let applied = applier.apply(&changes).await;
        let is_space = |key: &crate::desired::RoomKey| {
            let created = changes.iter().find_map(|c| match c {
                Change::Create { room, desired } if room == key => Some(desired.is_space),
                _ => None,
            });
            let existing = rooms.current.rooms.get(key).map(|r| r.is_space);
            existing.or(created).unwrap_or(false)
        };
        let managed = applier
            .into_ids()
            .into_iter()
            .map(|(key, id)| (id, Some(is_space(&key))));
        self.managed.write().expect("managed lock").extend(managed);
        Ok(Reconciled {
            planned: changes.len(),
            applied,
            took: started.elapsed(),
        })
    }

    /// Runs until `stop` resolves: the transaction listener (if the registration has a URL),
    /// the directory follower, and a reconcile at start, after every directory change, on the
    /// schedule, and again soon after a failure.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<(), ServiceError> {
        if let Some(listen) = self.registration.listen {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| ServiceError::Setup(format!("listen {listen}: {e}")))?;
            tokio::spawn(transactions::serve(listener, self.clone()));
        }
        let first = loop {
            match self.source.read(&self.homeserver).await {
                Ok(version) => break version,
                Err(error) => {
                    tracing::warn!(%error, "directory not readable yet; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        let (sender, mut versions) = watch::channel(first.clone());
        let follower = tokio::spawn(self.source.clone().follow(
            self.homeserver.clone(),
            first,
            sender,
        ));
        let schedule = self.config.schedule();
        tokio::pin!(stop);
        loop {
            let DirectoryVersion {
                revision,
                directory,
            } = versions.borrow_and_update().clone();
            let retry = match self.reconcile(&directory).await {
                Ok(done) => {
                    tracing::info!(
                        revision,
                        planned = done.planned,
                        done = done.applied.done,
                        failed = done.applied.failed.len(),
                        took_ms = done.took.as_millis() as u64,
                        "reconciled"
                    );
                    !done.applied.failed.is_empty()
                }
                Err(error) => {
                    tracing::warn!(%error, "reconcile failed");
                    true
                }
            };
            let next = schedule
                .upcoming(chrono::Utc)
                .next()
                .and_then(|at| (at - chrono::Utc::now()).to_std().ok())
                .unwrap_or(Duration::from_secs(3600));
            let wait = if retry { next.min(RETRY) } else { next };
            tokio::select! {
                _ = &mut stop => break,
                changed = versions.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(wait) => {}
            }
        }
        follower.abort();
        Ok(())
    }
}
