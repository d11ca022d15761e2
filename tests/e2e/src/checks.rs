//! Soft assertions: run many independent checks and report every failure at once.

use std::future::Future;

use anyhow::{bail, Result};

/// Collects the outcomes of named checks.
#[derive(Default)]
pub struct Checks {
    total: usize,
    failures: Vec<String>,
}

impl Checks {
    /// Runs one check and records its failure, if any.
    pub async fn check(&mut self, name: &str, check: impl Future<Output = Result<()>>) {
        self.total += 1;
        if let Err(error) = check.await {
            self.failures.push(format!("{name}: {error:#}"));
        }
    }

    /// Fails listing every failed check.
    pub fn finish(self) -> Result<()> {
        if !self.failures.is_empty() {
            bail!(
                "{} of {} checks failed:\n  {}",
                self.failures.len(),
                self.total,
                self.failures.join("\n  ")
            );
        }
        Ok(())
    }
}
