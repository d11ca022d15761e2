//! `/passwort-zuruecksetzen`: teachers and admins log in with their Matrix credentials and
//! reset the password of a person they are responsible for; the page then shows that person's
//! new access letter, ready to print.
//!
//! Every form posts to the same path; a hidden `step` field says which one it is (`login`,
//! `reset`, `logout`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use http::{HeaderValue, StatusCode};
use ruma::OwnedUserId;
use schulhof_directory::{PersonStatus, Role};

use super::html::{self, Input};
use super::sessions::COOKIE as SESSION_COOKIE;
use super::PRINT_SCRIPT_PATH;
use super::{client_address, cookie, error_message, form, html_response, redirect, Page, Visitor};
use crate::config::Language;
use crate::router::Routes;
use crate::service::identity::login::{self, resolve_user};
use crate::service::identity::password_reset::reset_password;
use crate::service::school::directory as school;
use crate::service::school::letters::{self, AccessLetter};
use crate::state::AppState;
use crate::{Error, Result};

/// Path of the page.
const PATH: &str = "/passwort-zuruecksetzen";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(PATH, MethodFilter::GET, show)
        .raw_with(PATH, MethodFilter::POST, submit)
        .raw_with(PRINT_SCRIPT_PATH, MethodFilter::GET, print_script)
}

/// The logged-in teacher or admin.
struct Actor {
    user_id: OwnedUserId,
    display_name: String,
}

async fn show(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = Visitor::new(&state, &parts);
    let page = match current_actor(&state, &parts.headers).await {
        Ok(Some(actor)) => reset_form(&visitor, &actor, "", None),
        Ok(None) => login_form(&visitor, "", None),
        Err(err) => login_form(&visitor, "", Some(&err)),
    };
    page.render(&state, &visitor)
}

async fn submit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut visitor = Visitor::new(&state, &parts);
    let submitted = match form::read(&parts.headers, body).await {
        Ok(f) => f,
        Err(e) => {
            let page = login_form(&visitor, "", None);
            return with_message(page, e.message(visitor.lang), e.status())
                .render(&state, &visitor);
        }
    };
    if !visitor.csrf_ok(&parts, &submitted) {
        visitor.renew_csrf();
        let message = super::csrf::failed_message(visitor.lang);
        let page = match current_actor(&state, &parts.headers).await {
            Ok(Some(actor)) => reset_form(&visitor, &actor, submitted.get("target"), None),
            _ => login_form(&visitor, submitted.get("username"), None),
        };
        return with_message(page, message, StatusCode::FORBIDDEN).render(&state, &visitor);
    }
    match submitted.get("step") {
        "login" => log_in(&state, &visitor, &parts, &submitted).await,
        "logout" => log_out(&state, &visitor, &parts.headers),
        _ => reset(&state, &visitor, &parts.headers, &submitted).await,
    }
}

/// Step 1: checks the Matrix credentials and the role, then opens a web session.
async fn log_in(
    state: &AppState,
    visitor: &Visitor,
    parts: &http::request::Parts,
    submitted: &form::Form,
) -> Response {
    let username = submitted.get("username").trim();
    let client = client_address(state, parts);
    match verify_credentials(state, username, submitted.get("password"), &client).await {
        Ok(user_id) => {
            let session = state.web_sessions.create(user_id);
            let set = cookie(state, SESSION_COOKIE, &session, PATH, None);
            redirect(&visitor.link(PATH), &[set])
        }
        Err(err) => login_form(visitor, username, Some(&err)).render(state, visitor),
    }
}

/// Checks user name and password like the Matrix `/login` (same rate limits) and that the
/// account may reset passwords.
async fn verify_credentials(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
) -> Result<OwnedUserId> {
    let (user_id, user) = login::check_password(state, username, password, client).await?;
    authorize(state, &user_id, user.is_admin)?;
    Ok(user_id)
}

