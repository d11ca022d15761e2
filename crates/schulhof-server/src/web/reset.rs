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
use super::login::{hidden, with_message, Actor, Gate};
use super::PRINT_SCRIPT_PATH;
use super::{error_message, form, html_response, Page, Visitor};
use crate::config::Language;
use crate::router::Routes;
use crate::service::identity::login::resolve_user;
use crate::service::identity::password_reset::reset_password;
use crate::service::school::letters::{self, AccessLetter};
use crate::state::AppState;
use crate::{Error, Result};

/// Path of the page.
const PATH: &str = "/passwort-zuruecksetzen";

/// The login in front of the page.
const GATE: Gate = Gate {
    path: PATH,
    title: ("Passwort zurücksetzen", "Reset a password"),
    intro: (
        "Für Lehrkräfte und die Schulleitung. Melde dich mit deinem Benutzernamen und Passwort \
         an – wie in Element.",
        "For teachers and the school's administration. Log in with your user name and \
         password – as in Element.",
    ),
    authorize,
};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(PATH, MethodFilter::GET, show)
        .raw_with(PATH, MethodFilter::POST, submit)
        .raw_with(PRINT_SCRIPT_PATH, MethodFilter::GET, print_script)
}

async fn show(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = Visitor::new(&state, &parts);
    let page = match GATE.current_actor(&state, &parts.headers).await {
        Ok(Some(actor)) => reset_form(&visitor, &actor, "", None),
        Ok(None) => GATE.login_form(&visitor, "", None),
        Err(err) => GATE.login_form(&visitor, "", Some(&err)),
    };
    page.render(&state, &visitor)
}

async fn submit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, mut visitor, submitted) = match GATE.receive(&state, request).await {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    if !visitor.csrf_ok(&parts, &submitted) {
        visitor.renew_csrf();
        let message = super::csrf::failed_message(visitor.lang);
        let page = match GATE.current_actor(&state, &parts.headers).await {
            Ok(Some(actor)) => reset_form(&visitor, &actor, submitted.get("target"), None),
            _ => GATE.login_form(&visitor, submitted.get("username"), None),
        };
        return with_message(page, message, StatusCode::FORBIDDEN).render(&state, &visitor);
    }
    match submitted.get("step") {
        "login" => GATE.log_in(&state, &visitor, &parts, &submitted).await,
        "logout" => GATE.log_out(&state, &visitor, &parts.headers),
        _ => reset(&state, &visitor, &parts.headers, &submitted).await,
    }
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

/// Step 2: resets the target's password and shows the new access letter.
async fn reset(
    state: &AppState,
    visitor: &Visitor,
    headers: &http::HeaderMap,
    submitted: &form::Form,
) -> Response {
    let actor = match GATE.current_actor(state, headers).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return GATE.login_form(visitor, "", None).render(state, visitor),
        Err(err) => {
            return GATE
                .login_form(visitor, "", Some(&err))
                .render(state, visitor)
        }
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

/// Step 2: the form for the person's user name.
fn reset_form(visitor: &Visitor, actor: &Actor, target: &str, err: Option<&Error>) -> Page {
    let t = |de, en| visitor.tr(de, en);
    let mut body = GATE.actor_bar(visitor, actor);
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
    let page = Page::new(PATH, GATE.title(visitor), body);
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
