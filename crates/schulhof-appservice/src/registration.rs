//! The appservice's own view of its registration file (the YAML the homeserver admin lists):
//! its tokens, its bot, where it listens for transactions and its alias namespace.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::alias::namespace_prefix;
use crate::service_error::ServiceError;

/// The registration as the appservice needs it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The registration's `id`.
    pub id: String,
    /// The token the appservice sends to the homeserver.
    pub as_token: String,
    /// The token the homeserver sends with transactions.
    pub hs_token: String,
    /// The bot's localpart.
    pub sender_localpart: String,
    /// Where transactions arrive (from `url`), if the registration has one.
    pub listen: Option<SocketAddr>,
    /// The literal prefix of the first exclusive alias namespace (`schule_`).
    pub alias_prefix: String,
}

#[derive(Deserialize)]
struct File {
    id: String,
    #[serde(default)]
    url: Option<String>,
    as_token: String,
    hs_token: String,
    sender_localpart: String,
    #[serde(default)]
    namespaces: Namespaces,
}

#[derive(Default, Deserialize)]
struct Namespaces {
    #[serde(default)]
    aliases: Vec<Namespace>,
}

#[derive(Deserialize)]
struct Namespace {
    exclusive: bool,
    regex: String,
}

impl Registration {
    /// Reads `path`; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Registration, ServiceError> {
        let error = |message: String| ServiceError::Registration {
            file: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Registration::parse(&text).map_err(error)
    }

    /// Parses the text of a registration file.
    pub fn parse(text: &str) -> Result<Registration, String> {
        let file: File = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        let listen = match file.url.as_deref().filter(|u| !u.is_empty()) {
            None => None,
            Some(url) => Some(listen_address(url)?),
        };
        let alias_prefix = file
            .namespaces
            .aliases
            .iter()
            .filter(|n| n.exclusive)
            .find_map(|n| namespace_prefix(&n.regex))
            .ok_or_else(|| {
                "field `namespaces.aliases`: needs an exclusive namespace with a literal prefix, e.g. \"#schule_.*:schule\\\\.example\"".to_owned()
            })?;
        Ok(Registration {
            id: file.id,
            as_token: file.as_token,
            hs_token: file.hs_token,
            sender_localpart: file.sender_localpart,
            listen,
            alias_prefix,
        })
    }
}

/// The socket address of an `http://host:port` URL (the appservice listens there).
fn listen_address(url: &str) -> Result<SocketAddr, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("field `url`: {e}"))?;
    let addresses = parsed
        .socket_addrs(|| Some(80))
        .map_err(|e| format!("field `url`: {e}"))?;
    addresses
        .into_iter()
        .next()
        .ok_or_else(|| format!("field `url`: {url} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_example() {
        let text = include_str!("../../../config/appservice-registration.example.yaml");
        let registration = Registration::parse(text).expect("valid example");
        assert_eq!(registration.id, "schulhof-schule");
        assert_eq!(registration.sender_localpart, "schulhof-schule");
        assert_eq!(registration.alias_prefix, "schule_");
        assert_eq!(registration.listen, Some("127.0.0.1:9009".parse().unwrap()));
        let no_alias = text.replace("#schule_.*", "#.*");
        assert!(Registration::parse(&no_alias)
            .unwrap_err()
            .contains("namespaces.aliases"));
    }
}
