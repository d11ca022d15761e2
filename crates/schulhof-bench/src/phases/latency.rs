//! Send→sync delivery latency while idle clients hold /sync long-polls.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::client::{Result, Session};
use crate::phases::leave_rooms;
use crate::phases::watch::{Watcher, LONG_POLL_MS};
use crate::stats::{ms, round3, Summary};
/// Messages sent and awaited before sampling starts.
const WARMUP: usize = 10;
/// How long a message may take to arrive before it counts as lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the idle clients may take for their initial syncs.
const IDLE_READY_TIMEOUT: Duration = Duration::from_secs(180);
/// Body prefix of measured messages; the sequence number follows it.
const PREFIX: &str = "bench-latency-";
/// Filter of idle clients: nothing but the sync token.
const IDLE_FILTER: &str = r#"{"room":{"timeline":{"limit":1},"state":{"types":[]},"ephemeral":{"types":[]},"account_data":{"types":[]}},"presence":{"types":[]},"account_data":{"types":[]}}"#;

/// The sessions taking part in the latency phase.
#[derive(Clone)]
pub struct Clients {
    /// Creates the room and sends the messages.
    pub sender: Arc<Session>,
    /// Long-polls /sync and timestamps arriving messages.
    pub receiver: Arc<Session>,
    /// Hold idle /sync long-polls meanwhile.
    pub idle: Vec<Arc<Session>>,
}

/// Conditions under which the latency was measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Idle clients.
    pub idle_clients: usize,
    /// Fewest idle long-polls in flight seen when a message was sent.
    pub idle_long_polls_min: usize,
    /// Idle long-polls that returned more than a second before their 30 s
    /// timeout, i.e. were woken by something (should be 0).
    pub idle_early_returns: u64,
    /// Messages not delivered within 10 s.
    pub lost: usize,
}

/// Runs the phase: `samples` sequential messages with `pause` between them.
/// Returns the delivery latency distribution in milliseconds.
pub async fn run(
    clients: Clients,
    samples: usize,
    pause: Duration,
) -> Result<(Option<Summary>, Report)> {
    let Clients {
        sender,
        receiver,
        idle,
    } = clients;
    let room = sender.create_room(&[&receiver.user_id]).await?;
    receiver.join(&room).await?;

    let idle_count = idle.len();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let early = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    // Dropping the JoinSet at the end aborts every poll still in flight.
    let mut tasks = JoinSet::new();
    for session in idle {
        let (in_flight, early, ready) = (in_flight.clone(), early.clone(), ready.clone());
        tasks.spawn(idle_poll(session, in_flight, early, ready));
    }
    eprintln!("latency: waiting for {idle_count} idle clients to sync");
    let deadline = Instant::now() + IDLE_READY_TIMEOUT;
    while ready.load(Ordering::Relaxed) < idle_count {
        if Instant::now() > deadline {
            return Err("idle clients did not finish their initial sync in time".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let watcher = Watcher {
        session: receiver.clone(),
        room: room.clone(),
        prefix: PREFIX,
        tag: 0,
        arrivals: arrivals_tx,
        ready: ready_tx,
        in_flight: Arc::new(AtomicUsize::new(0)),
    };
    tasks.spawn(watcher.run());
    tokio::time::timeout(Duration::from_secs(30), ready_rx)
        .await
        .map_err(|_| "receiver initial sync timed out")?
        .map_err(|_| "receiver failed")?;
    // Let the idle clients' incremental long-polls reach the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    early.store(0, Ordering::Relaxed);

    eprintln!("latency: sending {samples} messages");
    let mut latencies = Vec::with_capacity(samples);
    let mut lost = 0;
    let mut idle_min = usize::MAX;
    for seq in 0..WARMUP + samples {
        tokio::time::sleep(pause).await;
        idle_min = idle_min.min(in_flight.load(Ordering::Relaxed));
        let start = Instant::now();
        sender.send_text(&room, &format!("{PREFIX}{seq}")).await?;
        let wait = async {
            while let Some(arrival) = arrivals.recv().await {
                if arrival.seq == seq {
                    return Some(arrival.at);
                }
            }
            None
        };
        match tokio::time::timeout(DELIVERY_TIMEOUT, wait).await {
            Ok(Some(at)) if seq >= WARMUP => {
                latencies.push(ms(start, at));
            }
            Ok(Some(_)) => {}
            Ok(None) => return Err("receiver stopped".into()),
            Err(_) => lost += 1,
        }
    }
    let early = early.load(Ordering::Relaxed);
    tasks.shutdown().await;
    leave_rooms(vec![(sender, room.clone()), (receiver, room)]).await;

    let summary = Summary::from_samples(&latencies);
    if let Some(s) = &summary {
        eprintln!(
            "latency: p50 {} ms, p99 {} ms, mean {} ms",
            s.p50,
            s.p99,
            round3(latencies.iter().sum::<f64>() / latencies.len() as f64)
        );
    }
    let report = Report {
        idle_clients: idle_count,
        idle_long_polls_min: if idle_count == 0 { 0 } else { idle_min },
        idle_early_returns: early,
        lost,
    };
    Ok((summary, report))
}

/// Initial sync, then incremental long-polls until aborted.
async fn idle_poll(
    session: Arc<Session>,
    in_flight: Arc<AtomicUsize>,
    early: Arc<AtomicU64>,
    ready: Arc<AtomicUsize>,
) {
    let mut since = loop {
        match session
            .sync(None, 0, IDLE_FILTER)
            .await
            .and_then(|s| s.next_batch())
        {
            Ok(token) => break token,
            Err(e) => {
                eprintln!("idle initial sync failed, retrying: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    ready.fetch_add(1, Ordering::Relaxed);
    loop {
        in_flight.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let result = session.sync(Some(&since), LONG_POLL_MS, IDLE_FILTER).await;
        in_flight.fetch_sub(1, Ordering::Relaxed);
        match result.and_then(|s| s.next_batch()) {
            Ok(token) => {
                since = token;
                if start.elapsed() < Duration::from_millis(LONG_POLL_MS - 1000) {
                    early.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                eprintln!("idle sync failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
