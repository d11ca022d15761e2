//! Token-bucket rate limits per user or client address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimitConfig;
use crate::{Error, Result};

/// Rate limiter for general requests and for login attempts.
pub struct RateLimiter {
    config: RateLimitConfig,
    requests: Mutex<HashMap<String, Bucket>>,
    logins: Mutex<HashMap<String, Bucket>>,
    login_addresses: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

fn take(
    buckets: &Mutex<HashMap<String, Bucket>>,
    key: &str,
    per_second: f64,
    burst: f64,
) -> Result<()> {
    let mut buckets = buckets.lock().expect("rate limit lock");
    let now = Instant::now();
    if buckets.len() > 100_000 {
        buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() * per_second < burst);
    }
    let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
        tokens: burst,
        updated: now,
    });
    bucket.tokens =
        (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second).min(burst);
    bucket.updated = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else {
        let wait = (1.0 - bucket.tokens) / per_second;
        Err(Error::LimitExceeded {
            retry_after_ms: (wait * 1000.0).ceil() as u64,
        })
    }
}

impl RateLimiter {
    /// A limiter with these settings.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            requests: Mutex::default(),
            logins: Mutex::default(),
            login_addresses: Mutex::default(),
        }
    }

    /// Counts one rate-limited request of `key` (user ID or address).
    pub fn check_request(&self, key: &str) -> Result<()> {
        if !self.config.enabled {
            return Ok(());
        }
        take(
            &self.requests,
            key,
            self.config.per_second,
            self.config.burst,
        )
    }

    /// Counts one password or start-code attempt for an account.
    pub fn check_login(&self, account: &str) -> Result<()> {
        if !self.config.enabled {
            return Ok(());
        }
        let c = &self.config;
        take(&self.logins, account, c.login_per_second, c.login_burst)
    }

    /// Counts one password or start-code attempt from a client address (a school's whole
    /// network may share one address, so this bucket is larger than an account's).
    pub fn check_login_address(&self, address: &str) -> Result<()> {
        if !self.config.enabled {
            return Ok(());
        }
        let c = &self.config;
        take(
            &self.login_addresses,
            address,
            c.login_address_per_second,
            c.login_address_burst,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_with_retry_after() {
        let limiter = RateLimiter::new(RateLimitConfig {
            burst: 2.0,
            per_second: 1.0,
            ..Default::default()
        });
        limiter.check_request("a").unwrap();
        limiter.check_request("a").unwrap();
        match limiter.check_request("a") {
            Err(Error::LimitExceeded { retry_after_ms }) => {
                assert!(retry_after_ms > 0 && retry_after_ms <= 1000)
            }
            other => panic!("expected limit, got {other:?}"),
        }
        limiter.check_request("b").unwrap();
    }

    #[test]
    fn disabled_never_limits() {
        let limiter = RateLimiter::new(RateLimitConfig {
            enabled: false,
            burst: 1.0,
            ..Default::default()
        });
        for _ in 0..10 {
            limiter.check_request("a").unwrap();
        }
    }
}
