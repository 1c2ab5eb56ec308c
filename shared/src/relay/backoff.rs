//! Exponential backoff by the message's receive count: the failed message's visibility is set
//! to this, so the queue itself holds it back (no sleeping in a billed invocation).

use std::time::Duration;

pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(10);
/// SQS allows up to 12 h; 15 min keeps a recovered service catching up quickly.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

/// `first` after the first receive (default [`FIRST_RETRY_DELAY`]), doubling per receive, at
/// most 15 min.
pub fn retry_delay(first: Duration, receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(16);
    first.saturating_mul(1u32 << doublings).min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        assert_eq!(retry_delay(FIRST_RETRY_DELAY, 1), Duration::from_secs(10));
        assert_eq!(retry_delay(FIRST_RETRY_DELAY, 2), Duration::from_secs(20));
        assert_eq!(retry_delay(FIRST_RETRY_DELAY, 4), Duration::from_secs(80));
        assert_eq!(retry_delay(FIRST_RETRY_DELAY, 40), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(FIRST_RETRY_DELAY, 0), FIRST_RETRY_DELAY);
    }
}
