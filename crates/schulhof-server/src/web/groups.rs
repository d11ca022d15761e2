//! `/_schulhof/groups`: a teacher logs in, sees their own groups with their members, creates a
//! group from people they may write to, adds and removes people and dissolves a group
//! (`school::teacher_groups`; changes apply at once, also to the rights). Students and parents
//! are told at the login that they cannot create groups.
//!
//! Steps of the forms (hidden `step` field): `login`, `logout`, `create`, `add`, `remove`,
//! `dissolve`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::MethodFilter;
use http::StatusCode;
use ruma::OwnedUserId;

use super::html::{self, Input};
use super::login::{hidden, with_message, Actor, Gate};
use super::{error_message, form, Page, Visitor};
use crate::router::Routes;
use crate::service::school::teacher_groups::{self, OwnGroup, NAME_MAX};
use crate::state::AppState;
use crate::Result;

/// Path of the page.
pub const PATH: &str = "/_schulhof/groups";

/// The login in front of the page.
const GATE: Gate = Gate {
    path: PATH,
    title: ("Meine Gruppen", "My groups"),
    intro: (
        "Für Lehrkräfte: Hier legst du eigene Gruppen an, zum Beispiel für eine AG oder einen \
         Kurs. Jede Gruppe bekommt einen Raum. Melde dich mit deinem Benutzernamen und Passwort \
         an – wie in Element.",
        "For teachers: create groups of your own here, for a club or a course for example. \
         Every group gets a room. Log in with your user name and password – as in Element.",
    ),
    authorize,
};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .raw_with(PATH, MethodFilter::GET, show)
        .raw_with(PATH, MethodFilter::POST, submit)
}

/// Only people whose role may create groups (default: teachers and admins).
fn authorize(state: &AppState, user_id: &OwnedUserId, _server_admin: bool) -> Result<()> {
    teacher_groups::require_may_create(state, user_id)
}

/// What happened on the last submit.
enum Outcome {
    /// Nothing submitted.
    None,
    /// Done: what to tell (German, English).
    Done(String, String),
    /// Refused: the message and the status.
    Refused(String, StatusCode),
}

async fn show(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let visitor = Visitor::new(&state, &parts);
    match GATE.actor_or_login(&state, &visitor, &parts.headers).await {
        Ok(actor) => groups_page(&state, &visitor, &actor, None, Outcome::None),
        Err(login) => login,
    }
}

async fn submit(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, mut visitor, submitted) = match GATE.receive(&state, request).await {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    let csrf_ok = visitor.csrf_ok(&parts, &submitted);
    match (csrf_ok, submitted.get("step")) {
        (true, "login") => return GATE.log_in(&state, &visitor, &parts, &submitted).await,
        (true, "logout") => return GATE.log_out(&state, &visitor, &parts.headers),
        (true, _) => {}
        (false, _) => visitor.renew_csrf(),
    }
    let message = super::csrf::failed_message(visitor.lang);
    let actor = match GATE.actor_or_login(&state, &visitor, &parts.headers).await {
        Ok(actor) => actor,
        Err(login) if csrf_ok => return login,
        Err(_) => {
            let page = GATE.login_form(&visitor, submitted.get("username"), None);
            return with_message(page, message, StatusCode::FORBIDDEN).render(&state, &visitor);
        }
    };
    let outcome = if csrf_ok {
        change(&state, &visitor, &actor, &submitted).await
    } else {
        Outcome::Refused(message, StatusCode::FORBIDDEN)
    };
    let kept = matches!(outcome, Outcome::Refused(..)).then_some(&submitted);
    groups_page(&state, &visitor, &actor, kept, outcome)
}

