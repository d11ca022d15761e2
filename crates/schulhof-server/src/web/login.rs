//! The login in front of a page for logged-in people (password reset, quiet hours): user name
//! and password as in Element (same checks and rate limits as the Matrix `/login`), a short web
//! session in a cookie scoped to the page's path, who is logged in with a logout button.
//!
//! Every form of such a page posts to the page's path; a hidden `step` field says which one it
//! is (`login`, `logout`, or the page's own steps).

use axum::response::Response;
use ruma::OwnedUserId;

use super::html::{self, Input};
use super::sessions::COOKIE as SESSION_COOKIE;
use super::{client_address, cookie, error_message, form, redirect, Page, Visitor};
use crate::config::Language;
use crate::service::identity::login;
use crate::service::school::directory as school;
use crate::state::AppState;
use crate::{Error, Result};

/// Who may use a page: `Ok` or the error to show (`server_admin`: the account is a server
/// admin).
pub(super) type Authorize = fn(&AppState, &OwnedUserId, bool) -> Result<()>;

/// A page behind a login.
pub(super) struct Gate {
    /// The page's path; its web sessions are valid there only.
    pub path: &'static str,
    /// The page's title (German, English).
    pub title: (&'static str, &'static str),
    /// The text above the login form (German, English).
    pub intro: (&'static str, &'static str),
    /// Who may use the page.
    pub authorize: Authorize,
}

/// The logged-in person.
pub(super) struct Actor {
    /// Their user ID.
    pub user_id: OwnedUserId,
    /// Their display name (the localpart without one).
    pub display_name: String,
}

