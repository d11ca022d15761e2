//! A school-wide announcement room: many members join one public room, some
//! of them long-poll /sync while messages are sent, then many initial syncs
//! without lazy loading run at once.
//!
//! Steps, each bounded in count and time:
//! 1. the creator makes a public room and every joiner joins it, a fixed
//!    number of joins in flight;
//! 2. `/joined_members` and `/members?membership=join` are compared with
//!    each other and with the users who joined;
//! 3. watchers long-poll /sync (incremental tokens, a filter for the room's
//!    messages) while the creator sends messages one at a time; each message
//!    is timed until every watcher's /sync returned it, and the server's CPU
//!    time over the sending window is divided by the messages;
//! 4. the watchers stop and as many members run an initial /sync without a
//!    filter (full state, no lazy loading) at once while the server's RSS
//!    is sampled;
//! 5. one more message, with the server's CPU and RSS after it;
//! 6. the membership check again, and everyone leaves the room.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::client::{Result, Session};
use crate::phases::watch::{Arrival, Watcher};
use crate::phases::{bounded, leave_rooms};
use crate::procfs::{self, cpu_between, server_cpu, server_rss_mib, RssSampler};
use crate::stats::{ms, ms_each, round3, Summary};
use crate::{record_phase, CpuMark};

/// Body prefix of the fan-out messages; the sequence number follows it.
const PREFIX: &str = "bench-large-room-";
/// Joins whose wall time is reported separately: the last ones, in the
/// fullest room.
const LAST_JOINS: usize = 250;
/// How long the watchers may take for their initial syncs.
const WATCHERS_READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a message may take to reach every watcher before the missing
/// deliveries count as lost.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for every watcher's next long-poll before a message.
const REPOLL_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after all long-polls are in flight, so they reach the server.
const SETTLE: Duration = Duration::from_millis(50);
/// Interval of the RSS samples during the initial syncs and the last message.
const RSS_INTERVAL: Duration = Duration::from_millis(20);
/// How long the server's CPU and RSS are followed after the last message.
const AFTER_MESSAGE: Duration = Duration::from_secs(1);
/// User ids listed per difference in a membership check.
const LISTED: usize = 10;

/// Sizes and bounds of the phase.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Joins in flight at once.
    pub joins_in_flight: usize,
    /// Members that long-poll /sync during the messages.
    pub watchers: usize,
    /// Messages sent one at a time to the watchers.
    pub messages: usize,
    /// Concurrent initial syncs without lazy loading.
    pub initial_syncs: usize,
    /// Upper bound on each of those initial syncs.
    pub initial_sync_timeout: Duration,
    /// Leave the room in place at the end (no leaves).
    pub keep_room: bool,
    /// The homeserver process, for CPU and RSS.
    pub pid: Option<u32>,
}

/// The sessions taking part: one per user, as a user can join only once.
#[derive(Clone)]
pub struct Clients {
    /// Creates the room and sends the messages.
    pub creator: Arc<Session>,
    /// Join the room; the first of them watch and run the initial syncs.
    pub joiners: Vec<Arc<Session>>,
}

/// Everything the phase measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Members of the room after the joins (creator included).
    pub room_members: usize,
    /// The joins.
    pub joins: Joins,
    /// Server VmRSS after the joins, in MiB.
    pub rss_after_joins_mb: Option<f64>,
    /// Member lists right after the joins.
    pub membership_after_joins: MembershipCheck,
    /// Member lists at the end, before anyone leaves.
    pub membership_at_end: MembershipCheck,
    /// Messages to the long-polling watchers.
    pub fanout: Fanout,
    /// Concurrent initial syncs without lazy loading.
    pub initial_syncs: InitialSyncs,
    /// The first message after the initial syncs.
    pub message_after: MessageAfter,
    /// Average cores used by processes other than the benchmark and the
    /// server during each step (needs the PID); near 0 for a clean run.
    pub other_cores_busy: BTreeMap<&'static str, f64>,
}

