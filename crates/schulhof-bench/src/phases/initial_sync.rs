//! Initial /sync time of one user who is in many rooms with history.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::client::{Result, Session};
use crate::phases::{all_ok, bounded, leave_rooms};
use crate::stats::{ms, Summary};

/// Conditions under which the initial syncs were timed.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Rooms the user was put in.
    pub rooms: usize,
    /// Messages sent into each room.
    pub messages_per_room: usize,
    /// Joined rooms in the last response (should equal `rooms`).
    pub rooms_in_response: usize,
    /// Size of the last response body.
    pub response_bytes: usize,
}

/// Fills `rooms` rooms with `messages` messages each, then times `repeats`
/// initial syncs of `session`, and finally leaves the rooms. Returns the
/// distribution of initial /sync wall times in milliseconds.
pub async fn run(
    session: Arc<Session>,
    rooms: usize,
    messages: usize,
    repeats: usize,
) -> Result<(Option<Summary>, Report)> {
    eprintln!("initial-sync: filling {rooms} rooms with {messages} messages each");
    let room_ids = all_ok(
        bounded(vec![Arc::clone(&session); rooms], 8, |s| async move {
            let room = s.create_room(&[]).await?;
            for i in 0..messages {
                s.send_text(&room, &format!("history message {i}")).await?;
            }
            Ok(room)
        })
        .await,
    )?;

    eprintln!("initial-sync: timing {repeats} initial syncs");
    let mut times = Vec::with_capacity(repeats);
    let (mut rooms_in_response, mut response_bytes) = (0, 0);
    for i in 0..repeats {
        // The default timeline limit of 10 with an exclusion that never
        // matches: a distinct filter per request defeats response caches.
        let filter = format!(
            r#"{{"room":{{"timeline":{{"limit":10,"not_types":["org.schulhof.bench.nonce.{i}"]}}}}}}"#
        );
        let start = Instant::now();
        let synced = session.sync(None, 0, &filter).await?;
        times.push(ms(start, synced.arrived));
        rooms_in_response = synced.joined_rooms();
        response_bytes = synced.bytes;
    }
    leave_rooms(
        room_ids
            .into_iter()
            .map(|r| (Arc::clone(&session), r))
            .collect(),
    )
    .await;

    let summary = Summary::from_samples(&times);
    if let Some(s) = &summary {
        eprintln!("initial-sync: p50 {} ms, max {} ms", s.p50, s.max);
    }
    let report = Report {
        rooms,
        messages_per_room: messages,
        rooms_in_response,
        response_bytes,
    };
    Ok((summary, report))
}
