//! Application service registration files (the standard YAML format of the Application
//! Service API): who the appservice is, its tokens and the namespaces it may act in.

use std::path::Path;

use regex::Regex;
use ruma::{OwnedUserId, ServerName, UserId};
use serde::Deserialize;

/// One registration file as written by the admin.
#[derive(Debug, Deserialize)]
struct RegistrationFile {
    id: String,
    #[serde(default)]
    url: Option<String>,
    as_token: String,
    hs_token: String,
    sender_localpart: String,
    #[serde(default)]
    namespaces: NamespacesFile,
    #[serde(default)]
    rate_limited: Option<bool>,
    #[serde(default)]
    receive_ephemeral: Option<bool>,
    /// The unstable name of `receive_ephemeral` (MSC2409), as older bridges write it.
    #[serde(default, rename = "de.sorunome.msc2409.push_ephemeral")]
    push_ephemeral: Option<bool>,
    /// Schulhof's extension: whether the appservice may use the admin join endpoint.
    #[serde(default, rename = "de.schulhof.admin_join")]
    admin_join: AdminJoin,
}

/// Whom an appservice may make join rooms through the admin join endpoint
/// (`POST /_synapse/admin/v1/join/{roomIdOrAlias}`), the registration field
/// `de.schulhof.admin_join`. Only the school's own appservice should have more than `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminJoin {
    /// Nobody (default): the endpoint is for school admins only.
    #[default]
    None,
    /// Its sender and the users of its user namespaces.
    Namespace,
    /// Any account of the server.
    Any,
}

#[derive(Debug, Default, Deserialize)]
struct NamespacesFile {
    #[serde(default)]
    users: Vec<NamespaceFile>,
    #[serde(default)]
    aliases: Vec<NamespaceFile>,
    #[serde(default)]
    rooms: Vec<NamespaceFile>,
}

#[derive(Debug, Deserialize)]
struct NamespaceFile {
    exclusive: bool,
    regex: String,
}

/// A namespace entry: a regular expression matched against whole IDs.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// Whether only this appservice may own IDs that match.
    pub exclusive: bool,
    regex: Regex,
}

impl Namespace {
    /// Whether `id` matches the namespace (the whole ID, as the spec's examples intend).
    pub fn matches(&self, id: &str) -> bool {
        self.regex
            .find(id)
            .is_some_and(|m| m.start() == 0 && m.end() == id.len())
    }
}

/// The namespaces of an appservice.
#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    /// User IDs.
    pub users: Vec<Namespace>,
    /// Room aliases.
    pub aliases: Vec<Namespace>,
    /// Room IDs.
    pub rooms: Vec<Namespace>,
}

/// A loaded, validated registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The appservice's unique ID.
    pub id: String,
    /// Where transactions are pushed (`None`: the appservice receives none).
    pub url: Option<String>,
    /// The token the appservice authenticates with (kept only as its hash).
    pub as_token_hash: String,
    /// The token the homeserver authenticates with at the appservice.
    pub hs_token: String,
    /// Localpart of the appservice's own user.
    pub sender_localpart: String,
    /// Namespaces.
    pub namespaces: Namespaces,
    /// Whether requests of this appservice are rate-limited (default: yes).
    pub rate_limited: bool,
    /// Whether it receives ephemeral events (receipts).
    pub receive_ephemeral: bool,
    /// Its own user (`sender_localpart` on this server).
    pub sender: OwnedUserId,
    /// Whom it may make join rooms with the admin join endpoint.
    pub admin_join: AdminJoin,
}