/// Timing of the joins.
#[derive(Debug, Serialize)]
pub struct Joins {
    /// Joins attempted.
    pub joins: usize,
    /// Joins in flight at once.
    pub in_flight: usize,
    /// Joins that failed.
    pub errors: usize,
    /// Wall time from the first join's start to the last join's answer.
    pub seconds: f64,
    /// Time of each join request, in milliseconds.
    pub join_ms: Option<Summary>,
    /// How many of the last joins `last_seconds` covers.
    pub last: usize,
    /// Wall time of the last `last` joins.
    pub last_seconds: f64,
    /// `last_seconds` per join, in milliseconds.
    pub last_ms_each: f64,
}

/// `/joined_members` and `/members?membership=join` compared with the users
/// who joined.
#[derive(Debug, Serialize)]
pub struct MembershipCheck {
    /// Users who should be joined (creator and successful joins).
    pub expected: usize,
    /// Users listed by `/joined_members`.
    pub joined_members: usize,
    /// Users listed by `/members?membership=join`.
    pub members: usize,
    /// Whether both lists are exactly the expected users.
    pub ok: bool,
    /// Expected users `/joined_members` lacks (at most 10 listed).
    pub missing_from_joined_members: Vec<String>,
    /// Expected users `/members` lacks (at most 10 listed).
    pub missing_from_members: Vec<String>,
    /// Users listed by either who should not be (at most 10 listed).
    pub unexpected: Vec<String>,
}

/// Delivery of messages to the long-polling watchers.
#[derive(Debug, Serialize)]
pub struct Fanout {
    /// Watchers long-polling.
    pub watchers: usize,
    /// Watchers whose initial sync failed (not among `watchers`).
    pub watchers_failed: usize,
    /// Time until every watcher finished its initial sync (all at once).
    pub watchers_ready_seconds: f64,
    /// Server VmRSS once every watcher finished its initial sync, in MiB.
    pub rss_watchers_ready_mb: Option<f64>,
    /// Server VmRSS after the last message, in MiB.
    pub rss_after_mb: Option<f64>,
    /// Messages sent.
    pub messages: usize,
    /// Fewest watcher long-polls in flight when a message was sent.
    pub watchers_in_flight_min: usize,
    /// Send→arrival per watcher and message, in milliseconds.
    pub delivery_ms: Option<Summary>,
    /// Per message: send→arrival at the last watcher, in milliseconds.
    pub all_watchers_ms: Option<Summary>,
    /// Deliveries missing after 10 s.
    pub lost: usize,
    /// Server CPU time over the sending window (sends, deliveries and the
    /// watchers' next long-polls) per message, in milliseconds.
    pub server_cpu_ms_per_message: Option<f64>,
}

/// Concurrent initial syncs without a filter.
#[derive(Debug, Serialize)]
pub struct InitialSyncs {
    /// Initial syncs started at once.
    pub concurrent: usize,
    /// Initial syncs that failed or timed out.
    pub errors: usize,
    /// Wall time until the last one was answered.
    pub seconds: f64,
    /// Time of each, in milliseconds.
    pub sync_ms: Option<Summary>,
    /// Fewest joined members found in one response's state and timeline.
    pub members_in_response_min: usize,
    /// Largest response body.
    pub response_bytes_max: usize,
    /// Server CPU time they took, in seconds.
    pub server_cpu_seconds: Option<f64>,
    /// Server VmRSS before them, in MiB.
    pub rss_before_mb: Option<f64>,
    /// Largest server VmRSS sampled every 20 ms meanwhile, in MiB.
    pub rss_peak_mb: Option<f64>,
    /// Server VmRSS right after the last answer, in MiB.
    pub rss_after_mb: Option<f64>,
}

/// One message sent after the initial syncs.
#[derive(Debug, Serialize)]
pub struct MessageAfter {
    /// Time of the send request, in milliseconds.
    pub send_ms: f64,
    /// Server CPU time from the send until one second after its answer.
    pub server_cpu_ms: Option<f64>,
    /// Largest server VmRSS sampled every 20 ms meanwhile, in MiB.
    pub rss_peak_mb: Option<f64>,
    /// Server VmRSS one second after the answer, in MiB.
    pub rss_after_mb: Option<f64>,
}

