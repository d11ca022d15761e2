//! `/erstanmeldung`: the first login, where a person enters user name and the start code from
//! the access letter and chooses an own password.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::MethodFilter;
use http::StatusCode;
use ruma::OwnedUserId;

use super::html::{self, Input};
use super::{client_address, error_message, form, Page, Visitor};
use crate::router::Routes;
use crate::service::identity::login::resolve_user;
use crate::service::{identity::password_rule, identity::start_codes};
use crate::state::AppState;
use crate::Error;

/// Path of the page.
const PATH: &str = "/erstanmeldung";

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(PATH, MethodFilter::GET, show)
        .raw_with(PATH, MethodFilter::POST, submit)
}

/// A field the error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Username,
    Code,
    Password,
    Repeat,
}

/// What the form shows: the values to keep and the error, if any.
#[derive(Default)]
struct FormState {
    username: String,
    code: String,
    error: Option<String>,
    invalid: Vec<Field>,
}

async fn show(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = Visitor::new(&state, &parts);
    let username = form::query_param(&parts.uri, "benutzer").unwrap_or_default();
    let form = FormState {
        username,
        ..FormState::default()
    };
    form_page(&state, &visitor, &form).render(&state, &visitor)
}

async fn submit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut visitor = Visitor::new(&state, &parts);
    let submitted = match form::read(&parts.headers, body).await {
        Ok(f) => f,
        Err(e) => {
            let message = e.message(visitor.lang);
            return error_form(
                &state,
                &visitor,
                FormState::default(),
                message,
                &[],
                e.status(),
            );
        }
    };
    let mut kept = FormState {
        username: submitted.get("username").trim().to_owned(),
        code: submitted.get("code").trim().to_owned(),
        ..FormState::default()
    };
    if !visitor.csrf_ok(&parts, &submitted) {
        visitor.renew_csrf();
        let message = super::csrf::failed_message(visitor.lang);
        return error_form(&state, &visitor, kept, message, &[], StatusCode::FORBIDDEN);
    }
    let client = client_address(&state, &parts);
    match first_login(&state, &submitted, &client).await {
        Ok(user_id) => success_page(&state, &visitor, &user_id).render(&state, &visitor),
        Err((err, fields)) => {
            if fields.contains(&Field::Code) {
                kept.code.clear();
            }
            let message = error_message(&err, visitor.lang);
            error_form(&state, &visitor, kept, message, fields, err.status())
        }
    }
}

/// Checks the form and redeems the start code; the error names the fields it is about.
async fn first_login(
    state: &AppState,
    form: &form::Form,
    client: &str,
) -> Result<OwnedUserId, (Error, &'static [Field])> {
    const CODE: &[Field] = &[Field::Username, Field::Code];
    let user_id =
        resolve_user(state, form.get("username")).map_err(|_| (start_codes::wrong_code(), CODE))?;
    let password = form.get("password");
    if password != form.get("password2") {
        let err = Error::invalid_param(
            "Die beiden Passwörter stimmen nicht überein.",
            "The two passwords do not match.",
        );
        return Err((err, &[Field::Repeat]));
    }
    password_rule::check(&state.config.passwords, password, &[user_id.localpart()])
        .map_err(|e| (e, &[Field::Password][..]))?;
    let code = normalize_code(form.get("code"));
    start_codes::redeem(state, &user_id, &code, password, client)
        .await
        .map_err(|e| (e, CODE))?;
    tracing::info!("first login: password set with a start code");
    Ok(user_id)
}

/// The code as printed may be typed with spaces or a dash ("123 456").
fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

fn error_form(
    state: &AppState,
    visitor: &Visitor,
    mut form: FormState,
    message: String,
    fields: &[Field],
    status: StatusCode,
) -> Response {
    form.error = Some(message);
    form.invalid = fields.to_vec();
    form_page(state, visitor, &form)
        .error(status)
        .render(state, visitor)
}

