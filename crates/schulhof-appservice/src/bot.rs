//! The bot's answers to what the transactions bring: it joins direct chats it is invited
//! to, answers `!hilfe` (German) and `!help` (English) there, and welcomes new members of a
//! managed room in German (one message per room and transaction, naming everyone who joined).
//! Message transaction IDs are derived from the event answered, so a transaction handled
//! twice sends nothing twice.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::read::MANAGED_FIELD;
use crate::service::Appservice;
use crate::template::Values;

/// Handles the events of one transaction, in order. Failures are logged: a lost welcome is
/// not worth holding up the transaction stream.
pub async fn handle(appservice: &Appservice, events: &[Value]) {
    let bot = appservice.bot_user_id();
    let mut welcomes: BTreeMap<&str, (Vec<String>, &str)> = BTreeMap::new();
    for event in events {
        let (Some(room_id), Some(sender)) = (event["room_id"].as_str(), event["sender"].as_str())
        else {
            continue;
        };
        let content = &event["content"];
        match event["type"].as_str() {
            Some("m.room.member") => {
                let target = event["state_key"].as_str().unwrap_or_default();
                let joined = content["membership"] == "join"
                    && event["unsigned"]["prev_content"]["membership"] != "join";
                let managed = managed(appservice, room_id).await;
                if target == bot && content["membership"] == "invite" && managed.is_none() {
                    if let Err(error) = appservice.homeserver.join(room_id).await {
                        tracing::warn!(%error, "could not join a direct chat");
                    }
                } else if joined && target != bot && managed == Some(false) {
                    let name = content["displayname"]
                        .as_str()
                        .map_or_else(|| target.to_owned(), str::to_owned);
                    let entry = welcomes.entry(room_id).or_default();
                    entry.0.push(name);
                    entry.1 = event["event_id"].as_str().unwrap_or_default();
                }
            }
            Some("m.room.message") if sender != bot => {
                let body = content["body"].as_str().unwrap_or_default().trim();
                if !body.starts_with('!') || managed(appservice, room_id).await.is_some() {
                    continue;
                }
                let text = match body {
                    "!hilfe" => help_de(appservice),
                    "!help" => help_en(appservice),
                    _ => continue,
                };
                let event_id = event["event_id"].as_str().unwrap_or_default();
                let reply = json!({
                    "msgtype": "m.notice",
                    "body": text,
                    "m.relates_to": { "m.in_reply_to": { "event_id": event_id } },
                });
                send(appservice, room_id, &format!("hilfe-{event_id}"), &reply).await;
            }
            _ => {}
        }
    }
    for (room_id, (names, last_event)) in welcomes {
        let content = json!({ "msgtype": "m.notice", "body": welcome(&names) });
        send(
            appservice,
            room_id,
            &format!("willkommen-{last_event}"),
            &content,
        )
        .await;
    }
}

/// Whether `room_id` is a managed room (`Some(is a space)`), from what the last reconcile
/// knew or else from the room's `m.room.create` (remembered; a room the bot cannot read is
/// taken as unmanaged and asked again next time).
async fn managed(appservice: &Appservice, room_id: &str) -> Option<bool> {
    if let Some(known) = appservice
        .managed
        .read()
        .expect("managed lock")
        .get(room_id)
    {
        return *known;
    }
    let create = appservice
        .homeserver
        .state(room_id, "m.room.create", "")
        .await
        .ok()?;
    let kind = create
        .get(MANAGED_FIELD)
        .map(|_| create["type"] == "m.space");
    appservice
        .managed
        .write()
        .expect("managed lock")
        .insert(room_id.to_owned(), kind);
    kind
}

/// Sends `content` as the bot, logging a failure.
async fn send(appservice: &Appservice, room_id: &str, txn_id: &str, content: &Value) {
    let txn_id: String = txn_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if let Err(error) = appservice.homeserver.send(room_id, &txn_id, content).await {
        tracing::warn!(%error, "bot message not sent");
    }
}

/// The welcome for `names` ("Willkommen, Ben Weber und Clara Fischer! …").
pub fn welcome(names: &[String]) -> String {
    let list = match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} und {last}", rest.join(", ")),
    };
    format!(
        "Willkommen, {list}! Diesen Raum verwaltet die Schule: Wer dazugehört, steht im \
         Schulverzeichnis. Hilfe gibt es mit „!hilfe“ im Direktchat mit mir."
    )
}

/// The school space's name.
fn school_name(appservice: &Appservice) -> String {
    appservice.config.school.name.render(&Values::default())
}

/// The German help.
pub fn help_de(appservice: &Appservice) -> String {
    format!(
        "Hallo! Ich bin der Bot der Schule. Ich lege die Räume der Klassen und Gruppen an und \
         halte ihre Mitglieder so, wie es im Schulverzeichnis steht. Alle Räume stehen im \
         Space „{}“.\n\nBefehle:\n!hilfe – diese Hilfe\n!help – this help in English\n\n\
         Fehlt ein Raum oder stimmt eine Gruppe nicht, hilft das Sekretariat oder die \
         Schulleitung.",
        school_name(appservice)
    )
}

/// The English help.
pub fn help_en(appservice: &Appservice) -> String {
    format!(
        "Hello! I am the school's bot. I create the rooms of the classes and groups and keep \
         their members as the school directory lists them. All rooms are in the space \
         “{}”.\n\nCommands:\n!hilfe – this help in German\n!help – this help\n\n\
         If a room is missing or a group is wrong, ask the school office or the head of \
         school.",
        school_name(appservice)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcomes_name_everyone() {
        assert!(welcome(&["Ben Weber".into()]).starts_with("Willkommen, Ben Weber! "));
        assert!(
            welcome(&["A".into(), "B".into(), "C".into()]).starts_with("Willkommen, A, B und C! ")
        );
    }
}