/// Runs the phase and prints a table of its figures on stderr.
pub async fn run(clients: Clients, settings: &Settings) -> Result<Report> {
    let Clients { creator, joiners } = clients;
    let pid = settings.pid;
    eprintln!("large-room: creating a public room");
    let room = creator.create_public_room().await?;

    eprintln!(
        "large-room: {} joins, {} in flight",
        joiners.len(),
        settings.joins_in_flight
    );
    let mut other_cores_busy = BTreeMap::new();
    let mark = CpuMark::now(pid)?;
    let (joins, joined) = join(&joiners, &room, settings.joins_in_flight).await;
    record_phase(&mut other_cores_busy, "joins", mark, pid)?;
    let members: Vec<Arc<Session>> = joiners
        .iter()
        .zip(&joined)
        .filter(|(_, ok)| **ok)
        .map(|(s, _)| Arc::clone(s))
        .collect();
    let expected: Vec<String> = std::iter::once(&creator)
        .chain(&members)
        .map(|s| s.user_id.clone())
        .collect();
    let rss_after_joins_mb = server_rss_mib(pid)?;
    let membership_after_joins =
        check_membership(&creator, &room, &expected, "after joins").await?;

    let watchers = &members[..settings.watchers.min(members.len())];
    let mark = CpuMark::now(pid)?;
    let fanout = fan_out(&creator, &room, watchers, settings.messages, pid).await?;
    record_phase(&mut other_cores_busy, "fanout", mark, pid)?;

    let syncers = &members[..settings.initial_syncs.min(members.len())];
    let mark = CpuMark::now(pid)?;
    let timeout = settings.initial_sync_timeout;
    let initial_syncs = initial_syncs(syncers, &room, expected.len(), timeout, pid).await?;
    record_phase(&mut other_cores_busy, "initial-syncs", mark, pid)?;
    let message_after = message_after(&creator, &room, pid).await?;
    let membership_at_end = check_membership(&creator, &room, &expected, "at the end").await?;

    if !settings.keep_room {
        eprintln!("large-room: {} members leave", expected.len());
        let start = Instant::now();
        let pairs = std::iter::once(creator)
            .chain(members)
            .map(|s| (s, room.clone()))
            .collect();
        leave_rooms(pairs).await;
        eprintln!("large-room: left in {:.1} s", start.elapsed().as_secs_f64());
    }

    let report = Report {
        room_members: expected.len(),
        joins,
        rss_after_joins_mb,
        membership_after_joins,
        membership_at_end,
        fanout,
        initial_syncs,
        message_after,
        other_cores_busy,
    };
    print_table(&report);
    Ok(report)
}

/// Every joiner joins `room`, `in_flight` at a time. Returns the timing and,
/// per joiner, whether the join succeeded.
async fn join(joiners: &[Arc<Session>], room: &str, in_flight: usize) -> (Joins, Vec<bool>) {
    let room = room.to_owned();
    let results = bounded(joiners.to_vec(), in_flight, move |session| {
        let room = room.clone();
        // Runs once the semaphore lets it: the clock starts with the request.
        async move {
            let start = Instant::now();
            let result = session.join(&room).await;
            (start, Instant::now(), result)
        }
    })
    .await;
    let spans: Vec<(Instant, Instant)> = results.iter().map(|(s, e, _)| (*s, *e)).collect();
    let errors: Vec<String> = results
        .iter()
        .filter_map(|(_, _, r)| r.as_ref().err().map(ToString::to_string))
        .collect();
    if let Some(first) = errors.first() {
        eprintln!("large-room: {} joins failed, first: {first}", errors.len());
    }
    let last = LAST_JOINS.min(spans.len());
    let last_seconds = wall_seconds(&spans[spans.len() - last..]);
    let joins = Joins {
        joins: spans.len(),
        in_flight,
        errors: errors.len(),
        seconds: round3(wall_seconds(&spans)),
        join_ms: Summary::from_samples(&spans.iter().map(|(s, e)| ms(*s, *e)).collect::<Vec<_>>()),
        last,
        last_seconds: round3(last_seconds),
        last_ms_each: round3(last_seconds * 1000.0 / last.max(1) as f64),
    };
    let joined = results.iter().map(|(_, _, r)| r.is_ok()).collect();
    (joins, joined)
}

