//! What each sliding-sync connection has already been sent, kept in memory per user, device
//! and `conn_id`.
//!
//! Every response stores the connection's new state under a fresh position (`pos`). A request
//! names the position it continues from; the states after it stay too (a client that dropped
//! an in-flight long-poll sends the same `pos` again and gets a correct answer from it), the
//! ones before it are dropped. A position the server no longer knows — after a restart (the
//! process epoch in the position differs), an eviction or a reset of the connection — is
//! answered with 400 `M_UNKNOWN_POS`, and the client starts over.
//!
//! Memory is bounded: a connection keeps at most [`MAX_POSITIONS`] states, a device at most
//! [`MAX_CONNECTIONS_PER_DEVICE`] connections (the least recently used goes), and connections
//! unused for [`IDLE_EXPIRY`] are dropped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ruma::{OwnedDeviceId, OwnedRoomId, OwnedUserId};

use crate::ruma_wrapper::Session;
use crate::service::read::exclusions::Exclusions;
use crate::service::sync::SinceToken;
use crate::{Error, Result};

/// Most states one connection keeps: the one in use and answers not yet acknowledged.
pub const MAX_POSITIONS: usize = 3;
/// Most connections of one device (Element X opens two).
pub const MAX_CONNECTIONS_PER_DEVICE: usize = 8;
/// A connection unused this long is forgotten (its client then starts over).
pub const IDLE_EXPIRY: Duration = Duration::from_secs(30 * 60);
/// Longest `conn_id` accepted.
const MAX_CONN_ID_LEN: usize = 64;

/// One connection: a user's device and the client's `conn_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnKey {
    user_id: OwnedUserId,
    device_id: OwnedDeviceId,
    conn_id: String,
}

impl ConnKey {
    /// The connection of `session` named `conn_id` (absent: the device's default one).
    pub fn new(session: &Session, conn_id: Option<&str>) -> Result<Self> {
        let conn_id = conn_id.unwrap_or_default();
        if conn_id.len() > MAX_CONN_ID_LEN {
            return Err(Error::invalid_param(
                "Die conn_id ist zu lang (höchstens 64 Zeichen).",
                "conn_id is too long (at most 64 characters).",
            ));
        }
        Ok(Self {
            user_id: session.user_id.clone(),
            device_id: session.device_id.clone(),
            conn_id: conn_id.to_owned(),
        })
    }
}

/// A room as the client of a connection has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRoom {
    /// Where the client's copy of the room ends.
    pub since: SinceToken,
    /// The room details (timeline limit, required state) it was sent with.
    pub config: u64,
    /// Sent as an invitation (stripped state only) rather than as a joined room.
    pub invite: bool,
    /// The unread counts it was last sent with.
    pub unread: (u64, u64),
}

/// What a connection's client has, after one response.
#[derive(Clone, Default)]
pub struct ConnState {
    /// Where the response ended; `None` before the first.
    pub since: Option<SinceToken>,
    /// Rooms sent at least once (also those since out of every list's range).
    pub rooms: HashMap<OwnedRoomId, SentRoom>,
    /// The bump stamp of every room of the user, as of `since`, computed with `exclusions`.
    pub bumps: HashMap<OwnedRoomId, i64>,
    /// The exclusions the bump stamps were computed with.
    pub exclusions: Option<Arc<Exclusions>>,
    /// The room count of each list.
    pub list_counts: BTreeMap<String, u64>,
    /// The user's direct chats (`m.direct`), as of `since`.
    pub direct: Arc<HashSet<OwnedRoomId>>,
}

struct Connection {
    states: BTreeMap<u64, Arc<ConnState>>,
    last_used: Instant,
}

/// Every connection of every device.
pub struct Connections {
    /// Changes at each start: positions of an earlier process are unknown.
    epoch: u32,
    next: AtomicU64,
    devices: Mutex<HashMap<(OwnedUserId, OwnedDeviceId), HashMap<String, Connection>>>,
    last_sweep: Mutex<Instant>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            epoch: rand::random(),
            next: AtomicU64::new(1),
            devices: Mutex::default(),
            last_sweep: Mutex::new(Instant::now()),
        }
    }
}

fn unknown_pos() -> Error {
    Error::UnknownPos
}

