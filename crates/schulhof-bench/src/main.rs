//! `schulhof-bench`: load and latency benchmark for any Matrix homeserver
//! (Client-Server API v3) on a loopback address, using pre-made accounts.
//! Prints one JSON object with the results on stdout.

mod cli;
mod client;
mod phases;
mod procfs;
mod stats;
mod users;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;

use cli::{Args, Phase};
use client::{Http, Result, Session};
use phases::{all_ok, bounded, initial_sync, large_room, latency, throughput};
use stats::{ms_each, round3, Summary};
use users::Account;

/// Concurrent logins (password hashing makes them CPU-heavy on the server).
const LOGIN_CONCURRENCY: usize = 4;

/// Everything the benchmark prints.
#[derive(Serialize)]
struct Report {
    homeserver: String,
    accounts: usize,
    phases: Vec<Phase>,
    delivery_latency_ms: Option<Summary>,
    latency: Option<latency::Report>,
    throughput: Option<throughput::Report>,
    initial_sync_ms: Option<Summary>,
    initial_sync: Option<initial_sync::Report>,
    large_room: Option<large_room::Report>,
    server: Option<ServerReport>,
    host: HostReport,
}

/// CPU use on the machine while the phases ran, to judge interference.
#[derive(Serialize)]
struct HostReport {
    /// CPUs available to the benchmark.
    cpus: usize,
    /// Average cores the benchmark itself used.
    bench_cores_busy: f64,
    /// Average cores used by processes other than the benchmark and the
    /// server (needs --pid); should be near 0 for a clean measurement.
    other_cores_busy: Option<f64>,
    /// `other_cores_busy` during each phase (needs --pid).
    other_cores_busy_by_phase: BTreeMap<&'static str, f64>,
}

/// CPU counters at one moment.
struct CpuMark {
    at: Instant,
    system: Duration,
    bench: Duration,
    server: Option<Duration>,
}

impl CpuMark {
    fn now(pid: Option<u32>) -> Result<Self> {
        Ok(Self {
            at: Instant::now(),
            system: procfs::system_busy_time()?,
            bench: procfs::cpu_time(std::process::id())?,
            server: procfs::server_cpu(pid)?,
        })
    }

    fn seconds_until(&self, end: &CpuMark) -> f64 {
        end.at.duration_since(self.at).as_secs_f64().max(1e-9)
    }

    /// Average cores the benchmark used from `self` until `end`.
    fn bench_cores_busy(&self, end: &CpuMark) -> f64 {
        let bench = end.bench.saturating_sub(self.bench);
        round3(bench.as_secs_f64() / self.seconds_until(end))
    }

    /// Average cores other processes used from `self` until `end`; `None`
    /// without a server PID.
    fn other_cores_busy(&self, end: &CpuMark) -> Option<f64> {
        let bench = end.bench.saturating_sub(self.bench);
        let known = bench + procfs::cpu_between(self.server, end.server)?;
        let others = end.system.saturating_sub(self.system).saturating_sub(known);
        Some(round3(others.as_secs_f64() / self.seconds_until(end)))
    }
}

/// Records `other_cores_busy` of the phase that started at `start`.
fn record_phase(
    by_phase: &mut BTreeMap<&'static str, f64>,
    phase: &'static str,
    start: CpuMark,
    pid: Option<u32>,
) -> Result<()> {
    if let Some(other) = start.other_cores_busy(&CpuMark::now(pid)?) {
        by_phase.insert(phase, other);
    }
    Ok(())
}

/// CPU and memory of the homeserver process (`--pid`).
#[derive(Serialize)]
struct ServerReport {
    pid: u32,
    /// Server CPU time per accepted message in the throughput phase.
    cpu_ms_per_message: Option<f64>,
    /// Average server cores busy during the throughput phase.
    cpu_cores_busy: Option<f64>,
    /// VmRSS after all clients logged in, before any load.
    idle_rss_mb: f64,
    /// Largest VmRSS sampled (every 100 ms) while the phases ran.
    rss_under_load_mb: f64,
    /// Largest of VmHWM at the end and `rss_under_load_mb`.
    peak_rss_mb: f64,
}

