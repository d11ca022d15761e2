//! The shared state every request handler gets.

use std::sync::Arc;

use ruma::OwnedServerName;
use schulhof_store::Db;

use crate::config::Config;
use crate::service::{
    identity::passwords::Passwords, identity::rate_limit::RateLimiter,
    identity::secret_key::SecretKey, identity::token_cache::TokenCache,
    identity::uiaa::UiaaSessions, push::rules::PushRules, rooms::typing::Typing, rooms::Rooms,
    runtime::clock::Clock, runtime::jobs::Jobs, write::activity::Activity,
    write::notifier::Notifier, write::Writer,
};

/// Everything the server needs while running; shared as `Arc<AppState>`.
pub struct AppState {
    /// The configuration it was started with.
    pub config: Config,
    /// The server name as a Matrix identifier.
    pub server_name: OwnedServerName,
    /// The database.
    pub db: Db,
    /// The one commit path: the single writer that assigns stream positions.
    pub writer: Writer,
    /// The server's clock (movable only on test servers).
    pub clock: Clock,
    /// Background jobs, started and stopped in one place.
    pub jobs: Jobs,
    /// Where per-user streams last changed.
    pub activity: Activity,
    /// Wakes waiting `/sync` requests.
    pub notifier: Notifier,
    /// Room state cache and event creation.
    pub rooms: Rooms,
    /// Bounded password hashing.
    pub passwords: Passwords,
    /// Admission of initial and full-state syncs (bounded memory).
    pub full_syncs: crate::service::sync::FullSyncs,
    /// What each sliding-sync connection has been sent.
    pub sliding: crate::service::sync::sliding::connections::Connections,
    /// Cached memberships of each user.
    pub user_rooms: crate::service::rooms::user_rooms::UserRooms,
    /// Cached one-time key counts of each device.
    pub key_counts: crate::service::e2ee::key_counts::KeyCountCache,
    /// Cached push rulesets.
    pub push_rules: PushRules,
    /// Cached per-recipient exclusions of the room reader.
    pub exclusions: crate::service::read::exclusions::ExclusionCache,
    /// The server's secret key (start code MACs).
    pub secret_key: SecretKey,
    /// Cached access-token lookups.
    pub tokens: TokenCache,
    /// Who is typing where.
    pub typing: Typing,
    /// Request rate limits.
    pub rate_limiter: RateLimiter,
    /// Open user-interactive authentication sessions.
    pub uiaa: UiaaSessions,
    /// The school directory snapshot (kept current by the `directory-watcher` job).
    pub directory: crate::service::school::directory::SchoolDirectory,
    /// Open sessions of the password-reset web page.
    pub web_sessions: crate::web::sessions::WebSessions,
    /// Registered application services.
    pub appservices: crate::service::appservice::Appservices,
    /// The school's rights and the denial counters (`service::school::policy`).
    pub policy: crate::service::school::policy::Policy,
    /// The system account of the server notices (`service::notices`).
    pub notices: crate::service::notices::Notices,
    /// Delayed events: wakes their sender job (`service::delayed`).
    pub delayed: crate::service::delayed::DelayedEvents,
    /// Push delivery: the sender job's wake-up and HTTP client (`service::push`).
    pub push: crate::service::push::PushService,
    /// Quiet hours: schedules, waiting holds (`service::quiet_hours`).
    pub quiet_hours: crate::service::quiet_hours::QuietHoursService,
    /// Media uploaded from this moment on (ms) is served only through the authenticated
    /// endpoints (`service::media::require_legacy_access`).
    pub media_freeze_ts: i64,
}

impl AppState {
    /// Opens the database and builds the state for a server with this configuration.
    pub async fn new(config: Config) -> crate::Result<Arc<AppState>> {
        let server_name = OwnedServerName::try_from(config.server_name.as_str())
            .map_err(|e| crate::Error::Internal(format!("server_name: {e}")))?;
        let db = Db::connect(&config.database_url).await?;
        let max_pos = db.max_stream_pos().await?;
        let writer = Writer::new(max_pos);
        let clock = if config.testing.movable_clock {
            Clock::movable()
        } else {
            Clock::system()
        };
        let rooms = Rooms::load(&db).await?;
        let rate_limiter = RateLimiter::new(config.rate_limits.clone());
        let secret_key = SecretKey::load_or_create(&config.accounts.secret_key_file)?;
        let directory = crate::service::school::directory::SchoolDirectory::load(&db).await?;
        let policy = crate::service::school::policy::Policy::load(
            &config.rights_file,
            config
                .directory
                .restrict_parents_of_students_without_consent,
        )
        .map_err(crate::Error::Internal)?;
        let appservices =
            crate::service::appservice::Appservices::load(&config.appservices, &server_name)
                .map_err(crate::Error::Internal)?;
        let notices = crate::service::notices::Notices::new(&config, &server_name)?;
        let quiet_hours =
            crate::service::quiet_hours::QuietHoursService::load(&config.quiet_hours, &db).await?;
        let media_freeze_ts = db.media_freeze(clock.now_ms()).await?;
        let push_rules = PushRules::load(&db).await?;
        Ok(Arc::new(AppState {
            server_name,
            db,
            writer,
            clock,
            jobs: Jobs::new(),
            activity: Activity::new(max_pos),
            notifier: Notifier::default(),
            rooms,
            passwords: Passwords::default(),
            full_syncs: Default::default(),
            sliding: Default::default(),
            user_rooms: Default::default(),
            key_counts: Default::default(),
            push_rules,
            exclusions: Default::default(),
            secret_key,
            tokens: TokenCache::default(),
            typing: Typing::default(),
            rate_limiter,
            uiaa: UiaaSessions::default(),
            directory,
            web_sessions: Default::default(),
            policy,
            appservices,
            notices,
            delayed: Default::default(),
            push: crate::service::push::PushService::new()?,
            quiet_hours,
            media_freeze_ts,
            config,
        }))
    }
}