/// Seconds from the earliest start to the latest end of `spans` (0 if none).
fn wall_seconds(spans: &[(Instant, Instant)]) -> f64 {
    let first = spans.iter().map(|(s, _)| *s).min();
    let last = spans.iter().map(|(_, e)| *e).max();
    first
        .zip(last)
        .map_or(0.0, |(f, l)| l.duration_since(f).as_secs_f64())
}

/// Fetches both member lists of `room` and compares them with `expected`;
/// a mismatch is reported loudly on stderr.
async fn check_membership(
    session: &Session,
    room: &str,
    expected: &[String],
    when: &str,
) -> Result<MembershipCheck> {
    let joined_members = session.joined_members(room).await?;
    let members = session.members_joined(room).await?;
    let check = compare_members(expected, &joined_members, &members);
    if check.ok {
        eprintln!(
            "large-room: membership {when}: {} joined, both lists agree",
            check.expected
        );
    } else {
        eprintln!(
            "large-room: !!! MEMBERSHIP MISMATCH {when}: expected {}, /joined_members {}, \
             /members?membership=join {}; missing from /joined_members {:?}, missing from \
             /members {:?}, unexpected {:?}",
            check.expected,
            check.joined_members,
            check.members,
            check.missing_from_joined_members,
            check.missing_from_members,
            check.unexpected
        );
    }
    Ok(check)
}

/// Compares the two member lists with the expected users.
fn compare_members(
    expected: &[String],
    joined_members: &[String],
    members: &[String],
) -> MembershipCheck {
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let a: BTreeSet<&str> = joined_members.iter().map(String::as_str).collect();
    let b: BTreeSet<&str> = members.iter().map(String::as_str).collect();
    let listed = |set: BTreeSet<&&str>| -> Vec<String> {
        set.into_iter()
            .take(LISTED)
            .map(|u| (*u).to_owned())
            .collect()
    };
    let missing_from_joined_members = listed(want.difference(&a).collect());
    let missing_from_members = listed(want.difference(&b).collect());
    let unexpected = listed(a.union(&b).filter(|u| !want.contains(*u)).collect());
    MembershipCheck {
        expected: want.len(),
        joined_members: joined_members.len(),
        members: members.len(),
        ok: a == want && b == want && joined_members.len() == a.len() && members.len() == b.len(),
        missing_from_joined_members,
        missing_from_members,
        unexpected,
    }
}

