//! Server configuration, read from a TOML file.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default) and every error
//! names the file and the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schulhof_directory::Role;
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Matrix server name: the part after the colon in user IDs.
    pub server_name: String,
    /// Address and port to listen on, e.g. `127.0.0.1:8008`.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (embedded default) or `postgres://...`.
    pub database_url: String,
    /// Directory for uploaded files.
    pub media_path: PathBuf,
    /// Directory for the server's own files: the secret key and the access letters, unless
    /// configured otherwise. Default: the directory holding `media_path` (`data` for
    /// `data/media`); see [`Config::data_dir`].
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The URL clients reach the server at (used in `.well-known`).
    pub public_baseurl: String,
    /// Name of the school, shown in texts.
    #[serde(default = "default_school_name")]
    pub school_name: String,
    /// Language of user-facing texts.
    #[serde(default)]
    pub language: Language,
    /// Roles addressed with "du" in German texts (default: students); everyone else, and
    /// accounts outside the directory, with "Sie".
    #[serde(default = "default_informal_address")]
    pub informal_address: Vec<Role>,
    /// End-to-end encryption settings.
    #[serde(default)]
    pub encryption: EncryptionConfig,
    /// Size limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Rate limits.
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// Addresses of reverse proxies whose `X-Forwarded-For` header names the real client
    /// (used for per-address rate limits).
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Accounts: secret key file, start codes.
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// The password rule for new passwords.
    #[serde(default)]
    pub passwords: PasswordRule,
    /// The school directory: retention, consent rules.
    #[serde(default)]
    pub directory: DirectoryConfig,
    /// The school's rights (who may do what), see `docs/policy.md`; if the file does not
    /// exist the built-in defaults apply.
    #[serde(default = "default_rights_file")]
    pub rights_file: PathBuf,
    /// Server notices: the system account and how often it tells a person about a refusal.
    #[serde(default)]
    pub notices: NoticesConfig,
    /// Application service registration files (YAML, as the Application Service API defines).
    #[serde(default)]
    pub appservices: Vec<PathBuf>,
    /// The school's own appservice (section `[school_appservice]`): which registration may
    /// read the school directory, and whether `serve` runs it in-process.
    #[serde(default)]
    pub school_appservice: SchoolAppserviceConfig,
    /// Quiet hours of teachers (section `[quiet_hours]`), see `docs/quiet-hours.md`.
    #[serde(default)]
    pub quiet_hours: QuietHoursConfig,
    /// Scheduled sending (MSC4140 delayed events, section `[delayed_events]`).
    #[serde(default)]
    pub delayed_events: DelayedEventsConfig,
    /// Push notifications to phones (section `[push]`): which push gateways apps may use.
    #[serde(default)]
    pub push: PushConfig,
    /// Switches for test servers only (section `[testing]`); a release build refuses them.
    #[serde(default)]
    pub testing: TestingConfig,
}

/// The path every push gateway URL must have (Push Gateway API).
pub const PUSH_NOTIFY_PATH: &str = "/_matrix/push/v1/notify";

/// Push notifications (section `[push]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// The push gateway URLs apps may register pushers for (each ending in
    /// `/_matrix/push/v1/notify`; `https`, or `http` on the loopback interface). Empty: no
    /// push notifications.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Whether notifications of pushers without `format: event_id_only` carry the event's
    /// type, sender, sender's and room's names and content (default: no; every notification
    /// then carries only the event and room IDs and the unread count, so nothing of a message
    /// leaves the server).
    #[serde(default)]
    pub include_content: bool,
    /// How long the sender waits before retrying a failed delivery (ms); each further
    /// retry waits twice as long (at most ten minutes).
    #[serde(default = "default_push_first_retry_ms")]
    pub first_retry_ms: u64,
    /// After how many seconds a notification whose gateway keeps failing is dropped.
    #[serde(default = "default_push_give_up_after_seconds")]
    pub give_up_after_seconds: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            gateways: Vec::new(),
            include_content: false,
            first_retry_ms: default_push_first_retry_ms(),
            give_up_after_seconds: default_push_give_up_after_seconds(),
        }
    }
}

