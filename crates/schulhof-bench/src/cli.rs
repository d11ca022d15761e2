//! Command-line interface.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use reqwest::Url;
use serde::Serialize;

const USERS_HELP: &str = "\
USERS FILE:
  One pre-made account per line: `username password`, separated by
  whitespace. `username` is a localpart (alice) or a full user id
  (@alice:bench.test). Blank lines and lines starting with `#` are skipped.
  Every client logs in with its own device (m.login.password); accounts are
  reused with separate logins when a phase needs more clients than there are
  accounts. The latency phase with idle long-polls needs at least 3 accounts
  (sender, receiver, idle); about idle + 2 accounts avoid sharing users.
  The large-room phase needs --members + 1 accounts (one user joins once).

OUTPUT:
  One JSON object on stdout; progress goes to stderr.";

/// Load and latency benchmark for Matrix homeservers (Client-Server API v3).
///
/// Measures send→sync delivery latency while idle /sync long-polls are held
/// open, message throughput of concurrent senders, initial /sync time of a
/// user in many rooms, a public room with many members (large-room, run on
/// its own: `--phases large-room`) and, with --pid, the server process's CPU
/// and memory.
/// Only loopback homeservers are accepted.
#[derive(Debug, Parser)]
#[command(name = "schulhof-bench", version, after_help = USERS_HELP)]
pub struct Args {
    /// Homeserver base URL on a loopback address, e.g. http://127.0.0.1:8448.
    #[arg(long, value_parser = parse_loopback_url)]
    pub hs: Url,

    /// Users file with pre-made accounts, one `username password` per line.
    #[arg(long)]
    pub users: PathBuf,

    /// PID of the homeserver process, to report its CPU time and memory.
    #[arg(long)]
    pub pid: Option<u32>,

    /// Phases to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "latency,throughput,initial-sync"
    )]
    pub phases: Vec<Phase>,

    /// Idle /sync long-polls held open during the latency phase.
    #[arg(long, default_value_t = 200)]
    pub idle: usize,

    /// Latency samples (sequential messages, after 10 warm-up messages).
    #[arg(long, default_value_t = 500)]
    pub samples: usize,

    /// Pause between latency samples, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub pause_ms: u64,

    /// Concurrent senders in the throughput phase, each in its own room.
    #[arg(long, default_value_t = 50)]
    pub senders: usize,

    /// Messages to send in the throughput phase, in total over all senders.
    #[arg(long, default_value_t = 20_000)]
    pub messages: usize,

    /// Upper bound on the throughput phase, in seconds; it ends at whichever
    /// of --messages and --duration-secs comes first.
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,

    /// Rooms the initial-sync user is put in.
    #[arg(long, default_value_t = 50)]
    pub initial_sync_rooms: usize,

    /// Messages sent into each of those rooms.
    #[arg(long, default_value_t = 100)]
    pub initial_sync_messages: usize,

    /// Timed initial /sync requests.
    #[arg(long, default_value_t = 10)]
    pub initial_sync_repeats: usize,

    /// Large-room phase: users who join the public room (besides its
    /// creator); needs one account more than this.
    #[arg(long, default_value_t = 1500)]
    pub members: usize,

    /// Large-room phase: joins in flight at once.
    #[arg(long, default_value_t = 8)]
    pub joins_in_flight: usize,

    /// Large-room phase: members long-polling /sync while messages are sent.
    #[arg(long, default_value_t = 200)]
    pub watchers: usize,

    /// Large-room phase: messages sent one at a time to the watchers.
    #[arg(long, default_value_t = 20)]
    pub room_messages: usize,

    /// Large-room phase: concurrent initial syncs without lazy loading.
    #[arg(long, default_value_t = 200)]
    pub initial_syncs: usize,

    /// Large-room phase: upper bound on each of those initial syncs, in seconds.
    #[arg(long, default_value_t = 300)]
    pub initial_sync_timeout_secs: u64,

    /// Large-room phase: keep the room (members do not leave at the end).
    #[arg(long)]
    pub keep_room: bool,
}

/// A benchmark phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Send→sync delivery latency with idle long-polls.
    Latency,
    /// Aggregate message throughput of concurrent senders.
    Throughput,
    /// Initial /sync time of a user in many rooms.
    InitialSync,
    /// A public room with many members: joins, fan-out to long-polling
    /// members, concurrent initial syncs without lazy loading.
    LargeRoom,
}

/// Parses an `http://` URL and rejects hosts that are not loopback.
fn parse_loopback_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| e.to_string())?;
    if url.scheme() != "http" {
        return Err("only plain http:// is supported".into());
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("{host} is not a loopback address"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_only() {
        assert!(parse_loopback_url("http://127.0.0.1:8448").is_ok());
        assert!(parse_loopback_url("http://127.1.2.3:8008/").is_ok());
        assert!(parse_loopback_url("http://localhost:8008").is_ok());
        assert!(parse_loopback_url("http://[::1]:8008").is_ok());
        assert!(parse_loopback_url("http://192.168.1.1:8008").is_err());
        assert!(parse_loopback_url("http://example.org").is_err());
        assert!(parse_loopback_url("https://127.0.0.1").is_err());
    }

    /// The arguments of a run against a loopback server with `--phases phases`.
    fn parse_phases(phases: &str) -> Args {
        Args::parse_from([
            "schulhof-bench",
            "--hs",
            "http://127.0.0.1:8448",
            "--users",
            "u.txt",
            "--phases",
            phases,
        ])
    }

    #[test]
    fn parses_phases() {
        let args = parse_phases("throughput,initial-sync");
        assert_eq!(args.phases, vec![Phase::Throughput, Phase::InitialSync]);
        assert_eq!(args.idle, 200);
    }

    #[test]
    fn large_room_defaults() {
        let args = parse_phases("large-room");
        assert_eq!(args.phases, vec![Phase::LargeRoom]);
        assert_eq!(
            (args.members, args.joins_in_flight, args.watchers),
            (1500, 8, 200)
        );
        assert_eq!((args.room_messages, args.initial_syncs), (20, 200));
        assert!(!args.keep_room);
    }
}
