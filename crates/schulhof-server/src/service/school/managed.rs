//! Rooms the school manages: the rooms and spaces the school's appservice creates for the
//! directory's groups (`docs/appservice.md`). A room is managed when its `m.room.create`
//! content carries [`MARKER`] *and* its creator is reserved for a registered appservice (the
//! appservice's sender or a user of one of its exclusive user namespaces). Both facts are
//! fixed when the room is created (the create event never changes; the registrations are
//! loaded at start), so the answer never differs from what is committed and needs no storage
//! of its own: the room snapshot keeps whether its create event carries the marker
//! ([`RoomSnapshot::marked_managed`]), and [`managed`] matches the creator against the
//! registrations.
//!
//! An ordinary user who puts the marker into their own `createRoom` is refused
//! (`managed_room_reserved`, see `policy::check_create_room`): such a room could never be
//! managed, and refusing keeps a room's marker meaningful.

use ruma::UserId;
use schulhof_policy::Managed;
use serde_json::Value;

use crate::service::appservice::Registration;
use crate::service::rooms::RoomSnapshot;

/// The field of `m.room.create` content (and of `createRoom`'s `creation_content`) that marks
/// a room the school manages; its value is the room's key (`group:Klasse 8.1`, `space:school`).
pub const MARKER: &str = "de.schulhof.managed";

/// Whether create content carries the marker (as a string, the room's key).
pub fn carries_marker(content: &Value) -> bool {
    content.get(MARKER).is_some_and(Value::is_string)
}

/// The appservice reserving `user_id`, if any.
fn appservice_of<'a>(registrations: &'a [Registration], user_id: &str) -> Option<&'a Registration> {
    registrations.iter().find(|r| r.claims_user(user_id))
}

/// Whether `room` is managed, and whether by `actor`'s appservice.
pub fn managed(registrations: &[Registration], room: &RoomSnapshot, actor: &UserId) -> Managed {
    if !room.marked_managed() {
        return Managed::No;
    }
    let Some(creator) = room.creator() else {
        return Managed::No;
    };
    match appservice_of(registrations, creator.as_str()) {
        None => Managed::No,
        Some(manager) if manager.claims_user(actor.as_str()) => Managed::ByActor,
        Some(_) => Managed::Yes,
    }
}

/// What creating a room with `creation_content` by `creator` means: [`Managed::No`] without
/// the marker, [`Managed::ByActor`] if an appservice reserves the creator, else
/// [`Managed::Yes`] (refused by the policy).
pub fn creation(
    registrations: &[Registration],
    creator: &UserId,
    creation_content: &Value,
) -> Managed {
    if !carries_marker(creation_content) {
        Managed::No
    } else if appservice_of(registrations, creator.as_str()).is_some() {
        Managed::ByActor
    } else {
        Managed::Yes
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = r##"
id: schule
url: null
as_token: "as-secret"
hs_token: "hs-secret"
sender_localpart: schulhof-schule
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: "@schule_.*:s"
    - exclusive: false
      regex: "@gast_.*:s"
  aliases: []
  rooms: []
"##;

    /// The school's appservice on server `s`: sender `@schulhof-schule:s`, exclusive users
    /// `@schule_…`, non-exclusive `@gast_…`.
    pub(crate) fn registrations() -> Vec<Registration> {
        vec![Registration::parse(FILE, ruma::server_name!("s")).unwrap()]
    }

    fn room(creator: &str, content: Value) -> RoomSnapshot {
        RoomSnapshot::for_test(&[(creator, "m.room.create", "", content)])
    }

    fn user(id: &str) -> &UserId {
        <&UserId>::try_from(id).unwrap()
    }

    #[test]
    fn a_room_is_managed_by_marker_and_an_appservice_creator() {
        let regs = registrations();
        let marked = json!({ MARKER: "group:Klasse 8.1" });
        let by_bot = room("@schulhof-schule:s", marked.clone());
        assert_eq!(managed(&regs, &by_bot, user("@ben:s")), Managed::Yes);
        assert_eq!(
            managed(&regs, &by_bot, user("@schulhof-schule:s")),
            Managed::ByActor
        );
        assert_eq!(
            managed(&regs, &by_bot, user("@schule_x:s")),
            Managed::ByActor
        );
        // A non-exclusive namespace claims nobody: its users are ordinary users.
        assert_eq!(managed(&regs, &by_bot, user("@gast_x:s")), Managed::Yes);
        let by_namespace_user = room("@schule_x:s", marked.clone());
        assert_eq!(
            managed(&regs, &by_namespace_user, user("@ben:s")),
            Managed::Yes
        );
        // The marker alone, or an appservice creator alone, makes no managed room.
        assert_eq!(
            managed(&regs, &room("@ben:s", marked.clone()), user("@ben:s")),
            Managed::No
        );
        assert_eq!(
            managed(&regs, &room("@gast_x:s", marked), user("@ben:s")),
            Managed::No
        );
        let unmarked = room("@schulhof-schule:s", json!({}));
        assert_eq!(managed(&regs, &unmarked, user("@ben:s")), Managed::No);
        let not_a_key = room("@schulhof-schule:s", json!({ MARKER: true }));
        assert_eq!(managed(&regs, &not_a_key, user("@ben:s")), Managed::No);
        assert_eq!(managed(&[], &by_bot, user("@ben:s")), Managed::No);
    }

    #[test]
    fn creating_with_the_marker_is_for_appservices() {
        let regs = registrations();
        let marked = json!({ MARKER: "space:school", "type": "m.space" });
        assert_eq!(
            creation(&regs, user("@schulhof-schule:s"), &marked),
            Managed::ByActor
        );
        assert_eq!(creation(&regs, user("@ben:s"), &marked), Managed::Yes);
        assert_eq!(creation(&regs, user("@ben:s"), &json!({})), Managed::No);
    }
}