impl PushConfig {
    /// Checks every gateway URL: a URL with the notify path, `https` or loopback `http`.
    fn check(&self) -> Result<(), String> {
        for gateway in &self.gateways {
            let url = url::Url::parse(gateway)
                .map_err(|e| format!("key `push.gateways`: {gateway:?} is not a URL ({e})"))?;
            if url.path() != PUSH_NOTIFY_PATH || url.query().is_some() {
                return Err(format!(
                    "key `push.gateways`: {gateway:?} must end with {PUSH_NOTIFY_PATH}"
                ));
            }
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name == "localhost",
                None => false,
            };
            if !(url.scheme() == "https" || url.scheme() == "http" && loopback) {
                return Err(format!(
                    "key `push.gateways`: {gateway:?} must use https (http only on the loopback interface)"
                ));
            }
        }
        Ok(())
    }
}

fn default_push_first_retry_ms() -> u64 {
    2_000
}

fn default_push_give_up_after_seconds() -> u64 {
    3_600
}

/// Scheduled sending: delayed events of MSC4140 (section `[delayed_events]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayedEventsConfig {
    /// Whether clients may schedule events at all (default: yes).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The longest delay a client may ask for, in days (default 30).
    #[serde(default = "default_max_delay_days")]
    pub max_delay_days: u32,
    /// How many delayed events one person may have waiting at once (default 100).
    #[serde(default = "default_max_delayed_per_user")]
    pub max_per_user: u32,
}

impl Default for DelayedEventsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_delay_days: default_max_delay_days(),
            max_per_user: default_max_delayed_per_user(),
        }
    }
}

impl DelayedEventsConfig {
    /// The longest delay in milliseconds.
    pub fn max_delay_ms(&self) -> i64 {
        i64::from(self.max_delay_days) * 24 * 3600 * 1000
    }
}

fn default_max_delay_days() -> u32 {
    30
}

fn default_max_delayed_per_user() -> u32 {
    100
}

/// The school's own appservice (section `[school_appservice]`, see `docs/appservice.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolAppserviceConfig {
    /// The `id` of the registration (one of `appservices`) that may read the school
    /// directory (`GET /_schulhof/appservice/v1/directory`). Unset: no appservice may.
    #[serde(default)]
    pub registration: Option<String>,
    /// Whether `schulhof serve` runs the school appservice inside its own process (it then
    /// talks to this server over HTTP like any appservice).
    #[serde(default)]
    pub in_process: bool,
    /// The appservice's configuration (rooms, spaces, power levels, schedule); a missing
    /// file means the defaults.
    #[serde(default = "default_appservice_config")]
    pub config: PathBuf,
}

impl Default for SchoolAppserviceConfig {
    fn default() -> Self {
        Self {
            registration: None,
            in_process: false,
            config: default_appservice_config(),
        }
    }
}

fn default_appservice_config() -> PathBuf {
    PathBuf::from("config/appservice.toml")
}

/// Switches for test servers (section `[testing]`). A release build refuses every one of them,
/// so a production server cannot be started with them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestingConfig {
    /// Let tests move the server's clock (`POST /_schulhof/test/clock`).
    #[serde(default)]
    pub movable_clock: bool,
}

/// Where the quiet hours are configured (section `[quiet_hours]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursConfig {
    /// Whether messages are held at all (default: yes).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The school's quiet hours; if the file does not exist the built-in defaults apply.
    #[serde(default = "default_quiet_hours_file")]
    pub file: PathBuf,
    /// The school holidays, one file per state and school year (`bb-2026-27.toml`).
    #[serde(default = "default_holidays_dir")]
    pub holidays_dir: PathBuf,
}

impl Default for QuietHoursConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            file: default_quiet_hours_file(),
            holidays_dir: default_holidays_dir(),
        }
    }
}

fn default_quiet_hours_file() -> PathBuf {
    PathBuf::from("config/quiet-hours.toml")
}

fn default_holidays_dir() -> PathBuf {
    PathBuf::from("config/holidays")
}

