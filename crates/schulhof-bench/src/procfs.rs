//! CPU and memory figures of the server process, read from `/proc`.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

/// Clock ticks per second of `utime`/`stime` in `/proc/PID/stat`. Linux
/// fixes USER_HZ at 100 on every mainstream architecture.
const TICKS_PER_SEC: u64 = 100;

/// CPU time (user + system, all threads) the process has used so far.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_stat_ticks(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/PID/stat"))?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SEC))
}

/// Busy CPU time of the whole machine, summed over all CPUs.
pub fn system_busy_time() -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let ticks = parse_system_busy_ticks(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/stat"))?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SEC))
}

/// A `kB` field (e.g. `VmRSS`, `VmHWM`) of `/proc/PID/status`, in KiB.
pub fn status_kib(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_kib(&status, field).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{field} missing in /proc/{pid}/status"),
        )
    })
}

/// CPU time the server process has used so far; `None` without its PID.
pub fn server_cpu(pid: Option<u32>) -> io::Result<Option<Duration>> {
    pid.map(cpu_time).transpose()
}

/// CPU time between two readings of [`server_cpu`]; `None` if either is missing.
pub fn cpu_between(before: Option<Duration>, after: Option<Duration>) -> Option<Duration> {
    before.zip(after).map(|(b, a)| a.saturating_sub(b))
}

/// The server process's `VmRSS` now, in MiB; `None` without its PID.
pub fn server_rss_mib(pid: Option<u32>) -> io::Result<Option<f64>> {
    Ok(pid
        .map(|p| status_kib(p, "VmRSS"))
        .transpose()?
        .map(kib_to_mib))
}

/// Converts KiB to MiB, rounded to one decimal.
pub fn kib_to_mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

/// `utime + stime` in clock ticks from the text of `/proc/PID/stat`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces; fields after it start at 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// user + nice + system + irq + softirq + steal ticks from `/proc/stat`.
fn parse_system_busy_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let idle_and_iowait = fields.get(3)? + fields.get(4)?;
    Some(fields.iter().take(8).sum::<u64>() - idle_and_iowait)
}

/// Value in KiB of `field` from the text of `/proc/PID/status`.
fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Background sampler recording the largest `VmRSS` seen while it runs.
pub struct RssSampler {
    max_kib: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl RssSampler {
    /// Starts sampling `pid` every `interval`; the sampler ends by itself
    /// when the process disappears.
    pub fn start(pid: u32, interval: Duration) -> Self {
        let max_kib = Arc::new(AtomicU64::new(0));
        let max = Arc::clone(&max_kib);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                match status_kib(pid, "VmRSS") {
                    Ok(kib) => {
                        max.fetch_max(kib, Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
            }
        });
        Self { max_kib, task }
    }

    /// Stops sampling and returns the largest `VmRSS` seen, in KiB.
    pub fn stop(self) -> u64 {
        self.task.abort();
        self.max_kib.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_with_spaces_in_name() {
        let stat = "1234 (python3 -m x) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    250 75 0 0 20 0 4 0 12345 1000000 2500 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(325));
    }

    #[test]
    fn stat_ticks_malformed() {
        assert_eq!(parse_stat_ticks("garbage"), None);
        assert_eq!(parse_stat_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn system_busy_ticks() {
        let stat = "cpu  100 5 20 1000 50 3 2 1 0 0\ncpu0 50 2 10 500 25 1 1 0 0 0\n";
        assert_eq!(parse_system_busy_ticks(stat), Some(131));
        assert_eq!(parse_system_busy_ticks("intr 1 2\n"), None);
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tsynapse\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(102_400));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(204_800));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        assert_eq!(kib_to_mib(102_400), 100.0);
    }

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(status_kib(pid, "VmRSS").unwrap() > 0);
        cpu_time(pid).unwrap();
        system_busy_time().unwrap();
    }

    #[test]
    fn server_figures_need_a_pid() {
        assert_eq!(server_cpu(None).unwrap(), None);
        assert_eq!(server_rss_mib(None).unwrap(), None);
        let own = Some(std::process::id());
        assert!(server_cpu(own).unwrap().is_some());
        assert!(server_rss_mib(own).unwrap().unwrap() > 0.0);
        let s = Duration::from_secs;
        assert_eq!(cpu_between(Some(s(2)), Some(s(5))), Some(s(3)));
        assert_eq!(cpu_between(Some(s(5)), Some(s(2))), Some(Duration::ZERO));
        assert_eq!(cpu_between(None, Some(s(5))), None);
    }
}