/// The form, with the error box on top when there is one.
fn form_page(state: &AppState, visitor: &Visitor, form: &FormState) -> Page {
    let t = |de, en| visitor.tr(de, en);
    let rule = password_rule::describe(&state.config.passwords);
    let mut body = String::new();
    if let Some(error) = &form.error {
        body.push_str(&html::error_box(error));
    }
    body.push_str(&format!(
        "<p>{}</p>\n<form class=\"card\" method=\"post\" action=\"{}\">\n",
        html::escape(t(
            "Gib deinen Benutzernamen und den Startcode von deinem Zugangsbrief ein und wähle \
             dein eigenes Passwort.",
            "Enter your user name and the start code from your access letter and choose your \
             own password."
        )),
        html::escape(&visitor.link(PATH)),
    ));
    body.push_str(&html::csrf_field(&visitor.csrf));
    let invalid = |f| form.invalid.contains(&f);
    for field in [
        Input {
            name: "username",
            label: t("Benutzername", "User name"),
            kind: "text",
            autocomplete: "username",
            value: &form.username,
            hint: Some(t(
                "Steht auf deinem Zugangsbrief, z. B. anna.schmidt",
                "As printed on your access letter, e.g. anna.schmidt",
            )),
            invalid: invalid(Field::Username),
            attrs: "autocapitalize=\"none\" autocorrect=\"off\" spellcheck=\"false\"",
        },
        Input {
            name: "code",
            label: t("Startcode", "Start code"),
            kind: "text",
            autocomplete: "one-time-code",
            value: &form.code,
            hint: Some(t("6 Ziffern", "6 digits")),
            invalid: invalid(Field::Code),
            attrs: "inputmode=\"numeric\" autocapitalize=\"none\" spellcheck=\"false\"",
        },
        Input {
            name: "password",
            label: t("Neues Passwort", "New password"),
            kind: "password",
            autocomplete: "new-password",
            value: "",
            hint: Some(rule.get(visitor.lang)),
            invalid: invalid(Field::Password),
            attrs: "",
        },
        Input {
            name: "password2",
            label: t("Passwort wiederholen", "Repeat password"),
            kind: "password",
            autocomplete: "new-password",
            value: "",
            hint: None,
            invalid: invalid(Field::Repeat),
            attrs: "",
        },
    ] {
        body.push_str(&html::input(&field));
    }
    body.push_str(&format!(
        "<button type=\"submit\">{}</button>\n</form>\n",
        html::escape(t("Passwort festlegen", "Set password"))
    ));
    Page::new(PATH, t("Erste Anmeldung", "First login"), body)
}

/// Shown after the password was set: the full user ID and the homeserver to log in at.
fn success_page(state: &AppState, visitor: &Visitor, user_id: &OwnedUserId) -> Page {
    let t = |de, en| visitor.tr(de, en);
    let user = format!("<code>{}</code>", html::escape(user_id.as_str()));
    let server = format!(
        "<code>{}</code>",
        html::escape(&state.config.public_baseurl)
    );
    let message = match visitor.lang {
        crate::config::Language::De => format!(
            "<p><strong>Dein Passwort ist gesetzt.</strong></p>\n<p>Melde dich jetzt in Element \
             mit deinem Benutzernamen {user} an.</p>"
        ),
        crate::config::Language::En => format!(
            "<p><strong>Your password is set.</strong></p>\n<p>Now log in to Element with your \
             user name {user}.</p>"
        ),
    };
    let body = format!(
        "{}<div class=\"card\">\n<p>{}</p>\n<p>{server}</p>\n<p>{}</p>\n</div>\n",
        html::ok_box(&message),
        html::escape(t(
            "Wähle in Element als Homeserver (Server) diese Adresse:",
            "In Element, choose this address as homeserver:",
        )),
        html::escape(t(
            "Dein Startcode ist jetzt verbraucht. Bewahre dein Passwort sicher auf und gib es \
             niemandem weiter.",
            "Your start code is used up now. Keep your password safe and never share it.",
        )),
    );
    Page::new(PATH, t("Passwort gesetzt", "Password set"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_normalized() {
        for (typed, code) in [
            ("123456", "123456"),
            (" 123 456 ", "123456"),
            ("123-456", "123456"),
        ] {
            assert_eq!(normalize_code(typed), code);
        }
    }
}
