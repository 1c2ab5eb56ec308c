//! The clock: the one place that reads the system time, and the claim lease derived from it.

use crate::contract::DEFAULT_LEASE;
use lambda_http::{Request, RequestExt};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Until when this invocation may hold a claim: its Lambda deadline (after which the runtime
/// has killed it), else [`DEFAULT_LEASE`] from now.
pub fn lease_until_millis(req: &Request) -> i64 {
    match req.lambda_context_ref() {
        Some(ctx) if ctx.deadline > 0 => ctx.deadline as i64,
        _ => now_millis() + DEFAULT_LEASE.as_millis() as i64,
    }
}
