//! What the voucher service's answer means for the message.

/// The fate of one message after one try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: done, SQS deletes it.
    Relayed,
    /// 5xx, 429, 408, 425, 409 (a concurrent try holds the key), a 3xx, a timeout or a
    /// connection failure: it may succeed later, so the message returns to the queue.
    Retry,
    /// Any other 4xx: the service refuses this request and will again; the DLQ at once.
    Permanent,
}

impl Verdict {
    pub fn of_status(status: u16) -> Verdict {
        match status {
            200..=299 => Verdict::Relayed,
            408 | 409 | 425 | 429 => Verdict::Retry,
            400..=499 => Verdict::Permanent,
            _ => Verdict::Retry,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Relayed => "relayed",
            Verdict::Retry => "failed",
            Verdict::Permanent => "permanent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(Verdict::of_status(201), Verdict::Relayed);
        assert_eq!(Verdict::of_status(500), Verdict::Retry);
        assert_eq!(Verdict::of_status(503), Verdict::Retry);
        assert_eq!(Verdict::of_status(429), Verdict::Retry);
        assert_eq!(Verdict::of_status(400), Verdict::Permanent);
        assert_eq!(Verdict::of_status(422), Verdict::Permanent);
        assert_eq!(Verdict::of_status(302), Verdict::Retry);
    }
}
