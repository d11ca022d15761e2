//! `/_schulhof/quiet-hours`: a teacher logs in and sees their quiet hours (the schedule in
//! words, their moved window, the admin's bounds), moves the window within the bounds or takes
//! the school's times again. Changes apply at once (`quiet_hours::personal::set_own_window`,
//! the same check as the account data `de.schulhof.quiet_hours`). People whose role has no
//! quiet hours are told so at the login.
//!
//! Steps of the forms (hidden `step` field): `login`, `logout`, `save`, `reset`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::MethodFilter;
use http::StatusCode;
use ruma::OwnedUserId;
use schulhof_quiet_hours::PersonalWindow;

use super::html::{self, Input};
use super::login::{hidden, with_message, Actor, Gate};
use super::{error_message, form, Page, Visitor};
use crate::config::Language;
use crate::router::Routes;
use crate::service::quiet_hours::personal::{self, describe};
use crate::state::AppState;
use crate::{Error, Result};

/// Path of the page.
pub const PATH: &str = "/_schulhof/quiet-hours";

/// The login in front of the page.
const GATE: Gate = Gate {
    path: PATH,
    title: ("Meine Ruhezeiten", "My quiet hours"),
    intro: (
        "Für Lehrkräfte: Hier siehst du deine Ruhezeiten und kannst sie im Rahmen der Schule \
         verschieben. Melde dich mit deinem Benutzernamen und Passwort an – wie in Element.",
        "For teachers: see your quiet hours and move them within the school's limits. Log in \
         with your user name and password – as in Element.",
    ),
    authorize,
};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(PATH, MethodFilter::GET, show)
        .raw_with(PATH, MethodFilter::POST, submit)
}

/// Only people whose role has quiet hours (default: teachers).
fn authorize(state: &AppState, user_id: &OwnedUserId, _server_admin: bool) -> Result<()> {
    personal::require_quiet_role(
        &state.quiet_hours.rules(),
        personal::role_of(state, user_id),
    )
}

/// What happened on the last submit, for the page.
enum Outcome {
    /// Nothing submitted.
    None,
    /// The window was moved or reset.
    Saved(Option<PersonalWindow>),
    /// The change was refused: the message and the field it is about (`begin`, `end`).
    Refused {
        message: String,
        field: String,
        status: StatusCode,
    },
}

async fn show(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = Visitor::new(&state, &parts);
    match GATE.actor_or_login(&state, &visitor, &parts.headers).await {
        Ok(actor) => settings(&state, &visitor, &actor, None, Outcome::None).await,
        Err(login) => login,
    }
}

async fn submit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, mut visitor, submitted) = match GATE.receive(&state, request).await {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    if !visitor.csrf_ok(&parts, &submitted) {
        visitor.renew_csrf();
        let message = super::csrf::failed_message(visitor.lang);
        return match GATE.current_actor(&state, &parts.headers).await {
            Ok(Some(actor)) => {
                let refused = Outcome::Refused {
                    message,
                    field: String::new(),
                    status: StatusCode::FORBIDDEN,
                };
                settings(&state, &visitor, &actor, Some(&submitted), refused).await
            }
            _ => {
                let page = GATE.login_form(&visitor, submitted.get("username"), None);
                with_message(page, message, StatusCode::FORBIDDEN).render(&state, &visitor)
            }
        };
    }
    match submitted.get("step") {
        "login" => GATE.log_in(&state, &visitor, &parts, &submitted).await,
        "logout" => GATE.log_out(&state, &visitor, &parts.headers),
        step => {
            let actor = match GATE.actor_or_login(&state, &visitor, &parts.headers).await {
                Ok(actor) => actor,
                Err(login) => return login,
            };
            let outcome = change(&state, &visitor, &actor, step, &submitted).await;
            let kept = matches!(outcome, Outcome::Refused { .. }).then_some(&submitted);
            settings(&state, &visitor, &actor, kept, outcome).await
        }
    }
}

/// Steps `save` (the window from the form) and `reset` (the schedule's times again).
async fn change(
    state: &AppState,
    visitor: &Visitor,
    actor: &Actor,
    step: &str,
    submitted: &form::Form,
) -> Outcome {
    let window = if step == "reset" {
        Ok(None)
    } else {
        window_from(submitted).map(Some)
    };
    let result = match window {
        Ok(window) => personal::set_own_window(state, &actor.user_id, window)
            .await
            .map(|_| window),
        Err(err) => Err(err),
    };
    match result {
        Ok(window) => {
            tracing::info!("quiet-hours window changed on the web page");
            Outcome::Saved(window)
        }
        Err(Error::QuietHoursField(e)) => Outcome::Refused {
            message: match visitor.lang {
                Language::De => e.message_de,
                Language::En => e.message_en,
            },
            field: e.field,
            status: StatusCode::BAD_REQUEST,
        },
        Err(err) => Outcome::Refused {
            message: error_message(&err, visitor.lang),
            field: String::new(),
            status: err.status(),
        },
    }
}

/// The window the form asks for.
fn window_from(submitted: &form::Form) -> Result<PersonalWindow> {
    Ok(PersonalWindow {
        begin: personal::parse_time("begin", submitted.get("begin"))?,
        end: personal::parse_time("end", submitted.get("end"))?,
    })
}

/// The logged-in teacher's quiet hours with the forms; `kept` are the values of a refused
/// form, shown again.
async fn settings(
    state: &AppState,
    visitor: &Visitor,
    actor: &Actor,
    kept: Option<&form::Form>,
    outcome: Outcome,
) -> Response {
    match settings_page(state, visitor, actor, kept, outcome).await {
        Ok(page) => page.render(state, visitor),
        Err(err) => {
            let page = Page::new(PATH, GATE.title(visitor), GATE.actor_bar(visitor, actor));
            with_message(page, error_message(&err, visitor.lang), err.status())
                .render(state, visitor)
        }
    }
}