/// The steps that change a group.
async fn change(
    state: &AppState,
    visitor: &Visitor,
    actor: &Actor,
    submitted: &form::Form,
) -> Outcome {
    let owner = &actor.user_id;
    let group = submitted.get("group");
    let (result, done) = match submitted.get("step") {
        "create" => {
            let name = submitted.get("name").trim();
            (
                teacher_groups::create(state, owner, name, submitted.get("members")).await,
                (
                    format!(
                        "Die Gruppe „{name}“ ist angelegt. Ihr Raum erscheint gleich in Element."
                    ),
                    format!("The group “{name}” is created. Its room appears in Element shortly."),
                ),
            )
        }
        "add" => (
            teacher_groups::add(state, owner, group, submitted.get("members")).await,
            (
                format!("Aufgenommen in „{group}“."),
                format!("Added to “{group}”."),
            ),
        ),
        "remove" => {
            let member = submitted.get("member");
            (
                teacher_groups::remove(state, owner, group, member).await,
                (
                    format!("{member} ist nicht mehr in „{group}“."),
                    format!("{member} is no longer in “{group}”."),
                ),
            )
        }
        "dissolve" if submitted.get("confirm") != "ja" => {
            return Outcome::Refused(
                visitor
                    .tr(
                        "Bitte bestätige das Auflösen mit dem Häkchen.",
                        "Please confirm dissolving with the checkbox.",
                    )
                    .to_owned(),
                StatusCode::BAD_REQUEST,
            )
        }
        "dissolve" => (
            teacher_groups::dissolve(state, owner, group).await,
            (
                format!("Die Gruppe „{group}“ ist aufgelöst. Ihr Raum bleibt als Archiv lesbar."),
                format!("The group “{group}” is dissolved. Its room stays readable as an archive."),
            ),
        ),
        _ => {
            return Outcome::Refused(
                visitor
                    .tr("Unbekannte Aktion.", "Unknown action.")
                    .to_owned(),
                StatusCode::BAD_REQUEST,
            )
        }
    };
    match result {
        Ok(()) => {
            tracing::info!(
                step = submitted.get("step"),
                "teacher group changed on the web page"
            );
            Outcome::Done(done.0, done.1)
        }
        Err(err) => Outcome::Refused(error_message(&err, visitor.lang), err.status()),
    }
}

/// The logged-in teacher's groups with the forms; `kept` are the values of a refused form.
fn groups_page(
    state: &AppState,
    visitor: &Visitor,
    actor: &Actor,
    kept: Option<&form::Form>,
    outcome: Outcome,
) -> Response {
    let t = |de, en| visitor.tr(de, en);
    let mut body = GATE.actor_bar(visitor, actor);
    let status = match outcome {
        Outcome::None => StatusCode::OK,
        Outcome::Done(de, en) => {
            let text = visitor.tr(&de, &en).to_owned();
            body.push_str(&html::ok_box(&format!("<p>{}</p>", html::escape(&text))));
            StatusCode::OK
        }
        Outcome::Refused(message, status) => {
            body.push_str(&html::error_box(&message));
            status
        }
    };
    let kept_value = |step: &str, name: &str| match kept {
        Some(form) if form.get("step") == step => form.get(name).to_owned(),
        _ => String::new(),
    };
    let action = html::escape(&visitor.link(PATH));
    body.push_str(&format!(
        "<form class=\"card\" method=\"post\" action=\"{action}\">\n<h2>{}</h2>\n{}",
        html::escape(t("Neue Gruppe", "New group")),
        hidden(visitor, "create"),
    ));
    body.push_str(&html::input(&Input {
        name: "name",
        label: t("Name der Gruppe", "Name of the group"),
        kind: "text",
        autocomplete: "off",
        value: &kept_value("create", "name"),
        hint: Some(t("Zum Beispiel „AG Robotik“.", "For example “AG Robotik”.")),
        invalid: false,
        attrs: &format!("maxlength=\"{NAME_MAX}\""),
    }));
    body.push_str(&members_field(
        visitor,
        "members",
        &kept_value("create", "members"),
    ));
    body.push_str(&format!(
        "<button type=\"submit\">{}</button>\n</form>\n",
        html::escape(t("Gruppe anlegen", "Create group"))
    ));
    let groups = teacher_groups::own_groups(state, &actor.user_id);
    if groups.is_empty() {
        body.push_str(&format!(
            "<div class=\"card\"><p>{}</p></div>\n",
            html::escape(t(
                "Du hast noch keine eigenen Gruppen.",
                "You have no groups of your own yet."
            ))
        ));
    }
    for group in &groups {
        body.push_str(&group_card(visitor, actor, group, &action));
    }
    let page = Page::new(PATH, GATE.title(visitor), body);
    let page = if status == StatusCode::OK {
        page
    } else {
        page.error(status)
    };
    page.render(state, visitor)
}