impl Registration {
    /// Reads and validates a registration file; the error names the file and the field.
    pub fn load(path: &Path, server_name: &ServerName) -> Result<Registration, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("appservice registration {}: {e}", path.display()))?;
        Self::parse(&text, server_name)
            .map_err(|e| format!("appservice registration {}: {e}", path.display()))
    }

    /// Parses the text of a registration file for a server named `server_name`.
    pub fn parse(text: &str, server_name: &ServerName) -> Result<Registration, String> {
        let file: RegistrationFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        for (field, value) in [
            ("id", &file.id),
            ("as_token", &file.as_token),
            ("hs_token", &file.hs_token),
            ("sender_localpart", &file.sender_localpart),
        ] {
            if value.trim().is_empty() {
                return Err(format!("field `{field}` is empty"));
            }
        }
        if file.as_token == file.hs_token {
            return Err("fields `as_token` and `hs_token` must differ".into());
        }
        let url = file.url.filter(|u| !u.is_empty());
        if let Some(url) = &url {
            let parsed = url::Url::parse(url).map_err(|e| format!("field `url`: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err("field `url`: must start with http:// or https://".into());
            }
        }
        let sender = UserId::parse_with_server_name(file.sender_localpart.as_str(), server_name)
            .ok()
            .filter(|u| u.validate_strict().is_ok())
            .ok_or_else(|| {
                "field `sender_localpart`: not a valid user name (a-z, 0-9, . _ = - /)".to_owned()
            })?;
        let compile = |kind: &str, entries: Vec<NamespaceFile>| {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, n)| {
                    Regex::new(&n.regex)
                        .map(|regex| Namespace {
                            exclusive: n.exclusive,
                            regex,
                        })
                        .map_err(|e| format!("field `namespaces.{kind}[{i}].regex`: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()
        };
        Ok(Registration {
            namespaces: Namespaces {
                users: compile("users", file.namespaces.users)?,
                aliases: compile("aliases", file.namespaces.aliases)?,
                rooms: compile("rooms", file.namespaces.rooms)?,
            },
            id: file.id,
            url,
            as_token_hash: crate::auth::token_hash(&file.as_token),
            hs_token: file.hs_token,
            sender_localpart: file.sender_localpart,
            rate_limited: file.rate_limited.unwrap_or(true),
            receive_ephemeral: file
                .receive_ephemeral
                .or(file.push_ephemeral)
                .unwrap_or(false),
            sender,
            admin_join: file.admin_join,
        })
    }

    /// Whether the appservice may act as `user_id`: its own sender or a user in its user
    /// namespaces (on this server).
    pub fn may_act_as(&self, user_id: &UserId, server_name: &ServerName) -> bool {
        user_id.server_name() == server_name && self.owns_user(user_id.as_str())
    }

    /// Whether `user_id` is the appservice's sender or matches one of its user namespaces.
    pub fn owns_user(&self, user_id: &str) -> bool {
        user_id == self.sender.as_str() || any_match(&self.namespaces.users, user_id, false)
    }

    /// Whether `user_id` is reserved for this appservice: its sender or an exclusive user
    /// namespace.
    pub fn claims_user(&self, user_id: &str) -> bool {
        user_id == self.sender.as_str() || any_match(&self.namespaces.users, user_id, true)
    }

    /// Whether `alias` matches one of its alias namespaces (`exclusive_only`: an exclusive one).
    pub fn owns_alias(&self, alias: &str, exclusive_only: bool) -> bool {
        any_match(&self.namespaces.aliases, alias, exclusive_only)
    }

    /// Whether `room_id` matches one of its room namespaces.
    pub fn owns_room(&self, room_id: &str) -> bool {
        any_match(&self.namespaces.rooms, room_id, false)
    }
}

/// Whether `id` matches one of `namespaces` (only exclusive ones if `exclusive_only`).
fn any_match(namespaces: &[Namespace], id: &str, exclusive_only: bool) -> bool {
    namespaces
        .iter()
        .any(|n| (n.exclusive || !exclusive_only) && n.matches(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r##"
id: schulhof
url: "http://127.0.0.1:9009"
as_token: "as-secret"
hs_token: "hs-secret"
sender_localpart: schulhof
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: "@gruppe_.*:schule\\.test"
    - exclusive: false
      regex: "@gast_.*:schule\\.test"
  aliases:
    - exclusive: true
      regex: "#klasse_.*:schule\\.test"
  rooms: []
"##;

    fn parse(text: &str) -> Result<Registration, String> {
        Registration::parse(text, ruma::server_name!("schule.test"))
    }

    #[test]
    fn a_registration_is_read_with_its_namespaces() {
        let r = parse(FILE).unwrap();
        assert_eq!(r.id, "schulhof");
        assert!(!r.rate_limited);
        assert!(!r.receive_ephemeral);
        assert_eq!(r.admin_join, AdminJoin::None);
        assert_eq!(r.sender, "@schulhof:schule.test");
        assert_eq!(r.as_token_hash, crate::auth::token_hash("as-secret"));
        let server = ruma::server_name!("schule.test");
        let user = |s: &str| ruma::UserId::parse(s).unwrap();
        assert!(r.may_act_as(&user("@schulhof:schule.test"), server));
        assert!(r.may_act_as(&user("@gruppe_8a:schule.test"), server));
        assert!(!r.may_act_as(&user("@anna:schule.test"), server));
        assert!(!r.may_act_as(&user("@xgruppe_8a:schule.test"), server));
        // Exclusive namespaces and the sender are reserved; shared ones are not.
        assert!(r.claims_user("@gruppe_8a:schule.test"));
        assert!(r.claims_user("@schulhof:schule.test"));
        assert!(r.owns_user("@gast_1:schule.test") && !r.claims_user("@gast_1:schule.test"));
        assert!(r.owns_alias("#klasse_8a:schule.test", true));
        assert!(!r.owns_alias("#kollegium:schule.test", false));
        assert!(!r.owns_room("!abc:schule.test"));
    }

    #[test]
    fn url_null_ephemeral_and_admin_join_are_read() {
        let file = FILE
            .replace("url: \"http://127.0.0.1:9009\"", "url: null")
            .replace(
                "rate_limited: false",
                "de.sorunome.msc2409.push_ephemeral: true\nde.schulhof.admin_join: namespace",
            );
        let r = parse(&file).unwrap();
        assert_eq!(r.url, None);
        assert!(r.rate_limited && r.receive_ephemeral);
        assert_eq!(r.admin_join, AdminJoin::Namespace);
    }

    #[test]
    fn errors_name_the_field() {
        let err = |text: &str| parse(text).unwrap_err();
        let bad = FILE.replace("@gruppe_.*", "@gruppe_(");
        assert!(
            err(&bad).contains("namespaces.users[0].regex"),
            "{}",
            err(&bad)
        );
        let missing = FILE.replace("hs_token: \"hs-secret\"\n", "");
        assert!(err(&missing).contains("hs_token"));
        let same = FILE.replace("hs-secret", "as-secret");
        assert!(err(&same).contains("must differ"));
        let url = FILE.replace("http://127.0.0.1:9009", "ftp://127.0.0.1");
        assert!(err(&url).contains("field `url`"), "{}", err(&url));
        let sender = FILE.replace(
            "sender_localpart: schulhof",
            "sender_localpart: \"Schul Hof\"",
        );
        assert!(
            err(&sender).contains("sender_localpart"),
            "{}",
            err(&sender)
        );
        let join = FILE.replace("rate_limited: false", "de.schulhof.admin_join: alle");
        assert!(err(&join).contains("admin_join"), "{}", err(&join));
    }
}