/// The watchers long-poll while `messages` messages are sent one at a time.
async fn fan_out(
    sender: &Session,
    room: &str,
    watchers: &[Arc<Session>],
    messages: usize,
    pid: Option<u32>,
) -> Result<Fanout> {
    let n = watchers.len();
    eprintln!("large-room: {n} watchers sync");
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel::<Arrival>();
    // Dropping the JoinSet at the end aborts every poll still in flight.
    let mut tasks = JoinSet::new();
    let mut readies = Vec::with_capacity(n);
    for (tag, session) in watchers.iter().enumerate() {
        let (ready, ready_rx) = oneshot::channel();
        readies.push(ready_rx);
        let watcher = Watcher {
            session: Arc::clone(session),
            room: room.to_owned(),
            prefix: PREFIX,
            tag,
            arrivals: arrivals_tx.clone(),
            ready,
            in_flight: Arc::clone(&in_flight),
        };
        tasks.spawn(watcher.run());
    }
    drop(arrivals_tx);
    let ready_start = Instant::now();
    let deadline = tokio::time::Instant::now() + WATCHERS_READY_TIMEOUT;
    // Watchers whose initial sync failed take no part; messages are only
    // awaited from the others.
    let mut active = vec![false; n];
    for (tag, ready) in readies.into_iter().enumerate() {
        active[tag] = tokio::time::timeout_at(deadline, ready)
            .await
            .map_err(|_| "watchers did not finish their initial syncs in time")?
            .is_ok();
    }
    let watchers_ready_seconds = ready_start.elapsed().as_secs_f64();
    let rss_watchers_ready_mb = server_rss_mib(pid)?;
    let failed = active.iter().filter(|a| !**a).count();
    let n = n - failed;
    eprintln!(
        "large-room: {n} watchers ready in {watchers_ready_seconds:.1} s ({failed} failed); \
         sending {messages} messages"
    );
    let mut deliveries = Vec::with_capacity(n * messages);
    let mut all_watchers = Vec::with_capacity(messages);
    let mut send_ms = Vec::with_capacity(messages);
    let (mut lost, mut in_flight_min) = (0, usize::MAX);
    let mut cpu_before = None;
    for seq in 0..messages {
        wait_for_polls(&in_flight, n).await;
        tokio::time::sleep(SETTLE).await;
        if seq == 0 {
            cpu_before = server_cpu(pid)?;
        }
        in_flight_min = in_flight_min.min(in_flight.load(Ordering::Relaxed));
        let start = Instant::now();
        sender.send_text(room, &format!("{PREFIX}{seq}")).await?;
        send_ms.push(ms(start, Instant::now()));
        // Inactive watchers count as seen: nothing is awaited from them.
        let mut seen: Vec<bool> = active.iter().map(|a| !a).collect();
        let mut count = 0;
        let mut last = start;
        let wait = async {
            while count < n {
                let Some(arrival) = arrivals.recv().await else {
                    break;
                };
                if arrival.seq == seq && !std::mem::replace(&mut seen[arrival.watcher], true) {
                    count += 1;
                    deliveries.push(ms(start, arrival.at));
                    last = last.max(arrival.at);
                }
            }
        };
        // On timeout the deliveries still missing count as lost.
        let _ = tokio::time::timeout(DELIVERY_TIMEOUT, wait).await;
        lost += n - count;
        if count == n {
            all_watchers.push(ms(start, last));
        }
    }
    // Per message in order: a slow one stands out (a warm-up, a checkpoint).
    eprintln!("large-room: until the last watcher, per message (ms): {all_watchers:?}");
    eprintln!("large-room: send request, per message (ms): {send_ms:?}");
    // The watchers' next long-polls belong to the cost of a message.
    wait_for_polls(&in_flight, n).await;
    let cpu = cpu_between(cpu_before, server_cpu(pid)?);
    let rss_after_mb = server_rss_mib(pid)?;
    tasks.shutdown().await;

    let fanout = Fanout {
        watchers: n,
        watchers_failed: failed,
        watchers_ready_seconds: round3(watchers_ready_seconds),
        rss_watchers_ready_mb,
        rss_after_mb,
        messages,
        watchers_in_flight_min: if messages == 0 { 0 } else { in_flight_min },
        delivery_ms: Summary::from_samples(&deliveries),
        all_watchers_ms: Summary::from_samples(&all_watchers),
        lost,
        server_cpu_ms_per_message: cpu.map(|c| ms_each(c, messages)),
    };
    if let Some(d) = &fanout.delivery_ms {
        eprintln!(
            "large-room: delivery p50 {} ms, p99 {} ms, max {} ms, {lost} lost",
            d.p50, d.p99, d.max
        );
    }
    Ok(fanout)
}

/// Waits (at most [`REPOLL_TIMEOUT`]) until `n` long-polls are in flight.
async fn wait_for_polls(in_flight: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + REPOLL_TIMEOUT;
    while in_flight.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every session runs one unfiltered initial /sync, all at once, while the
/// server's RSS is sampled; a response with fewer than `members` joined
/// members in the room's state is reported loudly on stderr.
async fn initial_syncs(
    sessions: &[Arc<Session>],
    room: &str,
    members: usize,
    timeout: Duration,
    pid: Option<u32>,
) -> Result<InitialSyncs> {
    let n = sessions.len();
    eprintln!("large-room: {n} concurrent initial syncs without lazy loading");
    let rss_before_mb = server_rss_mib(pid)?;
    let cpu_before = server_cpu(pid)?;
    let sampler = pid.map(|p| RssSampler::start(p, RSS_INTERVAL));
    let start = Instant::now();
    let room = room.to_owned();
    let results = bounded(sessions.to_vec(), n, move |session| {
        let room = room.clone();
        async move {
            let start = Instant::now();
            let synced = session.initial_sync_unfiltered(timeout).await?;
            Ok::<_, crate::client::Error>((
                ms(start, synced.arrived),
                synced.joined_members(&room),
                synced.bytes,
            ))
        }
    })
    .await;
    let seconds = start.elapsed().as_secs_f64();
    let rss_peak_kib = sampler.map(RssSampler::stop);
    let rss_after_mb = server_rss_mib(pid)?;
    let cpu = cpu_between(cpu_before, server_cpu(pid)?);

    let ok: Vec<(f64, usize, usize)> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!(
            "large-room: {} initial syncs failed, first: {e}",
            n - ok.len()
        );
    }
    let members_in_response_min = ok.iter().map(|r| r.1).min().unwrap_or(0);
    if ok.iter().any(|r| r.1 < members) {
        eprintln!(
            "large-room: !!! INCOMPLETE ROOM STATE: an initial sync listed \
             {members_in_response_min} of {members} joined members"
        );
    }
    let report = InitialSyncs {
        concurrent: n,
        errors: n - ok.len(),
        seconds: round3(seconds),
        sync_ms: Summary::from_samples(&ok.iter().map(|r| r.0).collect::<Vec<_>>()),
        members_in_response_min,
        response_bytes_max: ok.iter().map(|r| r.2).max().unwrap_or(0),
        server_cpu_seconds: cpu.map(|c| round3(c.as_secs_f64())),
        rss_before_mb,
        rss_peak_mb: rss_peak_kib.map(procfs::kib_to_mib),
        rss_after_mb,
    };
    Ok(report)
}