impl Gate {
    /// The page's title in the visitor's language.
    pub fn title(&self, visitor: &Visitor) -> &'static str {
        visitor.tr(self.title.0, self.title.1)
    }

    /// Step `login`: checks the credentials and who may use the page, then opens a web session
    /// and sends the browser back to the page.
    pub async fn log_in(
        &self,
        state: &AppState,
        visitor: &Visitor,
        parts: &http::request::Parts,
        submitted: &form::Form,
    ) -> Response {
        let username = submitted.get("username").trim();
        let client = client_address(state, parts);
        match self
            .verify_credentials(state, username, submitted.get("password"), &client)
            .await
        {
            Ok(user_id) => {
                let session = state.web_sessions.create(user_id, self.path);
                let set = cookie(state, SESSION_COOKIE, &session, self.path, None);
                redirect(&visitor.link(self.path), &[set])
            }
            Err(err) => self
                .login_form(visitor, username, Some(&err))
                .render(state, visitor),
        }
    }

    /// Checks user name and password like the Matrix `/login` (same rate limits) and that the
    /// account may use the page.
    async fn verify_credentials(
        &self,
        state: &AppState,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<OwnedUserId> {
        let (user_id, user) = login::check_password(state, username, password, client).await?;
        (self.authorize)(state, &user_id, user.is_admin)?;
        Ok(user_id)
    }

    /// The person of the request's web session: `None` without a session, an error when the
    /// session expired or the account may no longer use the page (the session then ends).
    pub async fn current_actor(
        &self,
        state: &AppState,
        headers: &http::HeaderMap,
    ) -> Result<Option<Actor>> {
        let Some(session) = form::cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let Some(user_id) = state.web_sessions.user(session, self.path) else {
            return Err(Error::forbidden(
                "Deine Anmeldung ist abgelaufen. Bitte melde dich neu an.",
                "Your login has expired. Please log in again.",
            ));
        };
        let user = state.db.user(user_id.as_str()).await?;
        let Some(user) = user.filter(|u| !u.deactivated) else {
            state.web_sessions.remove(session);
            return Err(Error::UserDeactivated);
        };
        let allowed = school::refuse_by_directory(state, &user_id)
            .and_then(|()| (self.authorize)(state, &user_id, user.is_admin));
        if let Err(err) = allowed {
            state.web_sessions.remove(session);
            return Err(err);
        }
        let display_name = user
            .displayname
            .unwrap_or_else(|| user_id.localpart().to_owned());
        Ok(Some(Actor {
            user_id,
            display_name,
        }))
    }

    /// A form submitted to a page behind this gate: the request's parts, the visitor and the
    /// form's fields; a body that is no form (or too large) answers with the login form and
    /// the reason.
    pub async fn receive(
        &self,
        state: &AppState,
        request: axum::extract::Request,
    ) -> std::result::Result<(http::request::Parts, Visitor, form::Form), Response> {
        let (parts, body) = request.into_parts();
        let visitor = Visitor::new(state, &parts);
        match form::read(&parts.headers, body).await {
            Ok(submitted) => Ok((parts, visitor, submitted)),
            Err(e) => {
                let page = self.login_form(&visitor, "", None);
                Err(with_message(page, e.message(visitor.lang), e.status()).render(state, &visitor))
            }
        }
    }

    /// The person of the request's web session, or the login form to show instead (with the
    /// reason when the session expired or the account may no longer use the page).
    pub async fn actor_or_login(
        &self,
        state: &AppState,
        visitor: &Visitor,
        headers: &http::HeaderMap,
    ) -> std::result::Result<Actor, Response> {
        match self.current_actor(state, headers).await {
            Ok(Some(actor)) => Ok(actor),
            Ok(None) => Err(self.login_form(visitor, "", None).render(state, visitor)),
            Err(err) => Err(self
                .login_form(visitor, "", Some(&err))
                .render(state, visitor)),
        }
    }

    /// Step `logout`: ends the web session and shows the login form.
    pub fn log_out(
        &self,
        state: &AppState,
        visitor: &Visitor,
        headers: &http::HeaderMap,
    ) -> Response {
        if let Some(session) = form::cookie(headers, SESSION_COOKIE) {
            state.web_sessions.remove(session);
        }
        let mut page = self.login_form(visitor, "", None);
        page.body = html::ok_box(&format!(
            "<p>{}</p>",
            html::escape(visitor.tr("Du bist abgemeldet.", "You are logged out."))
        )) + &page.body;
        page.cookies
            .push(cookie(state, SESSION_COOKIE, "", self.path, Some(0)));
        page.render(state, visitor)
    }

    /// The login form, with the error (if any) on top.
    pub fn login_form(&self, visitor: &Visitor, username: &str, err: Option<&Error>) -> Page {
        let t = |de, en| visitor.tr(de, en);
        // The password is typed again after any error: the error box is linked to it.
        let invalid = err.is_some();
        let mut body = format!(
            "<p>{}</p>\n<form class=\"card\" method=\"post\" action=\"{}\">\n{}",
            html::escape(t(self.intro.0, self.intro.1)),
            html::escape(&visitor.link(self.path)),
            hidden(visitor, "login"),
        );
        for field in [
            Input {
                name: "username",
                label: t("Benutzername", "User name"),
                kind: "text",
                autocomplete: "username",
                value: username,
                hint: None,
                invalid: false,
                attrs: "autocapitalize=\"none\" autocorrect=\"off\" spellcheck=\"false\"",
            },
            Input {
                name: "password",
                label: t("Passwort", "Password"),
                kind: "password",
                autocomplete: "current-password",
                value: "",
                hint: None,
                invalid,
                attrs: "",
            },
        ] {
            body.push_str(&html::input(&field));
        }
        body.push_str(&format!(
            "<button type=\"submit\">{}</button>\n</form>\n",
            html::escape(t("Anmelden", "Log in"))
        ));
        with_error(
            Page::new(self.path, self.title(visitor), body),
            err,
            visitor.lang,
        )
    }

    /// Who is logged in, with the logout button.
    pub fn actor_bar(&self, visitor: &Visitor, actor: &Actor) -> String {
        let t = |de, en| visitor.tr(de, en);
        format!(
            "<div class=\"who no-print\"><p>{} <strong>{}</strong> ({})</p>\n\
             <form method=\"post\" action=\"{}\">\n{}<button type=\"submit\" class=\"link\">{}</button>\n\
             </form></div>\n",
            html::escape(t("Angemeldet als", "Logged in as")),
            html::escape(&actor.display_name),
            html::escape(actor.user_id.as_str()),
            html::escape(&visitor.link(self.path)),
            hidden(visitor, "logout"),
            html::escape(t("Abmelden", "Log out")),
        )
    }
}

/// Puts an error box on top of a page.
pub(super) fn with_message(mut page: Page, message: String, status: http::StatusCode) -> Page {
    page.body = html::error_box(&message) + &page.body;
    page.error(status)
}

/// Adds the error (if any) to a page, with the error's status.
pub(super) fn with_error(page: Page, err: Option<&Error>, lang: Language) -> Page {
    match err {
        Some(err) => with_message(page, error_message(err, lang), err.status()),
        None => page,
    }
}

/// The hidden fields every form of such a page carries: the CSRF token and the step.
pub(super) fn hidden(visitor: &Visitor, step: &str) -> String {
    format!(
        "{}<input type=\"hidden\" name=\"step\" value=\"{step}\">\n",
        html::csrf_field(&visitor.csrf)
    )
}
