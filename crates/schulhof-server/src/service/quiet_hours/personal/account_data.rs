//! The global account data `de.schulhof.quiet_hours`: a teacher's client moves the window with
//! `{"begin": "19:00", "end": "06:30"}` and takes the schedule's times again with `{}` (or both
//! `null`). The server checks it like every other change ([`super::set_own_window`]), stores
//! only what is in force, and answers `GET` with what is in force (`{}`: the times of the
//! school's or the admin's schedule). Hooked into `user::account_data`.

use ruma::UserId;
use schulhof_quiet_hours::{FieldError, PersonalWindow};
use serde_json::{json, Map, Value};

use crate::service::user::account_data::put_account_data;
use crate::service::write::Commit;
use crate::state::AppState;
use crate::Result;

/// The account data type.
pub const QUIET_HOURS_TYPE: &str = "de.schulhof.quiet_hours";

/// The window a client's content asks for (`None`: the schedule's own times). Errors name the
/// field: an unknown key, a value that is not a time of day, a `begin` without `end` or the
/// other way round.
pub fn parse(content: &Value) -> std::result::Result<Option<PersonalWindow>, FieldError> {
    let empty = Map::new();
    let object = content.as_object().unwrap_or(&empty);
    if let Some(key) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "begin" | "end"))
    {
        return Err(FieldError::new(
            key.as_str(),
            format!("Unbekannter Eintrag „{key}“. Erlaubt sind: begin, end."),
            format!("unknown field `{key}`, expected `begin` or `end`"),
        ));
    }
    let time = |field: &str| match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => super::parse_time(field, text).map(Some),
        Some(other) => super::parse_time(field, &other.to_string()).map(Some),
    };
    match (time("begin")?, time("end")?) {
        (Some(begin), Some(end)) => Ok(Some(PersonalWindow { begin, end })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(half("end", "Ende", "begin")),
        (None, Some(_)) => Err(half("begin", "Beginn", "end")),
    }
}

/// The error for a window given only by half: `missing` is the other field.
fn half(missing: &str, german: &str, given: &str) -> FieldError {
    FieldError::new(
        missing,
        format!(
            "{german} fehlt: Beginn und Ende gehören zusammen (beide angeben, oder beide null \
             für die Zeiten der Schule)."
        ),
        format!(
            "`{missing}` is missing: `{given}` needs it (give both, or both null for the school's \
             times)"
        ),
    )
}

/// The content that describes `window` (`{}` for none).
pub fn content(window: Option<&PersonalWindow>) -> Value {
    match window {
        Some(window) => json!({
            "begin": window.begin.to_string(),
            "end": window.end.to_string(),
        }),
        None => json!({}),
    }
}

/// Applies a client's `PUT` of the account data: refused for people without quiet hours
/// (403) and for invalid content (400 naming the field), and then nothing is stored.
pub async fn set(state: &AppState, user_id: &UserId, content: &Value) -> Result<i64> {
    super::require_quiet_role(&state.quiet_hours.rules(), super::role_of(state, user_id))?;
    let window = parse(content)?;
    super::set_own_window(state, user_id, window).await
}

/// What a client's `GET` returns: the window in force.
pub async fn in_force(state: &AppState, user_id: &UserId) -> Result<Value> {
    let row = super::in_force(state, user_id).await?;
    let window = row.and_then(|row| super::stored_window(&row).ok().flatten());
    Ok(content(window.as_ref()))
}

/// Stores the account data for `window` inside a commit (with its `/sync` wake-up).
pub(super) async fn store(
    c: &mut Commit<'_, '_>,
    user_id: &UserId,
    window: Option<&PersonalWindow>,
) -> Result<i64> {
    let json = content(window).to_string();
    put_account_data(c, user_id, None, QUIET_HOURS_TYPE, &json).await
}

/// Stores the account data for `window` unless it is already stored (after a change by the
/// CLI, which cannot write account data itself: only the serving process gives out stream
/// positions).
pub(super) async fn reconcile(
    state: &AppState,
    user_id: &UserId,
    window: Option<&PersonalWindow>,
) -> Result<()> {
    let stored = state
        .db
        .account_data(user_id.as_str(), "", QUIET_HOURS_TYPE)
        .await?;
    let stored: Option<Value> = stored.and_then(|json| serde_json::from_str(&json).ok());
    if stored.as_ref() == Some(&content(window)) {
        return Ok(());
    }
    state
        .writer
        .commit(state, async |c| store(c, user_id, window).await)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(content: Value) -> String {
        parse(&content).unwrap_err().field
    }

    #[test]
    fn contents_clients_send() {
        let moved = parse(&json!({ "begin": "19:00", "end": "6:30" }))
            .unwrap()
            .unwrap();
        assert_eq!(
            content(Some(&moved)),
            json!({ "begin": "19:00", "end": "06:30" })
        );
        assert_eq!(parse(&json!({})).unwrap(), None);
        assert_eq!(parse(&json!({ "begin": null, "end": null })).unwrap(), None);
        assert_eq!(content(None), json!({}));
    }

    #[test]
    fn bad_contents_name_the_field() {
        assert_eq!(field(json!({ "begin": "19:00", "end": "25:00" })), "end");
        assert_eq!(field(json!({ "begin": 19, "end": "06:00" })), "begin");
        assert_eq!(field(json!({ "begin": "19:00" })), "end");
        assert_eq!(field(json!({ "end": "06:00", "begin": null })), "begin");
        assert_eq!(
            field(json!({ "beginn": "19:00", "end": "06:00" })),
            "beginn"
        );
        let err = parse(&json!({ "begin": "abends", "end": "06:00" })).unwrap_err();
        assert_eq!(
            err.message_de,
            "Beginn „abends“ ist keine Uhrzeit wie 18:30."
        );
    }
}
