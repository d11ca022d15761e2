//! Looking up and managing delayed events: the owner's list and single lookups, and the
//! MSC4140 actions `cancel`, `restart` and `send`.
//!
//! Only the owner sees a delayed event. The actions need either the owner's access token or
//! no token at all: MSC4140 lets whoever knows a `delay_id` (unguessable, given only to its
//! owner) manage that one event, so a client can hand it to a helper. A token of anyone else
//! gets 404, as if the event did not exist.

use ruma::UserId;
use schulhof_store::{
    Db, DelayedQuery, DelayedRow, DELAYED_CANCELLED, DELAYED_FAILED, DELAYED_SCHEDULED,
    DELAYED_SENDING, DELAYED_SENT,
};
use serde_json::{json, Map, Value};

use super::{owned_by, sender};
use crate::state::AppState;
use crate::{Error, Result};

/// How many delayed events one page of the list holds.
const PAGE_SIZE: i64 = 20;

/// A management action (MSC4140).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Never send it.
    Cancel,
    /// Start its delay again from now.
    Restart,
    /// Send it now.
    Send,
}

impl Action {
    /// The action named `name` (`cancel`, `restart`, `send`); anything else is 400
    /// `M_INVALID_PARAM`.
    pub fn parse(name: &str) -> Result<Action> {
        match name {
            "cancel" => Ok(Action::Cancel),
            "restart" => Ok(Action::Restart),
            "send" => Ok(Action::Send),
            _ => Err(Error::invalid_param(
                "Unbekannte Aktion (möglich: cancel, restart, send).",
                "Unknown action (expected cancel, restart or send).",
            )),
        }
    }
}

fn not_found() -> Error {
    Error::not_found(
        "Diese geplante Nachricht gibt es nicht.",
        "Unknown delayed event.",
    )
}

/// The delayed event `delay_id` as `requester` may see it: 404 unless they own it (`None`:
/// a request without token, which may manage but not read).
async fn owned(state: &AppState, delay_id: &str, requester: Option<&UserId>) -> Result<DelayedRow> {
    let row = state
        .db
        .delayed_event(delay_id)
        .await?
        .ok_or_else(not_found)?;
    match requester {
        Some(user) if !owned_by(&row.user_id, user) => Err(not_found()),
        _ => Ok(row),
    }
}

/// Carries out `action` on the delayed event `delay_id` for `requester` (see the module
/// documentation). Repeating an action that already happened succeeds (a cancelled event
/// cancelled again, a sent one sent again); one that contradicts what happened is 409
/// `M_UNKNOWN`. `send` answers with the error sending it now meets, and the event stays
/// scheduled.
pub async fn update(
    state: &AppState,
    delay_id: &str,
    requester: Option<&UserId>,
    action: Action,
) -> Result<()> {
    let row = owned(state, delay_id, requester).await?;
    let now = state.clock.now_ms();
    let done = match action {
        Action::Cancel => state.db.cancel_delayed(delay_id, now).await?,
        Action::Restart => state.db.restart_delayed(delay_id, now).await?,
        Action::Send => {
            if state.db.claim_delayed(delay_id).await? {
                return sender::send_now(state, &row).await;
            }
            false
        }
    };
    if done {
        state.delayed.wake();
        return Ok(());
    }
    // Not scheduled any more: the answer depends on how it ended.
    let status = owned(state, delay_id, requester).await?.status;
    match (action, status.as_str()) {
        (Action::Cancel, DELAYED_CANCELLED | DELAYED_FAILED) => Ok(()),
        (Action::Send, DELAYED_SENT | DELAYED_SENDING) => Ok(()),
        (_, DELAYED_SCHEDULED) => Err(Error::Internal(
            "delayed event changed during an update".into(),
        )),
        (_, DELAYED_SENT | DELAYED_SENDING) => Err(Error::Conflict(crate::text!(
            "Diese geplante Nachricht wurde schon gesendet.",
            "This delayed event was already sent.",
        ))),
        _ => Err(Error::Conflict(crate::text!(
            "Diese geplante Nachricht wurde abgebrochen.",
            "This delayed event was cancelled.",
        ))),
    }
}

/// One delayed event of `user` in the MSC4140 format (404 for anyone else).
pub async fn get(state: &AppState, user: &UserId, delay_id: &str) -> Result<Value> {
    Ok(render(&owned(state, delay_id, Some(user)).await?))
}

/// What a listing asks for (query parameters of `GET …/delayed_events`).
#[derive(Debug, Default)]
pub struct ListRequest {
    /// `status`: `scheduled` (the default, as clients and Synapse expect) or `finalised`.
    pub status: Option<String>,
    /// `delay_id`, any number of times.
    pub delay_ids: Vec<String>,
    /// `room_id`.
    pub room_id: Option<String>,
    /// `type`.
    pub event_type: Option<String>,
    /// `from`: the `next_batch` of the previous page.
    pub from: Option<String>,
    /// `order_by`: only `send_ts` is offered.
    pub order_by: Option<String>,
    /// `dir`: only `f` is offered.
    pub dir: Option<String>,
}

impl ListRequest {
    /// Reads the query string of a listing.
    pub fn from_query(query: Option<&str>) -> ListRequest {
        let mut request = ListRequest::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "status" => request.status = Some(value),
                "delay_id" => request.delay_ids.push(value),
                "room_id" => request.room_id = Some(value),
                "type" => request.event_type = Some(value),
                "from" => request.from = Some(value),
                "order_by" => request.order_by = Some(value),
                "dir" => request.dir = Some(value),
                _ => {}
            }
        }
        request
    }
}

fn unsupported(name: &str) -> Error {
    Error::InvalidParam(crate::text!(
        "Nicht unterstützter Wert für {}.",
        "Unsupported value of {}.",
        name
    ))
}

