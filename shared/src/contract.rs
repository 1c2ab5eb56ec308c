//! The named constants of the webhook contract, in one place: the header names a Svix
//! delivery carries, and the limits every function applies.

use std::time::Duration;

/// The message id: the same on every retry of one message.
pub const SVIX_ID: &str = "svix-id";
/// The attempt's signed timestamp, Unix seconds.
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
/// One or more space-separated `v1,<base64>` signatures.
pub const SVIX_SIGNATURE: &str = "svix-signature";
/// The same three under the Standard Webhooks names, which Svix also accepts and sends.
pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// The content type of every answer.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Larger bodies are refused (413) before the signature is even computed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How long an IN_PROGRESS claim stays another delivery's when the invocation's deadline is
/// unknown (tests, or a runtime without one): longer than Svix's 15 s request timeout.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(20);