/// One more message after the initial syncs; the server is followed for a
/// second after the answer.
async fn message_after(sender: &Session, room: &str, pid: Option<u32>) -> Result<MessageAfter> {
    eprintln!("large-room: one message after the initial syncs");
    let cpu_before = server_cpu(pid)?;
    let sampler = pid.map(|p| RssSampler::start(p, RSS_INTERVAL));
    let start = Instant::now();
    sender.send_text(room, "after the initial syncs").await?;
    let send_ms = ms(start, Instant::now());
    tokio::time::sleep(AFTER_MESSAGE).await;
    let cpu = cpu_between(cpu_before, server_cpu(pid)?);
    Ok(MessageAfter {
        send_ms: round3(send_ms),
        server_cpu_ms: cpu.map(|c| round3(c.as_secs_f64() * 1000.0)),
        rss_peak_mb: sampler.map(RssSampler::stop).map(procfs::kib_to_mib),
        rss_after_mb: server_rss_mib(pid)?,
    })
}

/// Text of an optional figure with its unit, `–` when absent.
fn show(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v} {unit}"))
}

/// Prints the figures and the goals of the architecture issue on stderr.
fn print_table(r: &Report) {
    let j = &r.joins;
    let f = &r.fanout;
    let s = &r.initial_syncs;
    let m = &r.message_after;
    let summary = |s: &Option<Summary>| {
        s.as_ref().map_or_else(
            || "–".to_owned(),
            |s| format!("p50 {} / p99 {} / max {} ms", s.p50, s.p99, s.max),
        )
    };
    let membership = |c: &MembershipCheck| {
        format!(
            "{} /joined_members {}, /members {} (expected {})",
            if c.ok { "OK" } else { "MISMATCH" },
            c.joined_members,
            c.members,
            c.expected
        )
    };
    let cpu_goal = 2.0 + 0.2 * f.watchers as f64;
    let busy = |step| r.other_cores_busy.get(step).copied();
    let rows = [
        ("room members", r.room_members.to_string(), String::new()),
        (
            "joins: total",
            format!(
                "{} s ({} joins, {} in flight, {} errors)",
                j.seconds, j.joins, j.in_flight, j.errors
            ),
            "≤ 3 s".to_owned(),
        ),
        ("joins: per request", summary(&j.join_ms), String::new()),
        (
            "joins: the last ones",
            format!(
                "{} s for {} ({} ms each)",
                j.last_seconds, j.last, j.last_ms_each
            ),
            String::new(),
        ),
        (
            "membership after joins",
            membership(&r.membership_after_joins),
            "equal".to_owned(),
        ),
        (
            "membership at the end",
            membership(&r.membership_at_end),
            "equal".to_owned(),
        ),
        (
            "fan-out: delivery",
            format!(
                "{} ({} watchers × {} messages, {} lost)",
                summary(&f.delivery_ms),
                f.watchers,
                f.messages,
                f.lost
            ),
            "p99 ≤ 100 ms".to_owned(),
        ),
        (
            "fan-out: until the last watcher",
            summary(&f.all_watchers_ms),
            String::new(),
        ),
        (
            "fan-out: watchers' initial syncs",
            format!(
                "{} s for all at once ({} failed)",
                f.watchers_ready_seconds, f.watchers_failed
            ),
            String::new(),
        ),
        (
            "fan-out: server CPU per message",
            show(f.server_cpu_ms_per_message, "ms"),
            format!("≤ {cpu_goal} ms"),
        ),
        (
            "RSS after joins / watchers ready / messages",
            format!(
                "{} / {} / {}",
                show(r.rss_after_joins_mb, "MB"),
                show(f.rss_watchers_ready_mb, "MB"),
                show(f.rss_after_mb, "MB")
            ),
            String::new(),
        ),
        (
            "initial syncs: time",
            format!(
                "{} ({} at once, {} errors, {} s)",
                summary(&s.sync_ms),
                s.concurrent,
                s.errors,
                s.seconds
            ),
            String::new(),
        ),
        (
            "initial syncs: response",
            format!(
                "{} bytes, ≥ {} members",
                s.response_bytes_max, s.members_in_response_min
            ),
            format!("{} members", r.room_members),
        ),
        (
            "initial syncs: RSS before / peak / after",
            format!(
                "{} / {} / {}",
                show(s.rss_before_mb, "MB"),
                show(s.rss_peak_mb, "MB"),
                show(s.rss_after_mb, "MB")
            ),
            "peak ≤ 150 MB".to_owned(),
        ),
        (
            "initial syncs: server CPU",
            show(s.server_cpu_seconds, "s"),
            String::new(),
        ),
        (
            "message after: send / CPU",
            format!("{} ms / {}", m.send_ms, show(m.server_cpu_ms, "ms")),
            String::new(),
        ),
        (
            "message after: RSS peak / after",
            format!(
                "{} / {}",
                show(m.rss_peak_mb, "MB"),
                show(m.rss_after_mb, "MB")
            ),
            "≤ 150 MB".to_owned(),
        ),
        (
            "other processes' cores: joins / fan-out / syncs",
            format!(
                "{} / {} / {}",
                show(busy("joins"), "cores"),
                show(busy("fanout"), "cores"),
                show(busy("initial-syncs"), "cores")
            ),
            "≈ 0".to_owned(),
        ),
    ];
    let width = rows
        .iter()
        .map(|(k, _, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    eprintln!("large room:");
    for (key, value, goal) in rows {
        let goal = if goal.is_empty() {
            goal
        } else {
            format!("   [goal {goal}]")
        };
        eprintln!("  {key:<width$}  {value}{goal}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn membership_lists_agree() {
        let want = ids(&["@a:x", "@b:x", "@c:x"]);
        let check = compare_members(&want, &ids(&["@c:x", "@a:x", "@b:x"]), &want);
        assert!(check.ok);
        assert_eq!(check.expected, 3);
        assert!(check.missing_from_joined_members.is_empty());
        assert!(check.unexpected.is_empty());
    }

    #[test]
    fn membership_mismatch_is_listed() {
        let want = ids(&["@a:x", "@b:x", "@c:x"]);
        let check = compare_members(
            &want,
            &ids(&["@a:x", "@b:x"]),
            &ids(&["@a:x", "@b:x", "@c:x", "@d:x"]),
        );
        assert!(!check.ok);
        assert_eq!((check.joined_members, check.members), (2, 4));
        assert_eq!(check.missing_from_joined_members, ids(&["@c:x"]));
        assert!(check.missing_from_members.is_empty());
        assert_eq!(check.unexpected, ids(&["@d:x"]));
    }

    #[test]
    fn duplicate_entries_are_a_mismatch() {
        let want = ids(&["@a:x", "@b:x"]);
        let check = compare_members(&want, &want, &ids(&["@a:x", "@b:x", "@b:x"]));
        assert!(!check.ok);
    }

    #[test]
    fn wall_time_of_spans() {
        let t = Instant::now();
        let at = |ms: u64| t + Duration::from_millis(ms);
        let spans = [(at(10), at(50)), (at(0), at(30)), (at(40), at(90))];
        assert!((wall_seconds(&spans) - 0.09).abs() < 1e-9);
        assert_eq!(wall_seconds(&[]), 0.0);
    }
}