impl Connections {
    /// The state a connection had at `pos`; later states are kept, earlier ones dropped.
    pub fn at(&self, key: &ConnKey, pos: &str) -> Result<Arc<ConnState>> {
        let (epoch, n) = pos.split_once('_').ok_or_else(unknown_pos)?;
        if u32::from_str_radix(epoch, 16).ok() != Some(self.epoch) {
            return Err(unknown_pos());
        }
        let n: u64 = n.parse().map_err(|_| unknown_pos())?;
        let mut devices = self.devices.lock().expect("connections lock");
        let connection = devices
            .get_mut(&(key.user_id.clone(), key.device_id.clone()))
            .and_then(|conns| conns.get_mut(&key.conn_id))
            .ok_or_else(unknown_pos)?;
        let state = connection.states.get(&n).cloned().ok_or_else(unknown_pos)?;
        connection.states = connection.states.split_off(&n);
        connection.last_used = Instant::now();
        Ok(state)
    }

    /// Forgets a connection (its client starts over without a position).
    pub fn reset(&self, key: &ConnKey) {
        let mut devices = self.devices.lock().expect("connections lock");
        if let Some(conns) = devices.get_mut(&(key.user_id.clone(), key.device_id.clone())) {
            conns.remove(&key.conn_id);
        }
    }

    /// Stores a connection's new state; returns its position.
    pub fn store(&self, key: &ConnKey, state: ConnState) -> String {
        self.sweep();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut devices = self.devices.lock().expect("connections lock");
        let conns = devices
            .entry((key.user_id.clone(), key.device_id.clone()))
            .or_default();
        if !conns.contains_key(&key.conn_id) && conns.len() >= MAX_CONNECTIONS_PER_DEVICE {
            let oldest = conns
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                conns.remove(&oldest);
            }
        }
        let connection = conns
            .entry(key.conn_id.clone())
            .or_insert_with(|| Connection {
                states: BTreeMap::new(),
                last_used: now,
            });
        connection.states.insert(n, Arc::new(state));
        while connection.states.len() > MAX_POSITIONS {
            connection.states.pop_first();
        }
        connection.last_used = now;
        format!("{:x}_{n}", self.epoch)
    }

    /// How many connections are kept (all devices).
    #[cfg(test)]
    fn count(&self) -> usize {
        let devices = self.devices.lock().expect("connections lock");
        devices.values().map(HashMap::len).sum()
    }

    /// Drops connections unused for [`IDLE_EXPIRY`], at most once a minute.
    fn sweep(&self) {
        let now = Instant::now();
        {
            let mut last = self.last_sweep.lock().expect("sweep lock");
            if now.duration_since(*last) < Duration::from_secs(60) {
                return;
            }
            *last = now;
        }
        let mut devices = self.devices.lock().expect("connections lock");
        for conns in devices.values_mut() {
            conns.retain(|_, c| now.duration_since(c.last_used) < IDLE_EXPIRY);
        }
        devices.retain(|_, conns| !conns.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(device: &str, conn: &str) -> ConnKey {
        ConnKey {
            user_id: "@anna:schule.test".try_into().unwrap(),
            device_id: device.into(),
            conn_id: conn.to_owned(),
        }
    }

    #[test]
    fn a_position_can_be_used_again_until_a_later_one_is() {
        let conns = Connections::default();
        let k = key("D", "room-list");
        let first = conns.store(&k, ConnState::default());
        conns.at(&k, &first).unwrap();
        let second = conns.store(&k, ConnState::default());
        // The client dropped the long-poll that got `second` and asks from `first` again.
        conns.at(&k, &first).unwrap();
        let third = conns.store(&k, ConnState::default());
        conns.at(&k, &third).unwrap();
        assert!(matches!(conns.at(&k, &first), Err(Error::UnknownPos)));
        assert!(matches!(conns.at(&k, &second), Err(Error::UnknownPos)));
    }

    #[test]
    fn unknown_positions_are_refused() {
        let conns = Connections::default();
        let k = key("D", "");
        let pos = conns.store(&k, ConnState::default());
        assert!(matches!(
            conns.at(&key("E", ""), &pos),
            Err(Error::UnknownPos)
        ));
        assert!(matches!(conns.at(&k, "zz"), Err(Error::UnknownPos)));
        // Another process (a restart) has another epoch.
        let restarted = Connections::default();
        assert!(matches!(restarted.at(&k, &pos), Err(Error::UnknownPos)));
        conns.reset(&k);
        assert!(matches!(conns.at(&k, &pos), Err(Error::UnknownPos)));
    }

    #[test]
    fn memory_is_bounded() {
        let conns = Connections::default();
        let k = key("D", "a");
        let positions: Vec<String> = (0..10)
            .map(|_| conns.store(&k, ConnState::default()))
            .collect();
        assert!(conns.at(&k, &positions[9 - MAX_POSITIONS]).is_err());
        for i in 0..(MAX_CONNECTIONS_PER_DEVICE + 3) {
            conns.store(&key("D", &format!("c{i}")), ConnState::default());
        }
        assert_eq!(conns.count(), MAX_CONNECTIONS_PER_DEVICE);
    }
}