/// School directory settings (section `[directory]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// Days after which the data of people missing from the import (deactivated) is deleted.
    #[serde(default = "default_retention_days")]
    pub retention_days: i64,
    /// Whether parents may not log in while none of their children has given consent.
    #[serde(default = "yes")]
    pub restrict_parents_of_students_without_consent: bool,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            retention_days: default_retention_days(),
            restrict_parents_of_students_without_consent: true,
        }
    }
}

fn default_retention_days() -> i64 {
    42
}

/// What a new password must satisfy (section `[passwords]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRule {
    /// Minimum length in characters.
    #[serde(default = "default_password_min_length")]
    pub min_length: usize,
    /// At least one upper-case letter.
    #[serde(default = "yes")]
    pub require_upper: bool,
    /// At least one lower-case letter.
    #[serde(default = "yes")]
    pub require_lower: bool,
    /// At least one digit.
    #[serde(default = "yes")]
    pub require_digit: bool,
    /// At least one character that is neither letter nor digit.
    #[serde(default = "yes")]
    pub require_special: bool,
    /// Refuse well-known passwords and passwords containing the user's name.
    #[serde(default = "yes")]
    pub reject_common: bool,
}

impl Default for PasswordRule {
    fn default() -> Self {
        Self {
            min_length: default_password_min_length(),
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: true,
            reject_common: true,
        }
    }
}

fn default_password_min_length() -> usize {
    8
}

/// Account settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    /// File with the server's 32-byte secret key (created on first start). Default:
    /// `schulhof.key` in the data directory ([`Config::data_dir`]), filled in by
    /// [`Config::parse`].
    #[serde(default)]
    pub secret_key_file: PathBuf,
    /// How many days a start code stays valid.
    #[serde(default = "default_start_code_days")]
    pub start_code_days: i64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            secret_key_file: PathBuf::new(),
            start_code_days: default_start_code_days(),
        }
    }
}

fn default_rights_file() -> PathBuf {
    PathBuf::from("config/rights.toml")
}
/// The secret key's file name in the data directory, if not configured.
const SECRET_KEY_FILE: &str = "schulhof.key";

fn default_start_code_days() -> i64 {
    14
}

/// Language of user-facing error texts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// German (default).
    #[default]
    De,
    /// English.
    En,
}

/// Whether rooms may be end-to-end encrypted, and which new rooms the server encrypts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// When false, `m.room.encryption` events are refused and clients are told not to encrypt.
    #[serde(default = "yes")]
    pub allow: bool,
    /// New rooms the server adds `m.room.encryption` to itself (unless the client already
    /// asked for it), so a direct chat with someone who never logged in is encrypted too.
    /// Only while `allow` is true and the rights' `allow_encryption` is true.
    #[serde(default)]
    pub enabled_by_default_for: EncryptByDefault,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        Self {
            allow: true,
            enabled_by_default_for: EncryptByDefault::default(),
        }
    }
}

/// Which new rooms are encrypted by the server (by the `createRoom` preset).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EncryptByDefault {
    /// Every new room.
    All,
    /// Rooms joined by invitation (presets `private_chat` and `trusted_private_chat`):
    /// direct chats and chat rooms, not public rooms (default).
    #[default]
    InviteOnly,
    /// None: the clients decide.
    Off,
}

/// Server notices (section `[notices]`): a system account sends each person short messages
/// in a room of their own, e.g. why the school's rights refused something.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesConfig {
    /// Localpart of the system account (it cannot log in).
    #[serde(default = "default_notices_localpart")]
    pub localpart: String,
    /// Its display name.
    #[serde(default = "default_notices_display_name")]
    pub display_name: String,
    /// At most one notice per rule and person within this many minutes.
    #[serde(default = "default_notices_period_minutes")]
    pub period_minutes: u32,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            localpart: default_notices_localpart(),
            display_name: default_notices_display_name(),
            period_minutes: default_notices_period_minutes(),
        }
    }
}

fn default_notices_localpart() -> String {
    "schulhof".to_owned()
}
fn default_notices_display_name() -> String {
    "Schulhof".to_owned()
}
fn default_notices_period_minutes() -> u32 {
    60
}
fn default_informal_address() -> Vec<Role> {
    vec![Role::Student]
}

