//! When a failed job runs again: exponential backoff with jitter, capped, and dead after
//! its last attempt. Pure: the caller passes the jitter draw.

/// The first retry waits about this long; each further one doubles it.
pub const BASE_DELAY_MS: i64 = 30_000;
/// No retry waits longer than this.
pub const MAX_DELAY_MS: i64 = 6 * 3_600_000;
/// Attempts before a job is dead, unless the job says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// The delay before attempt `attempts + 1`, after `attempts` failed runs (1-based), or
/// `None` when that was the last allowed attempt. `jitter` in [0, 1) spreads retries over
/// the upper half of the window ("equal jitter"), so a burst of failures does not come back
/// as a burst.
pub fn retry_delay(attempts: i32, max_attempts: i32, jitter: f64) -> Option<i64> {
    if attempts >= max_attempts {
        return None;
    }
    let exp = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    let window = BASE_DELAY_MS.saturating_mul(1i64 << exp).min(MAX_DELAY_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    Some(window / 2 + (window as f64 / 2.0 * jitter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_caps_and_ends() {
        assert_eq!(retry_delay(1, 8, 0.0), Some(15_000));
        assert_eq!(retry_delay(1, 8, 0.999_999), Some(29_999));
        assert_eq!(retry_delay(2, 8, 0.0), Some(30_000));
        assert_eq!(retry_delay(3, 8, 0.5), Some(90_000));
        assert_eq!(retry_delay(20, 30, 0.0), Some(MAX_DELAY_MS / 2));
        assert_eq!(retry_delay(8, 8, 0.5), None);
        assert_eq!(retry_delay(9, 8, 0.5), None);
    }
}
