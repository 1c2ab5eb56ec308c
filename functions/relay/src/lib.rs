//! The voucher relay (issue 16): an SQS-triggered function on the loyalty and promotion queues
//! that POSTs each message, signed and with an idempotency key, to the retailer's voucher
//! service, and answers Lambda with the messages to try again (`ReportBatchItemFailures`).
//! The pure part (signing, verdicts, backoff, metric line) is `engage_webhooks::relay`; this
//! crate holds the I/O. See `docs/relay.md`.

mod batch;
mod config;
mod downstream;
mod queues;

pub use batch::Relay;
pub use config::{
    RelayConfigError, RelaySettings, FIRST_RETRY_SECONDS, MAX_CONCURRENCY, RATE_PER_SECOND,
    RELAY_SECRET_ARN, REQUEST_TIMEOUT_MS, VOUCHER_SERVICE_URL,
};
pub use downstream::VoucherService;
pub use queues::{QueuePair, Queues};
