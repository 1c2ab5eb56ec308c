//! The voucher relay's pure part (issue 16): the signed, idempotent request built from one queue
//! message, what a voucher service's answer means for that message, how long a failed message
//! waits before its next try, and the relay's EMF metric line. The I/O (SQS, HTTPS) lives in
//! `functions/relay`. See `docs/relay.md`.

mod backoff;
mod emf;
mod request;
mod verdict;

pub use backoff::{retry_delay, FIRST_RETRY_DELAY, MAX_RETRY_DELAY};
pub use emf::{metric_line, RELAY_FAMILY};
pub use request::{RelayError, VoucherRequest, VoucherSigner, IDEMPOTENCY_KEY};
pub use verdict::Verdict;