async fn settings_page(
    state: &AppState,
    visitor: &Visitor,
    actor: &Actor,
    kept: Option<&form::Form>,
    outcome: Outcome,
) -> Result<Page> {
    let t = |de, en| visitor.tr(de, en);
    let lang = visitor.lang;
    let rules = state.quiet_hours.rules();
    let row = personal::in_force(state, &actor.user_id).await?;
    let spec = row
        .as_ref()
        .and_then(|row| personal::stored_schedule(row).ok().flatten());
    let window = row
        .as_ref()
        .and_then(|row| personal::stored_window(row).ok().flatten());
    let schedule = state
        .quiet_hours
        .personal_schedule(actor.user_id.as_str())
        .unwrap_or_else(|| Arc::new(rules.school_schedule().clone()));

    let mut body = GATE.actor_bar(visitor, actor);
    let (invalid, status) = match &outcome {
        Outcome::None => ("", StatusCode::OK),
        Outcome::Saved(saved) => {
            let text = match (saved, lang) {
                (Some(w), Language::De) => format!(
                    "Gespeichert. Deine Ruhezeit beginnt jetzt um {} und endet um {}.",
                    w.begin, w.end
                ),
                (Some(w), Language::En) => format!(
                    "Saved. Your quiet hours now begin at {} and end at {}.",
                    w.begin, w.end
                ),
                (None, _) => t(
                    "Zurückgesetzt. Es gelten wieder die Zeiten der Schule.",
                    "Reset. The school's times apply again.",
                )
                .to_owned(),
            };
            body.push_str(&html::ok_box(&format!("<p>{}</p>", html::escape(&text))));
            ("", StatusCode::OK)
        }
        Outcome::Refused {
            message,
            field,
            status,
        } => {
            body.push_str(&html::error_box(message));
            (field.as_str(), *status)
        }
    };

    body.push_str(&format!(
        "<div class=\"card\">\n<h2>{}</h2>\n<p>{}</p>\n<ul>\n",
        html::escape(t("Deine Ruhezeiten", "Your quiet hours")),
        html::escape(&describe::now_line(&schedule, state.clock.now_ms(), lang)),
    ));
    for line in describe::schedule_lines(&rules, spec.as_ref(), window.as_ref(), lang) {
        body.push_str(&format!("<li>{}</li>\n", html::escape(&line)));
    }
    body.push_str("</ul>\n");
    if spec.is_some() {
        body.push_str(&format!(
            "<p>{}</p>\n",
            html::escape(t(
                "Die Schulleitung hat für dich einen eigenen Zeitplan festgelegt.",
                "The school's administration has set a schedule of your own.",
            ))
        ));
    }
    body.push_str(&format!(
        "<p>{}</p>\n</div>\n",
        html::escape(&describe::held_line(&rules, lang))
    ));

    let movable = spec
        .as_ref()
        .unwrap_or(&rules.config().school)
        .movable_window();
    match (&rules.config().personal, movable) {
        (Some(_), Some(own)) => {
            let current = window.unwrap_or(own);
            let value = |name: &str, time: schulhof_quiet_hours::TimeOfDay| match kept {
                Some(form) => form.get(name).to_owned(),
                None => time.to_string(),
            };
            let (begin, end) = (value("begin", current.begin), value("end", current.end));
            body.push_str(&format!(
                "<form class=\"card\" method=\"post\" action=\"{}\">\n<h2>{}</h2>\n<p>{}</p>\n{}",
                html::escape(&visitor.link(PATH)),
                html::escape(t("Verschieben", "Move")),
                html::escape(&format!(
                    "{}: {}.",
                    t("Erlaubt", "Allowed"),
                    describe::bounds_line(&rules, lang)
                )),
                hidden(visitor, "save"),
            ));
            for (name, label, value) in [
                ("begin", t("Beginn (abends)", "Begin (evening)"), &begin),
                ("end", t("Ende (morgens)", "End (morning)"), &end),
            ] {
                body.push_str(&html::input(&Input {
                    name,
                    label,
                    kind: "time",
                    autocomplete: "off",
                    value,
                    hint: None,
                    invalid: invalid == name,
                    attrs: "step=\"60\"",
                }));
            }
            body.push_str(&format!(
                "<button type=\"submit\">{}</button>\n</form>\n",
                html::escape(t("Speichern", "Save"))
            ));
            if window.is_some() {
                body.push_str(&format!(
                    "<form class=\"card\" method=\"post\" action=\"{}\">\n{}<p>{}</p>\n\
                     <button type=\"submit\">{}</button>\n</form>\n",
                    html::escape(&visitor.link(PATH)),
                    hidden(visitor, "reset"),
                    html::escape(&match lang {
                        Language::De =>
                            format!("Ohne Verschiebung gilt {} bis {}.", own.begin, own.end),
                        Language::En => format!("Without moving: {} to {}.", own.begin, own.end),
                    }),
                    html::escape(t(
                        "Auf die Zeiten der Schule zurücksetzen",
                        "Back to the school's times"
                    )),
                ));
            }
        }
        (None, _) => body.push_str(&format!(
            "<p>{}</p>\n",
            html::escape(&describe::bounds_line(&rules, lang))
        )),
        (Some(_), None) => body.push_str(&format!(
            "<p>{}</p>\n",
            html::escape(t(
                "Dein Zeitplan hat kein Fenster, das du verschieben kannst.",
                "Your schedule has no window you can move.",
            ))
        )),
    }
    let page = Page::new(PATH, GATE.title(visitor), body);
    Ok(if status == StatusCode::OK {
        page
    } else {
        page.error(status)
    })
}