/// Only teachers and admins (directory role, or a server admin account) may use the page.
fn authorize(state: &AppState, user_id: &OwnedUserId, server_admin: bool) -> Result<()> {
    let directory = state.directory.snapshot();
    let role = directory
        .person(user_id.localpart())
        .filter(|p| p.status == PersonStatus::Active)
        .map(|p| p.role);
    if server_admin || matches!(role, Some(Role::Teacher | Role::Admin)) {
        return Ok(());
    }
    Err(Error::forbidden(
        "Nur Lehrkräfte und die Schulleitung können hier Passwörter zurücksetzen. Wenn du dein \
         eigenes Passwort vergessen hast, wende dich an deine Lehrkraft oder das Sekretariat.",
        "Only teachers and the school's administration can reset passwords here. If you forgot \
         your own password, ask your teacher or the school office.",
    ))
}

/// The actor of the request's web session: `None` without a session, an error when the
/// session expired or the account may no longer use the page.
async fn current_actor(state: &AppState, headers: &http::HeaderMap) -> Result<Option<Actor>> {
    let Some(session) = form::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(user_id) = state.web_sessions.user(session) else {
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
        .and_then(|()| authorize(state, &user_id, user.is_admin));
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

/// Step 2: resets the target's password and shows the new access letter.
async fn reset(
    state: &AppState,
    visitor: &Visitor,
    headers: &http::HeaderMap,
    submitted: &form::Form,
) -> Response {
    let actor = match current_actor(state, headers).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return login_form(visitor, "", None).render(state, visitor),
        Err(err) => return login_form(visitor, "", Some(&err)).render(state, visitor),
    };
    let target = submitted.get("target").trim();
    let result = match resolve_user(state, target) {
        Ok(target_id) => reset_password(state, &actor.user_id, target_id.localpart()).await,
        Err(_) => Err(Error::not_found(
            format!("Den Benutzer „{target}“ gibt es nicht."),
            format!("Unknown user “{target}”."),
        )),
    };
    match result {
        Ok(letter) => {
            tracing::info!("password reset on the web page (see the audit log)");
            letter_page(state, visitor, &letter)
        }
        Err(err) => reset_form(visitor, &actor, target, Some(&err)).render(state, visitor),
    }
}

/// The new access letter as rendered for printing, with a toolbar (hidden in print) on top.
fn letter_page(state: &AppState, visitor: &Visitor, letter: &AccessLetter) -> Response {
    let t = |de, en| visitor.tr(de, en);
    let done = match visitor.lang {
        Language::De => format!(
            "Das Passwort von {} ist zurückgesetzt; die Person ist überall abgemeldet. Gib ihr \
             diesen Zugangsbrief mit dem neuen Startcode.",
            letter.display_name
        ),
        Language::En => format!(
            "The password of {} has been reset; they are logged out everywhere. Give them this \
             access letter with the new start code.",
            letter.display_name
        ),
    };
    let toolbar = format!(
        "<div class=\"toolbar-wrap no-print\">\n<div class=\"ok\" role=\"status\"><p>{}</p></div>\n\
         <div class=\"toolbar\"><button type=\"button\" id=\"print\" hidden>{}</button>\n\
         <a class=\"button\" href=\"{}\">{}</a></div>\n</div>\n",
        html::escape(&done),
        html::escape(t("Drucken", "Print")),
        html::escape(&visitor.link(PATH)),
        html::escape(t("Weiteres Passwort zurücksetzen", "Reset another password")),
    );
    let head = format!(
        "<style>{}</style>\n<script src=\"{PRINT_SCRIPT_PATH}\" defer></script>\n</head>",
        html::TOOLBAR_CSS
    );
    let document = letters::render_html(&state.config, std::slice::from_ref(letter))
        .replacen("</head>", &head, 1)
        .replacen("<body>", &format!("<body>\n{toolbar}"), 1);
    html_response(state, visitor, StatusCode::OK, document, Vec::new(), true)
}

/// Ends the web session.
fn log_out(state: &AppState, visitor: &Visitor, headers: &http::HeaderMap) -> Response {
    if let Some(session) = form::cookie(headers, SESSION_COOKIE) {
        state.web_sessions.remove(session);
    }
    let mut page = login_form(visitor, "", None);
    page.body = html::ok_box(&format!(
        "<p>{}</p>",
        html::escape(visitor.tr("Du bist abgemeldet.", "You are logged out."))
    )) + &page.body;
    page.cookies
        .push(cookie(state, SESSION_COOKIE, "", PATH, Some(0)));
    page.render(state, visitor)
}

/// Puts an error box on top of a page.
fn with_message(mut page: Page, message: String, status: StatusCode) -> Page {
    page.body = html::error_box(&message) + &page.body;
    page.error(status)
}

/// Adds the error (if any) to a page, with the error's status.
fn with_error(page: Page, err: Option<&Error>, lang: Language) -> Page {
    match err {
        Some(err) => with_message(page, error_message(err, lang), err.status()),
        None => page,
    }
}

/// The hidden fields every form of this page carries.
fn hidden(visitor: &Visitor, step: &str) -> String {
    format!(
        "{}<input type=\"hidden\" name=\"step\" value=\"{step}\">\n",
        html::csrf_field(&visitor.csrf)
    )
}

/// Step 1: the login form.
fn login_form(visitor: &Visitor, username: &str, err: Option<&Error>) -> Page {
    let t = |de, en| visitor.tr(de, en);
    // The password is typed again after any error: the error box is linked to it.
    let invalid = err.is_some();
    let mut body = format!(
        "<p>{}</p>\n<form class=\"card\" method=\"post\" action=\"{}\">\n{}",
        html::escape(t(
            "Für Lehrkräfte und die Schulleitung. Melde dich mit deinem Benutzernamen und \
             Passwort an – wie in Element.",
            "For teachers and the school's administration. Log in with your user name and \
             password – as in Element."
        )),
        html::escape(&visitor.link(PATH)),
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
    let title = t("Passwort zurücksetzen", "Reset a password");
    with_error(Page::new(PATH, title, body), err, visitor.lang)
}

/// Who is logged in, with the logout button.
fn actor_bar(visitor: &Visitor, actor: &Actor) -> String {
    let t = |de, en| visitor.tr(de, en);
    format!(
        "<div class=\"who no-print\"><p>{} <strong>{}</strong> ({})</p>\n\
         <form method=\"post\" action=\"{}\">\n{}<button type=\"submit\" class=\"link\">{}</button>\n\
         </form></div>\n",
        html::escape(t("Angemeldet als", "Logged in as")),
        html::escape(&actor.display_name),
        html::escape(actor.user_id.as_str()),
        html::escape(&visitor.link(PATH)),
        hidden(visitor, "logout"),
        html::escape(t("Abmelden", "Log out")),
    )
}

/// Step 2: the form for the person's user name.
fn reset_form(visitor: &Visitor, actor: &Actor, target: &str, err: Option<&Error>) -> Page {
    let t = |de, en| visitor.tr(de, en);
    let mut body = actor_bar(visitor, actor);
    if let Some(err) = err {
        body.push_str(&html::error_box(&error_message(err, visitor.lang)));
    }
    body.push_str(&format!(
        "<form class=\"card\" method=\"post\" action=\"{}\">\n{}",
        html::escape(&visitor.link(PATH)),
        hidden(visitor, "reset"),
    ));
    body.push_str(&html::input(&Input {
        name: "target",
        label: t("Benutzername der Person", "The person's user name"),
        kind: "text",
        autocomplete: "off",
        value: target,
        hint: Some(t(
            "z. B. ben.mueller. Die Person bekommt einen neuen Startcode; ihr bisheriges \
             Passwort gilt nicht mehr und sie wird auf allen Geräten abgemeldet.",
            "e.g. ben.mueller. The person gets a new start code; their old password stops \
             working and they are logged out on all devices.",
        )),
        invalid: err.is_some(),
        attrs: "autocapitalize=\"none\" autocorrect=\"off\" spellcheck=\"false\"",
    }));
    body.push_str(&format!(
        "<button type=\"submit\">{}</button>\n</form>\n",
        html::escape(t("Passwort zurücksetzen", "Reset password"))
    ));
    let page = Page::new(PATH, t("Passwort zurücksetzen", "Reset a password"), body);
    match err {
        Some(err) => page.error(err.status()),
        None => page,
    }
}

/// The print button's script: shows the button and prints on click (the page works without).
async fn print_script() -> Response {
    let mut response = "document.addEventListener('DOMContentLoaded',function(){\
         var b=document.getElementById('print');if(!b)return;b.hidden=false;\
         b.addEventListener('click',function(){window.print();});});\n"
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}
