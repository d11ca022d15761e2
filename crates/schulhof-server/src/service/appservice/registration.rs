//! Application service registration files (the standard YAML format of the Application
//! Service API): who the appservice is, its tokens and the namespaces it may act in.

use std::path::Path;

use regex::Regex;
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
    /// Whether it receives ephemeral events (typing, receipts).
    pub receive_ephemeral: bool,
}

impl Registration {
    /// Reads and validates a registration file; the error names the file and the field.
    pub fn load(path: &Path) -> Result<Registration, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("appservice registration {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("appservice registration {}: {e}", path.display()))
    }

    /// Parses the text of a registration file.
    pub fn parse(text: &str) -> Result<Registration, String> {
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
            url: file.url.filter(|u| !u.is_empty()),
            as_token_hash: crate::auth::token_hash(&file.as_token),
            hs_token: file.hs_token,
            sender_localpart: file.sender_localpart,
            rate_limited: file.rate_limited.unwrap_or(true),
            receive_ephemeral: file.receive_ephemeral.unwrap_or(false),
        })
    }

    /// Whether the appservice may act as `user_id`: its own sender or a user in its user
    /// namespaces (on this server).
    pub fn may_act_as(&self, user_id: &ruma::UserId, server_name: &ruma::ServerName) -> bool {
        user_id.server_name() == server_name
            && (user_id.localpart() == self.sender_localpart
                || self
                    .namespaces
                    .users
                    .iter()
                    .any(|n| n.matches(user_id.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
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
  aliases: []
  rooms: []
"#;

    #[test]
    fn a_registration_is_read_with_its_namespaces() {
        let r = Registration::parse(FILE).unwrap();
        assert_eq!(r.id, "schulhof");
        assert!(!r.rate_limited);
        assert_eq!(r.as_token_hash, crate::auth::token_hash("as-secret"));
        let server = ruma::server_name!("schule.test");
        let user = |s: &str| ruma::UserId::parse(s).unwrap();
        assert!(r.may_act_as(&user("@schulhof:schule.test"), server));
        assert!(r.may_act_as(&user("@gruppe_8a:schule.test"), server));
        assert!(!r.may_act_as(&user("@anna:schule.test"), server));
        assert!(!r.may_act_as(&user("@xgruppe_8a:schule.test"), server));
    }

    #[test]
    fn errors_name_the_field() {
        let bad = FILE.replace("@gruppe_.*", "@gruppe_(");
        let err = Registration::parse(&bad).unwrap_err();
        assert!(err.contains("namespaces.users[0].regex"), "{err}");
        let missing = FILE.replace("hs_token: \"hs-secret\"\n", "");
        assert!(Registration::parse(&missing)
            .unwrap_err()
            .contains("hs_token"));
        let same = FILE.replace("hs-secret", "as-secret");
        assert!(Registration::parse(&same)
            .unwrap_err()
            .contains("must differ"));
    }
}