/// Sessions per phase, each with its own device login.
struct Clients {
    latency: Option<latency::Clients>,
    throughput: Vec<Arc<Session>>,
    initial_sync: Option<Arc<Session>>,
    large_room: Option<large_room::Clients>,
}

impl Clients {
    fn all(&self) -> Vec<Arc<Session>> {
        let mut all = self.throughput.clone();
        if let Some(l) = &self.latency {
            all.extend([l.sender.clone(), l.receiver.clone()]);
            all.extend(l.idle.iter().cloned());
        }
        all.extend(self.initial_sync.clone());
        if let Some(l) = &self.large_room {
            all.push(l.creator.clone());
            all.extend(l.joiners.iter().cloned());
        }
        all
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

async fn run(args: Args) -> Result<Report> {
    let text = std::fs::read_to_string(&args.users)
        .map_err(|e| format!("{}: {e}", args.users.display()))?;
    let accounts = users::parse(&text)?;
    if accounts.is_empty() {
        return Err("the users file has no accounts".into());
    }
    let http = Http::new(args.hs.clone())?;
    let clients = login(&http, &accounts, &args).await?;
    let result = run_phases(&args, accounts.len(), &clients).await;
    eprintln!("logging out");
    let failed = bounded(clients.all(), 16, |s| async move { s.logout().await })
        .await
        .into_iter()
        .filter(Result::is_err)
        .count();
    if failed > 0 {
        eprintln!("warning: {failed} sessions could not log out");
    }
    result
}

/// Logs in one device per client the selected phases need.
async fn login(http: &Http, accounts: &[Account], args: &Args) -> Result<Clients> {
    let n = accounts.len();
    let wants = |p| args.phases.contains(&p);
    let mut plan: Vec<Account> = Vec::new();
    let idle = if wants(Phase::Latency) {
        if n < 2 || (args.idle > 0 && n < 3) {
            return Err("the latency phase needs at least 3 accounts (2 without --idle)".into());
        }
        // Idle clients never share a user with sender or receiver, so the
        // measured messages cannot wake them.
        plan.extend(accounts[..2].iter().cloned());
        plan.extend((0..args.idle).map(|i| accounts[2 + i % (n - 2)].clone()));
        args.idle
    } else {
        0
    };
    if wants(Phase::Throughput) {
        if args.senders == 0 {
            return Err("the throughput phase needs --senders ≥ 1".into());
        }
        plan.extend((0..args.senders).map(|i| accounts[i % n].clone()));
    }
    if wants(Phase::InitialSync) {
        plan.extend(accounts.last().cloned());
    }
    if wants(Phase::LargeRoom) {
        if n <= args.members {
            return Err(format!(
                "the large-room phase needs --members + 1 = {} accounts, the users file has {n}",
                args.members + 1
            )
            .into());
        }
        // The creator and every joiner are users of their own.
        plan.extend(accounts[..=args.members].iter().cloned());
    }

    eprintln!("logging in {} clients", plan.len());
    let http_owned = http.clone();
    let sessions = all_ok(
        bounded(plan, LOGIN_CONCURRENCY, move |account| {
            let http = http_owned.clone();
            async move {
                http.login(&account)
                    .await
                    .map(Arc::new)
                    .map_err(|e| format!("login {}: {e}", account.user).into())
            }
        })
        .await,
    )?;
    let mut rest = sessions.into_iter();
    let latency = wants(Phase::Latency).then(|| {
        let sender = rest.next().expect("planned");
        let receiver = rest.next().expect("planned");
        let idle = rest.by_ref().take(idle).collect();
        latency::Clients {
            sender,
            receiver,
            idle,
        }
    });
    let throughput = if wants(Phase::Throughput) {
        rest.by_ref().take(args.senders).collect()
    } else {
        Vec::new()
    };
    let initial_sync = if wants(Phase::InitialSync) {
        rest.next()
    } else {
        None
    };
    let large_room = wants(Phase::LargeRoom).then(|| large_room::Clients {
        creator: rest.next().expect("planned"),
        joiners: rest.collect(),
    });
    Ok(Clients {
        latency,
        throughput,
        initial_sync,
        large_room,
    })
}

/// Runs the selected phases in a fixed order and measures the server.
async fn run_phases(args: &Args, accounts: usize, clients: &Clients) -> Result<Report> {
    let idle_rss = args
        .pid
        .map(|pid| procfs::status_kib(pid, "VmRSS"))
        .transpose()
        .map_err(|e| format!("reading /proc for --pid: {e}"))?;
    let sampler = args
        .pid
        .map(|pid| procfs::RssSampler::start(pid, Duration::from_millis(100)));
    let cpu_start = CpuMark::now(args.pid)?;

    let mut by_phase = BTreeMap::new();
    let (mut delivery_latency_ms, mut latency) = (None, None);
    if let Some(l) = &clients.latency {
        let mark = CpuMark::now(args.pid)?;
        let pause = Duration::from_millis(args.pause_ms);
        let (summary, details) = latency::run(l.clone(), args.samples, pause).await?;
        (delivery_latency_ms, latency) = (summary, Some(details));
        record_phase(&mut by_phase, "latency", mark, args.pid)?;
    }
    let (mut throughput, mut cpu) = (None, None);
    if !clients.throughput.is_empty() {
        let mark = CpuMark::now(args.pid)?;
        let duration = Duration::from_secs(args.duration_secs);
        let senders = clients.throughput.clone();
        let (t, c) = throughput::run(senders, args.messages, duration, args.pid).await?;
        cpu = c.map(|c| (c, t.messages, t.seconds));
        throughput = Some(t);
        record_phase(&mut by_phase, "throughput", mark, args.pid)?;
    }
    let (mut initial_sync_ms, mut initial_sync) = (None, None);
    if let Some(s) = &clients.initial_sync {
        let mark = CpuMark::now(args.pid)?;
        let (summary, details) = initial_sync::run(
            s.clone(),
            args.initial_sync_rooms,
            args.initial_sync_messages,
            args.initial_sync_repeats,
        )
        .await?;
        (initial_sync_ms, initial_sync) = (summary, Some(details));
        record_phase(&mut by_phase, "initial-sync", mark, args.pid)?;
    }
    let mut large_room = None;
    if let Some(l) = &clients.large_room {
        let mark = CpuMark::now(args.pid)?;
        let settings = large_room::Settings {
            joins_in_flight: args.joins_in_flight,
            watchers: args.watchers,
            messages: args.room_messages,
            initial_syncs: args.initial_syncs,
            initial_sync_timeout: Duration::from_secs(args.initial_sync_timeout_secs),
            keep_room: args.keep_room,
            pid: args.pid,
        };
        large_room = Some(large_room::run(l.clone(), &settings).await?);
        record_phase(&mut by_phase, "large-room", mark, args.pid)?;
    }

    let end = CpuMark::now(args.pid)?;
    let host = HostReport {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        bench_cores_busy: cpu_start.bench_cores_busy(&end),
        other_cores_busy: cpu_start.other_cores_busy(&end),
        other_cores_busy_by_phase: by_phase,
    };
    let mut server = None;
    if let (Some(pid), Some(idle_rss), Some(sampler)) = (args.pid, idle_rss, sampler) {
        let under_load = sampler.stop();
        let hwm = procfs::status_kib(pid, "VmHWM")?;
        server = Some(ServerReport {
            pid,
            cpu_ms_per_message: cpu.map(|(c, m, _)| ms_each(c, m)),
            cpu_cores_busy: cpu.map(|(c, _, s)| round3(c.as_secs_f64() / s)),
            idle_rss_mb: procfs::kib_to_mib(idle_rss),
            rss_under_load_mb: procfs::kib_to_mib(under_load),
            peak_rss_mb: procfs::kib_to_mib(hwm.max(under_load)),
        });
    }
    Ok(Report {
        homeserver: args.hs.to_string(),
        accounts,
        phases: args.phases.clone(),
        delivery_latency_ms,
        latency,
        throughput,
        initial_sync_ms,
        initial_sync,
        large_room,
        server,
        host,
    })
}
