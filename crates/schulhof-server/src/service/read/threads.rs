//! `/threads`: a room's threads, the one with the newest answer first, each root event with its
//! thread summary bundled (`unsigned.m.relations.m.thread`), read through the one
//! [`RoomReader`]: a thread whose root the user may not see is left out, and answers hidden
//! from them (ignored senders, quiet-hours holds) are neither counted nor shown as the latest.

use ruma::api::client::threads::get_threads::v1::IncludeThreads;
use ruma::{RoomId, UserId};
use schulhof_store::EventRow;
use serde_json::{json, Value};

use super::history::{format_events, token};
use super::RoomReader;
use crate::state::AppState;
use crate::Result;

/// Threads per page when the client gives no limit.
const DEFAULT_LIMIT: usize = 20;
/// Most threads per page.
const MAX_LIMIT: usize = 100;

/// One thread as the user sees it.
struct Thread {
    root: EventRow,
    latest: EventRow,
    count: usize,
    participated: bool,
}

/// `GET /v1/rooms/{roomId}/threads`: `from` is a token of an earlier page (`None`: the newest).
pub async fn threads(
    state: &AppState,
    user_id: &UserId,
    device_id: &str,
    room_id: &RoomId,
    include: &IncludeThreads,
    from: Option<i64>,
    limit: Option<usize>,
) -> Result<Value> {
    let reader = RoomReader::open(state, user_id, room_id).await?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let only_mine = *include == IncludeThreads::Participated;
    let before = from.map_or(i64::MAX, |from| from + 1);
    let roots = state
        .db
        .thread_roots(room_id.as_str(), before, limit as i64 + 1)
        .await?;
    let more = roots.len() > limit;
    let mut chunk = Vec::new();
    let mut next = None;
    for (root_id, latest_pos) in roots.into_iter().take(limit) {
        next = Some(latest_pos - 1);
        let Some(thread) = thread(&reader, &root_id, user_id).await? else {
            continue;
        };
        if only_mine && !thread.participated {
            continue;
        }
        let rows = [thread.root, thread.latest];
        let [mut root, latest] =
            <[Value; 2]>::try_from(format_events(state, &rows, user_id, device_id))
                .unwrap_or_else(|_| unreachable!("two events in, two out"));
        root["unsigned"]["m.relations"]["m.thread"] = json!({
            "latest_event": latest,
            "count": thread.count,
            "current_user_participated": thread.participated,
        });
        chunk.push(root);
    }
    let mut body = json!({ "chunk": chunk });
    if let Some(next) = next.filter(|_| more) {
        body["next_batch"] = json!(token(next));
    }
    Ok(body)
}

/// The thread of `root_id` as `user_id` sees it: `None` if they may not see the root or any
/// answer.
async fn thread(
    reader: &RoomReader<'_>,
    root_id: &str,
    user_id: &UserId,
) -> Result<Option<Thread>> {
    let Some(root) = reader.event(root_id).await? else {
        return Ok(None);
    };
    let answers: Vec<EventRow> = reader
        .relating(root_id, 1)
        .await?
        .into_iter()
        .filter(|related| related.rel_type == "m.thread")
        .map(|related| related.event)
        .collect();
    let participated =
        root.sender == user_id.as_str() || answers.iter().any(|row| row.sender == user_id.as_str());
    let count = answers.len();
    let Some(latest) = answers.into_iter().max_by_key(|row| row.stream_pos) else {
        return Ok(None);
    };
    Ok(Some(Thread {
        root,
        latest,
        count,
        participated,
    }))
}
