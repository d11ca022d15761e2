//! Double-submit CSRF protection: every form carries a random token that must equal the one
//! in a `SameSite=Strict`, `HttpOnly` cookie. Another site can neither read the cookie nor make
//! the browser send it, so it cannot forge a matching pair.

use super::random_token;
use crate::config::Language;

/// Name of the CSRF cookie.
pub const COOKIE: &str = "schulhof_csrf";

/// Length of a token: 32 random bytes in unpadded base64url.
const TOKEN_LEN: usize = 43;

/// Whether a string looks like a token this server hands out.
fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token to put into a form: the visitor's existing one, or a new one (then `true`: the
/// cookie must be set).
pub fn token_for(cookie: Option<&str>) -> (String, bool) {
    match cookie.filter(|c| well_formed(c)) {
        Some(existing) => (existing.to_owned(), false),
        None => (random_token(), true),
    }
}

/// What to tell a visitor whose form failed the check (usually an old tab or blocked cookies).
pub fn failed_message(lang: Language) -> String {
    super::html::tr(
        lang,
        "Das Formular ist abgelaufen. Bitte sende es noch einmal ab (Cookies müssen erlaubt sein).",
        "The form has expired. Please submit it again (cookies must be allowed).",
    )
    .to_owned()
}

/// Whether the submitted form token matches the cookie (compared in constant time).
pub fn verify(cookie: Option<&str>, submitted: &str) -> bool {
    let Some(cookie) = cookie.filter(|c| well_formed(c)) else {
        return false;
    };
    cookie.len() == submitted.len()
        && cookie
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_pair_passes_everything_else_fails() {
        let (token, new) = token_for(None);
        assert!(new && well_formed(&token));
        assert_eq!(token_for(Some(&token)), (token.clone(), false));
        assert!(token_for(Some("short")).1, "malformed cookie gets replaced");

        let other = random_token();
        let cases: &[(Option<&str>, &str, bool)] = &[
            (Some(&token), &token, true),
            (Some(&token), &other, false),
            (Some(&token), "", false),
            (None, &token, false),
            (Some(""), "", false),
            (Some("short"), "short", false),
            (Some(&token), &token[..42], false),
        ];
        for (cookie, submitted, ok) in cases {
            assert_eq!(
                verify(*cookie, submitted),
                *ok,
                "{cookie:?} / {submitted:?}"
            );
        }
    }
}
