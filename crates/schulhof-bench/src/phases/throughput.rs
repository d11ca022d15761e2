//! Aggregate message throughput of concurrent senders, each in its own room.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::{Result, Session};
use crate::phases::{all_ok, bounded, leave_rooms};
use crate::procfs;
use crate::stats::round3;

/// Outcome of the throughput phase.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Concurrent senders.
    pub senders: usize,
    /// Messages the server accepted.
    pub messages: usize,
    /// Requests that failed.
    pub errors: usize,
    /// Wall time from the first send to the last answer.
    pub seconds: f64,
    /// `messages / seconds`.
    pub messages_per_sec: f64,
}

/// Runs the phase until `messages` were sent or `duration` has passed.
/// Also returns the CPU time process `pid` used meanwhile, if given.
pub async fn run(
    senders: Vec<Arc<Session>>,
    messages: usize,
    duration: Duration,
    pid: Option<u32>,
) -> Result<(Report, Option<Duration>)> {
    eprintln!("throughput: creating {} rooms", senders.len());
    let rooms = all_ok(
        bounded(senders.clone(), 8, |s| async move {
            let room = s.create_room(&[]).await?;
            // Warm-up message, not counted.
            s.send_text(&room, "warm-up").await?;
            Ok(room)
        })
        .await,
    )?;

    eprintln!("throughput: sending up to {messages} messages for at most {duration:?}");
    let claimed = Arc::new(AtomicUsize::new(0));
    let cpu_before = procfs::server_cpu(pid)?;
    let start = Instant::now();
    let deadline = start + duration;
    let pairs: Vec<(Arc<Session>, String)> = senders.into_iter().zip(rooms).collect();
    let concurrency = pairs.len();
    let counts = bounded(pairs.clone(), concurrency, |(session, room)| {
        let claimed = Arc::clone(&claimed);
        async move {
            let (mut ok, mut errors) = (0usize, 0usize);
            while Instant::now() < deadline && claimed.fetch_add(1, Ordering::Relaxed) < messages {
                match session.send_text(&room, "throughput").await {
                    Ok(()) => ok += 1,
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("throughput: send failed: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (ok, errors)
        }
    })
    .await;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_after = procfs::server_cpu(pid)?;
    leave_rooms(pairs).await;

    let sent: usize = counts.iter().map(|c| c.0).sum();
    let errors: usize = counts.iter().map(|c| c.1).sum();
    let cpu = procfs::cpu_between(cpu_before, cpu_after);
    let report = Report {
        senders: counts.len(),
        messages: sent,
        errors,
        seconds: round3(seconds),
        messages_per_sec: round3(sent as f64 / seconds),
    };
    eprintln!(
        "throughput: {} messages in {} s = {} msg/s",
        report.messages, report.seconds, report.messages_per_sec
    );
    Ok((report, cpu))
}
