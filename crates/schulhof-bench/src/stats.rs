//! Percentile statistics over measured samples.

use std::time::{Duration, Instant};

use serde::Serialize;

/// Distribution summary of a set of samples, in the samples' unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Median (nearest-rank).
    pub p50: f64,
    /// 95th percentile (nearest-rank).
    pub p95: f64,
    /// 99th percentile (nearest-rank).
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none. Values are rounded
    /// to three decimals. NaN samples are ignored.
    pub fn from_samples(samples: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            p50: round3(percentile(&sorted, 50.0)),
            p95: round3(percentile(&sorted, 95.0)),
            p99: round3(percentile(&sorted, 99.0)),
            max: round3(sorted[sorted.len() - 1]),
            samples: sorted.len(),
        })
    }
}

/// Nearest-rank percentile `p` (0–100) of an ascending, non-empty slice:
/// the smallest sample such that at least `p` % of samples are ≤ it.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of an empty slice");
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Rounds to three decimal places (microsecond resolution for milliseconds).
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Milliseconds from `start` to `end` (0 if `end` is earlier), unrounded: a sample.
pub fn ms(start: Instant, end: Instant) -> f64 {
    end.saturating_duration_since(start).as_secs_f64() * 1000.0
}

/// `total` shared out over `count` items (at least one), in milliseconds, rounded.
pub fn ms_each(total: Duration, count: usize) -> f64 {
    round3(total.as_secs_f64() * 1000.0 / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
    }

    #[test]
    fn percentile_small_sets() {
        assert_eq!(percentile(&[7.0], 50.0), 7.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), 2.0);
        assert_eq!(percentile(&v, 51.0), 3.0);
        assert_eq!(percentile(&v, 99.0), 4.0);
    }

    #[test]
    fn percentile_clamps_out_of_range() {
        let v = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&v, -5.0), 1.0);
        assert_eq!(percentile(&v, 250.0), 3.0);
    }

    #[test]
    fn summary_sorts_and_rounds() {
        let s = Summary::from_samples(&[3.33333, 1.0, 2.0, f64::NAN]).unwrap();
        assert_eq!(s.samples, 3);
        assert_eq!(s.p50, 2.0);
        assert_eq!(s.p99, 3.333);
        assert_eq!(s.max, 3.333);
    }

    #[test]
    fn summary_of_nothing() {
        assert_eq!(Summary::from_samples(&[]), None);
        assert_eq!(Summary::from_samples(&[f64::NAN]), None);
    }

    #[test]
    fn summary_of_1000_samples() {
        let v: Vec<f64> = (0..1000).rev().map(|i| f64::from(i) / 10.0).collect();
        let s = Summary::from_samples(&v).unwrap();
        assert_eq!(s.p50, 49.9);
        assert_eq!(s.p95, 94.9);
        assert_eq!(s.p99, 98.9);
        assert_eq!(s.max, 99.9);
    }

    #[test]
    fn milliseconds() {
        let t = Instant::now();
        assert_eq!(ms(t, t + Duration::from_micros(1500)), 1.5);
        assert_eq!(ms(t + Duration::from_millis(1), t), 0.0);
        assert_eq!(ms_each(Duration::from_millis(100), 3), 33.333);
        assert_eq!(ms_each(Duration::from_millis(7), 0), 7.0);
    }
}