/// The textarea for user names.
fn members_field(visitor: &Visitor, id: &str, value: &str) -> String {
    format!(
        "<div class=\"field\">\n<label for=\"{id}\">{}</label>\n<p class=\"hint\">{}</p>\n\
         <textarea id=\"{id}\" name=\"members\" rows=\"4\" autocomplete=\"off\">{}</textarea>\n</div>\n",
        html::escape(visitor.tr("Personen", "People")),
        html::escape(visitor.tr(
            "Benutzernamen wie in Element (z. B. ben.mueller), durch Komma oder Zeilen getrennt. \
             Nur Personen, denen du schreiben darfst.",
            "User names as in Element (e.g. ben.mueller), separated by commas or lines. Only \
             people you may write to.",
        )),
        html::escape(value),
    )
}

/// One group: its members with a button each to remove them, adding people, dissolving.
fn group_card(visitor: &Visitor, actor: &Actor, group: &OwnGroup, action: &str) -> String {
    let t = |de, en| visitor.tr(de, en);
    let name = html::escape(&group.name);
    let group_field = format!("<input type=\"hidden\" name=\"group\" value=\"{name}\">\n");
    let mut card = format!(
        "<div class=\"card\">\n<h2>{name}</h2>\n<p>{}</p>\n<ul>\n",
        html::escape(&match visitor.lang {
            crate::config::Language::De => format!("{} Personen", group.members.len()),
            crate::config::Language::En => format!("{} people", group.members.len()),
        })
    );
    for (localpart, display_name) in &group.members {
        card.push_str(&format!(
            "<li>{} <span class=\"mono\">({})</span>",
            html::escape(display_name),
            html::escape(localpart)
        ));
        if localpart != actor.user_id.localpart() {
            card.push_str(&format!(
                "<form method=\"post\" action=\"{action}\">\n{}{group_field}\
                 <input type=\"hidden\" name=\"member\" value=\"{}\">\n\
                 <button type=\"submit\" class=\"link\">{}</button>\n</form>",
                hidden(visitor, "remove"),
                html::escape(localpart),
                html::escape(t("Entfernen", "Remove")),
            ));
        }
        card.push_str("</li>\n");
    }
    card.push_str("</ul>\n");
    let slug = group
        .name
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    card.push_str(&format!(
        "<form method=\"post\" action=\"{action}\">\n{}{group_field}{}<button type=\"submit\">{}</button>\n</form>\n",
        hidden(visitor, "add"),
        members_field(visitor, &format!("add-{slug}"), ""),
        html::escape(t("Aufnehmen", "Add")),
    ));
    card.push_str(&format!(
        "<form method=\"post\" action=\"{action}\">\n{}{group_field}\
         <div class=\"field\"><label><input type=\"checkbox\" name=\"confirm\" value=\"ja\"> {}</label></div>\n\
         <button type=\"submit\">{}</button>\n</form>\n</div>\n",
        hidden(visitor, "dissolve"),
        html::escape(t(
            "Ja, die Gruppe auflösen (ihr Raum bleibt als Archiv lesbar)",
            "Yes, dissolve the group (its room stays readable as an archive)"
        )),
        html::escape(t("Gruppe auflösen", "Dissolve group")),
    ));
    card
}
