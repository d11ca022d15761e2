//! Application services: the registrations the server config lists, and who a request made
//! with an appservice's token acts as (the spec's identity assertion).
//!
//! Transactions to appservices and the school's own appservice build on this.

pub mod registration;

use std::path::PathBuf;

use ruma::{OwnedUserId, ServerName, UserId};

pub use registration::Registration;

use crate::{Error, Result};

/// Every registered appservice.
#[derive(Debug, Default)]
pub struct Appservices {
    registrations: Vec<Registration>,
}

impl Appservices {
    /// Loads the registration files; IDs, tokens and sender localparts must be unique.
    pub fn load(files: &[PathBuf]) -> std::result::Result<Appservices, String> {
        let registrations = files
            .iter()
            .map(|f| Registration::load(f))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for (i, a) in registrations.iter().enumerate() {
            for b in &registrations[..i] {
                if a.id == b.id || a.as_token_hash == b.as_token_hash {
                    return Err(format!(
                        "appservices `{}` and `{}` share their id or as_token",
                        b.id, a.id
                    ));
                }
            }
        }
        Ok(Appservices { registrations })
    }

    /// The registrations.
    pub fn all(&self) -> &[Registration] {
        &self.registrations
    }

    /// The appservice whose `as_token` has this hash.
    pub fn by_token_hash(&self, hash: &str) -> Option<&Registration> {
        self.registrations.iter().find(|r| r.as_token_hash == hash)
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
        return UserId::parse_with_server_name(registration.sender_localpart.as_str(), server_name)
            .map_err(|e| Error::Internal(format!("appservice sender: {e}")));
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