/// Size limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest accepted upload in bytes.
    #[serde(default = "default_max_upload")]
    pub max_upload_bytes: u64,
    /// Largest accepted JSON request body in bytes.
    #[serde(default = "default_max_request")]
    pub max_request_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: default_max_upload(),
            max_request_bytes: default_max_request(),
        }
    }
}

/// Token-bucket rate limits per user and per client address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Master switch.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Sustained requests per second for one user (rate-limited endpoints only).
    #[serde(default = "default_per_second")]
    pub per_second: f64,
    /// Burst size for one user.
    #[serde(default = "default_burst")]
    pub burst: f64,
    /// Sustained login attempts per second for one address or account.
    #[serde(default = "default_login_per_second")]
    pub login_per_second: f64,
    /// Burst of login attempts.
    #[serde(default = "default_login_burst")]
    pub login_burst: f64,
    /// Sustained login attempts per second from one client address.
    #[serde(default = "default_login_address_per_second")]
    pub login_address_per_second: f64,
    /// Burst of login attempts from one client address.
    #[serde(default = "default_login_address_burst")]
    pub login_address_burst: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_second: default_per_second(),
            burst: default_burst(),
            login_per_second: default_login_per_second(),
            login_burst: default_login_burst(),
            login_address_per_second: default_login_address_per_second(),
            login_address_burst: default_login_address_burst(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_school_name() -> String {
    "Schule".to_owned()
}
fn default_max_upload() -> u64 {
    50 * 1024 * 1024
}
fn default_max_request() -> u64 {
    1024 * 1024
}
fn default_per_second() -> f64 {
    10.0
}
fn default_burst() -> f64 {
    50.0
}
fn default_login_per_second() -> f64 {
    0.2
}
fn default_login_burst() -> f64 {
    5.0
}
fn default_login_address_per_second() -> f64 {
    2.0
}
fn default_login_address_burst() -> f64 {
    50.0
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a key is missing, unknown or of the wrong type.
    #[error("invalid config file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and line.
        message: String,
    },
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// The directory for the server's own files (secret key, access letters): `data_dir`, or
    /// else the directory holding `media_path` — never the working directory as such (a bare
    /// relative `media_path` has no other: then it is `media_path` itself).
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        match self.media_path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => self.media_path.clone(),
        }
    }

    /// Parses configuration text; the error names the offending key.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        ruma::ServerName::parse(&config.server_name).map_err(|e| {
            format!(
                "key `server_name`: {:?} is not a valid server name ({e})",
                config.server_name
            )
        })?;
        url::Url::parse(&config.public_baseurl).map_err(|e| {
            format!(
                "key `public_baseurl`: {:?} is not a URL ({e})",
                config.public_baseurl
            )
        })?;
        if !(config.database_url.starts_with("sqlite://")
            || config.database_url.starts_with("postgres://")
            || config.database_url.starts_with("postgresql://"))
        {
            return Err(format!(
                "key `database_url`: {:?} must start with sqlite:// or postgres://",
                config.database_url
            ));
        }
        let localpart = &config.notices.localpart;
        let allowed =
            |c: char| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' | '/' | '+');
        if localpart.is_empty() || !localpart.chars().all(allowed) {
            return Err(format!(
                "key `notices.localpart`: {localpart:?} is not a valid user name (a-z, 0-9, . _ = - / +)"
            ));
        }
        if config.accounts.secret_key_file.as_os_str().is_empty() {
            config.accounts.secret_key_file = config.data_dir().join(SECRET_KEY_FILE);
        }
        config.push.check()?;
        if config.school_appservice.in_process && config.school_appservice.registration.is_none() {
            return Err(
                "key `school_appservice.in_process`: needs `school_appservice.registration` (the id of its registration)".to_owned(),
            );
        }
        if config.testing.movable_clock && !cfg!(debug_assertions) {
            return Err(
                "key `testing.movable_clock`: a release build refuses test switches".to_owned(),
            );
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
server_name = "schule.test"
listen = "127.0.0.1:8008"
database_url = "sqlite://data/schulhof.db"
media_path = "data/media"
public_baseurl = "http://127.0.0.1:8008/"
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.server_name, "schule.test");
        assert!(c.encryption.allow);
        assert_eq!(
            c.encryption.enabled_by_default_for,
            EncryptByDefault::InviteOnly
        );
        assert!(c.rate_limits.enabled);
        assert_eq!(c.language, Language::De);
        assert_eq!(c.informal_address, [Role::Student]);
        assert_eq!(c.notices.localpart, "schulhof");
        assert_eq!(c.notices.period_minutes, 60);
    }

    #[test]
    fn missing_key_is_named() {
        let text = MINIMAL.replace("media_path = \"data/media\"\n", "");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.contains("media_path"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = format!("{MINIMAL}\nlisten_port = 3\n");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.contains("listen_port"), "{err}");
    }

    #[test]
    fn the_movable_clock_is_for_debug_builds_only() {
        let text = format!("{MINIMAL}\n[testing]\nmovable_clock = true\n");
        let parsed = Config::parse(&text);
        if cfg!(debug_assertions) {
            assert!(parsed.unwrap().testing.movable_clock);
        } else {
            assert!(parsed.unwrap_err().contains("testing.movable_clock"));
        }
    }

    #[test]
    fn bad_notices_localpart_is_named() {
        let text = format!("{MINIMAL}\n[notices]\nlocalpart = \"Schul Hof\"\n");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.contains("notices.localpart"), "{err}");
    }

    #[test]
    fn server_files_default_to_the_data_directory() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.data_dir(), Path::new("data"));
        assert_eq!(c.accounts.secret_key_file, Path::new("data/schulhof.key"));
        let text = MINIMAL.replace("\"data/media\"", "\"/var/lib/schulhof/media\"");
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.data_dir(), Path::new("/var/lib/schulhof"));
        assert_eq!(
            c.accounts.secret_key_file,
            Path::new("/var/lib/schulhof/schulhof.key")
        );
        let text = format!("data_dir = \"/srv/schulhof\"\n{MINIMAL}");
        let c = Config::parse(&text).unwrap();
        assert_eq!(
            c.accounts.secret_key_file,
            Path::new("/srv/schulhof/schulhof.key")
        );
        let text = MINIMAL.replace("\"data/media\"", "\"medien\"");
        assert_eq!(
            Config::parse(&text).unwrap().data_dir(),
            Path::new("medien")
        );
        let text = format!("{MINIMAL}[accounts]\nsecret_key_file = \"k.key\"\n");
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.accounts.secret_key_file, Path::new("k.key"));
    }

    #[test]
    fn push_gateways_must_be_notify_urls_over_https() {
        let with = |gateway: &str| {
            Config::parse(&format!("{MINIMAL}\n[push]\ngateways = [{gateway:?}]\n"))
                .map(|c| c.push.gateways)
        };
        let good = "https://push.schule.test/_matrix/push/v1/notify";
        assert_eq!(with(good).unwrap(), [good]);
        assert!(with("http://127.0.0.1:7000/_matrix/push/v1/notify").is_ok());
        for bad in [
            "http://push.schule.test/_matrix/push/v1/notify",
            "https://push.schule.test/notify",
            "https://push.schule.test/_matrix/push/v1/notify?x=1",
            "kein url",
        ] {
            let err = with(bad).unwrap_err();
            assert!(err.contains("push.gateways"), "{bad}: {err}");
        }
        let defaults = Config::parse(MINIMAL).unwrap().push;
        assert!(defaults.gateways.is_empty() && !defaults.include_content);
    }

    #[test]
    fn bad_database_url_is_named() {
        let text = MINIMAL.replace("sqlite://data/schulhof.db", "mysql://x");
        let err = Config::parse(&text).unwrap_err();
        assert!(err.contains("database_url"), "{err}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::Config;

    #[test]
    fn shipped_example_config_is_valid() {
        let text = include_str!("../../../config/schulhof.example.toml");
        Config::parse(text).expect("config/schulhof.example.toml must stay valid");
    }
}