/// A page of `user`'s delayed events, earliest send time first: `delayed_events` and, when
/// there are more, `next_batch`.
pub async fn list(state: &AppState, user: &UserId, request: &ListRequest) -> Result<Value> {
    let finalised = match request.status.as_deref() {
        None | Some("scheduled") => false,
        Some("finalised") => true,
        Some(_) => return Err(unsupported("status")),
    };
    if request.order_by.as_deref().is_some_and(|o| o != "send_ts") {
        return Err(unsupported("order_by"));
    }
    if request.dir.as_deref().is_some_and(|d| d != "f") {
        return Err(unsupported("dir"));
    }
    let after = match &request.from {
        Some(token) => Some(parse_token(token).ok_or_else(|| unsupported("from"))?),
        None => None,
    };
    let query = DelayedQuery {
        finalised: Some(finalised),
        delay_ids: &request.delay_ids,
        room_id: request.room_id.as_deref(),
        event_type: request.event_type.as_deref(),
        after: after.as_ref().map(|(ts, id)| (*ts, id.as_str())),
        limit: PAGE_SIZE + 1,
    };
    let mut rows = state.db.delayed_events_of(user.as_str(), &query).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let mut body = json!({ "delayed_events": rows.iter().map(render).collect::<Vec<_>>() });
    if let Some(last) = rows.last().filter(|_| more) {
        body["next_batch"] = json!(format!("{}.{}", last.send_ts, last.delay_id));
    }
    Ok(body)
}

/// Every delayed event of `user_id`, whatever became of it, for a data access request (DSGVO
/// Art. 15): as listed, with its `status`, but without the `delay_id`, which would let the
/// reader manage the ones still waiting.
pub async fn export(db: &Db, user_id: &str) -> Result<Vec<Value>> {
    let all = DelayedQuery {
        limit: i64::MAX,
        ..Default::default()
    };
    let rows = db.delayed_events_of(user_id, &all).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut event = render(row);
            if let Some(fields) = event.as_object_mut() {
                fields.remove("delay_id");
                fields.insert("status".into(), json!(row.status));
            }
            event
        })
        .collect())
}

/// `(send_ts, delay_id)` of a `next_batch` token.
fn parse_token(token: &str) -> Option<(i64, String)> {
    let (ts, id) = token.split_once('.')?;
    Some((ts.parse().ok()?, id.to_owned()))
}

/// A delayed event in MSC4140's format. A finalised one has its end time as
/// `origin_server_ts` (the MSC) and as `finalised_ts` (what ruma clients read), `event_id`
/// once sent and `error` when it failed.
pub fn render(row: &DelayedRow) -> Value {
    let mut out = Map::new();
    out.insert("delay_id".into(), json!(row.delay_id));
    out.insert("room_id".into(), json!(row.room_id));
    out.insert("type".into(), json!(row.event_type));
    if let Some(key) = &row.state_key {
        out.insert("state_key".into(), json!(key));
    }
    out.insert("delay".into(), json!(row.delay_ms));
    out.insert("running_since".into(), json!(row.running_since));
    let content = serde_json::from_str(&row.content).unwrap_or_else(|_| json!({}));
    out.insert("content".into(), content);
    if let Some(event_id) = &row.event_id {
        out.insert("event_id".into(), json!(event_id));
    }
    if let Some(error) = row
        .error
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
    {
        out.insert("error".into(), error);
    }
    if let Some(ts) = row.finalised_ts {
        out.insert("origin_server_ts".into(), json!(ts));
        out.insert("finalised_ts".into(), json!(ts));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_parameters_and_tokens() {
        let request = ListRequest::from_query(Some(
            "status=finalised&delay_id=a&delay_id=b&room_id=%21r%3As&type=m.room.message&from=5.x&x=1",
        ));
        assert_eq!(request.status.as_deref(), Some("finalised"));
        assert_eq!(request.delay_ids, ["a", "b"]);
        assert_eq!(request.room_id.as_deref(), Some("!r:s"));
        assert_eq!(request.event_type.as_deref(), Some("m.room.message"));
        assert_eq!(parse_token("5.x"), Some((5, "x".to_owned())));
        assert_eq!(parse_token("fünf.x"), None);
        assert_eq!(Action::parse("restart").unwrap(), Action::Restart);
        assert_eq!(
            Action::parse("delete").unwrap_err().errcode(),
            "M_INVALID_PARAM"
        );
    }

    #[test]
    fn a_finalised_event_names_its_outcome() {
        let mut row = DelayedRow {
            delay_id: "d".into(),
            user_id: "@anna:schule.test".into(),
            device_id: "LAPTOP".into(),
            txn_id: None,
            room_id: "!r:schule.test".into(),
            event_type: "m.room.topic".into(),
            state_key: Some(String::new()),
            content: r#"{"topic":"Wandertag"}"#.into(),
            delay_ms: 1_000,
            running_since: 5,
            send_ts: 1_005,
            status: DELAYED_SCHEDULED.into(),
            event_id: None,
            error: None,
            finalised_ts: None,
        };
        let waiting = render(&row);
        assert_eq!(waiting["content"]["topic"], "Wandertag");
        assert_eq!(waiting["state_key"], "");
        assert!(waiting.get("origin_server_ts").is_none());
        row.status = DELAYED_FAILED.into();
        row.error = Some(r#"{"errcode":"M_FORBIDDEN","error":"nein"}"#.into());
        row.finalised_ts = Some(2_000);
        let failed = render(&row);
        assert_eq!(failed["error"]["errcode"], "M_FORBIDDEN");
        assert_eq!(failed["origin_server_ts"], 2_000);
        assert_eq!(failed["finalised_ts"], 2_000);
    }
}
