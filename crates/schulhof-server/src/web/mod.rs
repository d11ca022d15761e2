//! Server-rendered web pages for people rather than Matrix clients: the first login with a
//! start code (`/erstanmeldung`), the password reset for teachers and admins
//! (`/passwort-zuruecksetzen`), the teachers' quiet hours (`/_schulhof/quiet-hours`) and
//! their own groups (`/_schulhof/groups`).
//!
//! German by default, English with `language = "en"` or `?lang=en`. Plain HTML forms that work
//! without JavaScript and on phones; every form is protected by a double-submit CSRF token and
//! every page carries a strict Content-Security-Policy.

mod csrf;
mod first_login;
mod form;
pub mod groups;
pub(crate) mod html;
mod login;
pub mod quiet_hours;
mod reset;
pub mod sessions;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderValue, StatusCode};
use rand::RngCore;

use crate::config::Language;
use crate::router::Routes;
use crate::state::AppState;

/// Registers the web pages.
pub fn routes(routes: Routes) -> Routes {
    groups::routes(quiet_hours::routes(reset::routes(first_login::routes(
        routes,
    ))))
}

/// 256 random bits from the OS CSPRNG as unpadded base64url (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What a page handler knows about the visitor.
struct Visitor {
    /// Language of the page.
    lang: Language,
    /// The language asked for in the query, kept in form actions and links.
    lang_param: Option<Language>,
    /// The CSRF token for forms on this page.
    csrf: String,
    /// Whether the CSRF cookie must be (re)set.
    set_csrf_cookie: bool,
}

impl Visitor {
    /// Reads language and CSRF cookie from the request.
    fn new(state: &AppState, parts: &http::request::Parts) -> Visitor {
        let lang_param = form::query_language(&parts.uri);
        let (csrf, set_csrf_cookie) = csrf::token_for(form::cookie(&parts.headers, csrf::COOKIE));
        Visitor {
            lang: lang_param.unwrap_or(state.config.language),
            lang_param,
            csrf,
            set_csrf_cookie,
        }
    }

    /// Whether the submitted form carries the visitor's CSRF token.
    fn csrf_ok(&self, parts: &http::request::Parts, form: &form::Form) -> bool {
        csrf::verify(form::cookie(&parts.headers, csrf::COOKIE), form.get("csrf"))
    }

    /// Replaces the CSRF token after a failed check (the cookie may be missing or stale).
    fn renew_csrf(&mut self) {
        self.csrf = random_token();
        self.set_csrf_cookie = true;
    }

    /// Picks the German or the English text.
    fn tr<'a>(&self, de: &'a str, en: &'a str) -> &'a str {
        html::tr(self.lang, de, en)
    }

    /// `path`, with the language from the query kept.
    fn link(&self, path: &str) -> String {
        match self.lang_param {
            Some(Language::De) => format!("{path}?lang=de"),
            Some(Language::En) => format!("{path}?lang=en"),
            None => path.to_owned(),
        }
    }
}

/// The client address used for rate limits (empty when unknown).
fn client_address(state: &AppState, parts: &http::request::Parts) -> String {
    crate::ruma_wrapper::client_ip(parts, &state.config.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

/// A rendered page on its way out.
struct Page {
    status: StatusCode,
    title: String,
    has_error: bool,
    path: &'static str,
    body: String,
    cookies: Vec<String>,
}

impl Page {
    /// A page with status 200 and no error.
    fn new(path: &'static str, title: &str, body: String) -> Page {
        Page {
            status: StatusCode::OK,
            title: title.to_owned(),
            has_error: false,
            path,
            body,
            cookies: Vec::new(),
        }
    }

    /// Marks the page as showing an error with this status.
    fn error(mut self, status: StatusCode) -> Page {
        self.status = status;
        self.has_error = true;
        self
    }

    /// Renders the page with the shared layout, cookies and security headers.
    fn render(self, state: &AppState, visitor: &Visitor) -> Response {
        let html = html::layout(&html::Layout {
            lang: visitor.lang,
            school: &state.config.school_name,
            title: &self.title,
            has_error: self.has_error,
            path: self.path,
            body: &self.body,
        });
        html_response(state, visitor, self.status, html, self.cookies, false)
    }
}

/// A complete HTML document with cookies (and the visitor's CSRF cookie when new) and the
/// security headers; `script` allows the page's own script files.
fn html_response(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    html: String,
    mut cookies: Vec<String>,
    script: bool,
) -> Response {
    if visitor.set_csrf_cookie {
        cookies.push(cookie(state, csrf::COOKIE, &visitor.csrf, "/", None));
    }
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    set_cookies(headers, &cookies);
    security_headers(headers, script);
    response
}

/// Where the print button's script is served.
const PRINT_SCRIPT_PATH: &str = "/passwort-zuruecksetzen/drucken.js";

/// A `303 See Other` to `location` (after a successful POST), with cookies.
fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(http::header::LOCATION, value);
    }
    set_cookies(headers, cookies);
    security_headers(headers, false);
    response
}

fn set_cookies(headers: &mut http::HeaderMap, cookies: &[String]) {
    for c in cookies {
        if let Ok(value) = HeaderValue::from_str(c) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, and `Secure` when the server is
/// reached over https; `max_age` in seconds (`Some(0)` deletes the cookie).
fn cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        c.push_str(&format!("; Max-Age={seconds}"));
    }
    if state.config.public_baseurl.starts_with("https://") {
        c.push_str("; Secure");
    }
    c
}

/// The security headers of every page; `script` allows the page's own script files.
fn security_headers(headers: &mut http::HeaderMap, script: bool) {
    let csp = if script {
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         form-action 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; \
         frame-ancestors 'none'"
    };
    for (name, value) in [
        ("content-security-policy", csp),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The text of a service error for a page: rate limits with the waiting time, internal
/// errors logged and shown generically.
fn error_message(err: &crate::Error, lang: Language) -> String {
    match err {
        crate::Error::LimitExceeded { retry_after_ms } => {
            let seconds = retry_after_ms.div_ceil(1000).max(1);
            match lang {
                Language::De => format!("Zu viele Versuche. Bitte warte {seconds} Sekunden."),
                Language::En => format!("Too many attempts. Please wait {seconds} seconds."),
            }
        }
        crate::Error::Internal(detail) => {
            tracing::error!(%detail, "internal error on a web page");
            err.text().get(lang).to_owned()
        }
        crate::Error::Store(e) => {
            tracing::error!(%e, "database error on a web page");
            err.text().get(lang).to_owned()
        }
        other => other.text().get(lang).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_message_names_the_seconds() {
        let err = crate::Error::LimitExceeded {
            retry_after_ms: 4001,
        };
        assert_eq!(
            error_message(&err, Language::De),
            "Zu viele Versuche. Bitte warte 5 Sekunden."
        );
        let forbidden = crate::Error::forbidden("Nein.", "No.");
        assert_eq!(error_message(&forbidden, Language::En), "No.");
    }

    #[test]
    fn security_headers_are_strict() {
        let mut headers = http::HeaderMap::new();
        security_headers(&mut headers, false);
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        );
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
    }
}
