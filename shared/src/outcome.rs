//! The accepted outcomes of a delivery (2xx), beside [`crate::error::WebhookError`], the
//! refused ones.

/// A delivery that was accepted (2xx). `reason()` is the `status` field of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The effect happened now.
    Processed,
    /// The event was processed before; nothing was done again.
    Duplicate,
    /// The change is older than what the mirror holds; recorded, not applied.
    Stale,
    /// An event type this function does not know; acknowledged so Svix stops retrying.
    IgnoredEventType,
}

impl Outcome {
    /// Stable reason, part of the public contract: never rename one.
    pub fn reason(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
            Outcome::IgnoredEventType => "ignored_event_type",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Outcome::Processed => "the event was processed",
            Outcome::Duplicate => "the event was already processed; nothing was done again",
            Outcome::Stale => {
                "a newer change is already stored; the event was recorded and not applied"
            }
            Outcome::IgnoredEventType => "this event type is not handled here and was ignored",
        }
    }
}
