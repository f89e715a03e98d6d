//! Exponential backoff for transient failures.

use std::time::Duration;

/// How often and how patiently a request is retried.
///
/// Attempt `n` (1-based) that fails with a retryable cause is followed by a
/// sleep of `min(initial_backoff * 2^(n-1), max_backoff)` (or the server's
/// `Retry-After` on a 429/503, if longer, still capped by `max_backoff`),
/// until `max_attempts` attempts were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first; 0 is treated as 1.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 250 ms doubling to at most 8 s (about 4 s of waiting in all).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    pub fn new(max_attempts: u32, initial_backoff: Duration, max_backoff: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            initial_backoff,
            max_backoff,
        }
    }

    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO)
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// Sleep after failed attempt `attempt` (1-based).
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        let exp = self.initial_backoff.saturating_mul(1u32 << shift);
        exp.max(retry_after.unwrap_or(Duration::ZERO))
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::new(10, Duration::from_millis(100), Duration::from_millis(500));
        let b: Vec<u128> = (1..=5).map(|a| p.backoff(a, None).as_millis()).collect();
        assert_eq!(b, [100, 200, 400, 500, 500]);
        assert_eq!(
            p.backoff(1, Some(Duration::from_millis(300))).as_millis(),
            300
        );
        assert_eq!(p.backoff(1, Some(Duration::from_secs(60))).as_millis(), 500);
        assert_eq!(p.backoff(u32::MAX, None).as_millis(), 500);
        assert_eq!(
            RetryPolicy::new(0, Duration::ZERO, Duration::ZERO).attempts(),
            1
        );
    }
}
