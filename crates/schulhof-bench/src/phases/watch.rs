//! A client that long-polls /sync for one room and reports every numbered
//! benchmark message as it arrives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::client::Session;

/// Long-poll timeout of every incremental /sync of a watcher, in milliseconds.
pub const LONG_POLL_MS: u64 = 30_000;

/// Attempts at the initial sync before a watcher gives up.
const INITIAL_SYNC_ATTEMPTS: usize = 5;

/// One numbered message seen by one watcher.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// The watcher's tag (see [`Watcher::tag`]).
    pub watcher: usize,
    /// The number after the message body's prefix.
    pub seq: usize,
    /// When the /sync response carrying it was fully received.
    pub at: Instant,
}

/// What a watcher watches and where it reports.
pub struct Watcher {
    /// The watching device.
    pub session: Arc<Session>,
    /// The room whose messages it reports.
    pub room: String,
    /// Body prefix of the messages to report; a decimal sequence number
    /// follows it.
    pub prefix: &'static str,
    /// Tag put on every arrival, to tell watchers apart.
    pub tag: usize,
    /// Where arrivals go; the watcher stops when nobody receives them.
    pub arrivals: mpsc::UnboundedSender<Arrival>,
    /// Signalled once the initial sync is done.
    pub ready: oneshot::Sender<()>,
    /// Incremented while a long-poll of this watcher is in flight.
    pub in_flight: Arc<AtomicUsize>,
}

impl Watcher {
    /// Initial sync, then incremental long-polls restricted to the room's
    /// messages until aborted or the arrivals' receiver is gone. Gives up
    /// if the initial sync fails five times (the caller sees `ready`
    /// dropped).
    pub async fn run(self) {
        let Watcher {
            session,
            room,
            prefix,
            tag,
            arrivals,
            ready,
            in_flight,
        } = self;
        let filter = serde_json::json!({
            "room": {
                "rooms": [room],
                "timeline": { "limit": 50, "types": ["m.room.message"] },
                "state": { "types": [] },
                "ephemeral": { "types": [] },
                "account_data": { "types": [] },
            },
            "presence": { "types": [] },
            "account_data": { "types": [] },
        })
        .to_string();
        let mut attempt = 1;
        let mut since = loop {
            match session
                .sync(None, 0, &filter)
                .await
                .and_then(|s| s.next_batch())
            {
                Ok(token) => break token,
                Err(e) if attempt < INITIAL_SYNC_ATTEMPTS => {
                    eprintln!("watcher {tag}: initial sync failed, retrying: {e}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    eprintln!("watcher {tag}: initial sync failed, giving up: {e}");
                    return;
                }
            }
        };
        if ready.send(()).is_err() {
            return;
        }
        loop {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let result = session.sync(Some(&since), LONG_POLL_MS, &filter).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let synced = match result {
                Ok(synced) => synced,
                Err(e) => {
                    eprintln!("watcher {tag}: sync failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            for event in synced.timeline(&room) {
                let seq = event["content"]["body"]
                    .as_str()
                    .and_then(|b| b.strip_prefix(prefix))
                    .and_then(|n| n.parse().ok());
                if let Some(seq) = seq {
                    let arrival = Arrival {
                        watcher: tag,
                        seq,
                        at: synced.arrived,
                    };
                    if arrivals.send(arrival).is_err() {
                        return;
                    }
                }
            }
            match synced.next_batch() {
                Ok(token) => since = token,
                Err(e) => {
                    eprintln!("watcher {tag}: {e}");
                    return;
                }
            }
        }
    }
}
