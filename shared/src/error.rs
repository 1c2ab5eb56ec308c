//! The one error boundary of the HTTP contract: every way a delivery can fail, each with one
//! status code and one stable, machine-readable reason.

use crate::event::Family;
use http::StatusCode;

/// Why a delivery was not processed. The `Display` text is the one-sentence `message` of the
/// JSON answer: it never contains payload values, secrets or library error text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("only POST is accepted")]
    MethodNotAllowed,
    #[error("the body is larger than 1 MiB")]
    PayloadTooLarge,
    #[error("the request does not come from an allowed source address")]
    SourceIpNotAllowed,
    #[error("the custom header is missing or does not hold an accepted token")]
    InvalidCustomHeader,
    #[error("the body is not valid UTF-8")]
    InvalidBody,
    #[error("the {0} header is missing")]
    MissingSignature(&'static str),
    #[error("no signature matches any configured signing secret")]
    InvalidSignature,
    #[error("the signature timestamp is more than 5 minutes from now")]
    TimestampOutOfTolerance,
    #[error("the body is not valid JSON")]
    InvalidJson,
    #[error("the body is not an Engage event envelope: {0}")]
    InvalidEnvelope(&'static str),
    #[error("this stack does not serve the event's tenant (see ENGAGE_TENANTS)")]
    TenantNotAllowed,
    #[error("this event belongs to the {0} function; post it to that endpoint")]
    WrongEndpoint(Family),
    #[error("an encrypted event arrived but no payload key is configured")]
    PayloadKeyMissing,
    #[error("the payload could not be decrypted with any configured key")]
    DecryptionFailed,
    #[error("{0}")]
    InvalidPayload(String),
    #[error("this event is being processed by another delivery; retry later")]
    InProgress,
    #[error("this event id was already received with a different payload")]
    ConflictingDuplicate,
    #[error("the event store is unavailable; retry later")]
    StorageUnavailable,
    #[error("the queue is unavailable; retry later")]
    QueueUnavailable,
}

impl WebhookError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebhookError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::SourceIpNotAllowed | WebhookError::TenantNotAllowed => {
                StatusCode::FORBIDDEN
            }
            WebhookError::InvalidCustomHeader
            | WebhookError::MissingSignature(_)
            | WebhookError::InvalidSignature
            | WebhookError::TimestampOutOfTolerance => StatusCode::UNAUTHORIZED,
            WebhookError::InvalidBody
            | WebhookError::InvalidJson
            | WebhookError::InvalidEnvelope(_)
            | WebhookError::DecryptionFailed
            | WebhookError::InvalidPayload(_) => StatusCode::BAD_REQUEST,
            WebhookError::WrongEndpoint(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebhookError::PayloadKeyMissing => StatusCode::INTERNAL_SERVER_ERROR,
            WebhookError::InProgress | WebhookError::ConflictingDuplicate => StatusCode::CONFLICT,
            WebhookError::StorageUnavailable | WebhookError::QueueUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Whether the answer tells Svix to stop retrying the message (`webhook-delivery:
    /// abort-message`): only for a body that no setting, key or release could ever accept
    /// (the bytes themselves are wrong, or the event id was reused for other content). Never
    /// for what a fix on our side or a key rotation can heal (signature, custom header, source
    /// IP, tenant, endpoint, decryption, payload) nor for a 5xx or `in_progress`: after the
    /// fix, Svix's retry must still find the event.
    pub fn aborts_retries(&self) -> bool {
        match self {
            WebhookError::InvalidBody
            | WebhookError::InvalidJson
            | WebhookError::InvalidEnvelope(_)
            | WebhookError::ConflictingDuplicate => true,
            WebhookError::MethodNotAllowed
            | WebhookError::PayloadTooLarge
            | WebhookError::SourceIpNotAllowed
            | WebhookError::InvalidCustomHeader
            | WebhookError::MissingSignature(_)
            | WebhookError::InvalidSignature
            | WebhookError::TimestampOutOfTolerance
            | WebhookError::TenantNotAllowed
            | WebhookError::WrongEndpoint(_)
            | WebhookError::PayloadKeyMissing
            | WebhookError::DecryptionFailed
            | WebhookError::InvalidPayload(_)
            | WebhookError::InProgress
            | WebhookError::StorageUnavailable
            | WebhookError::QueueUnavailable => false,
        }
    }

    /// Stable reason, part of the public contract: never rename one.
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookError::MethodNotAllowed => "method_not_allowed",
            WebhookError::PayloadTooLarge => "payload_too_large",
            WebhookError::SourceIpNotAllowed => "source_ip_not_allowed",
            WebhookError::InvalidCustomHeader => "invalid_custom_header",
            WebhookError::InvalidBody => "invalid_body",
            WebhookError::TenantNotAllowed => "tenant_not_allowed",
            WebhookError::MissingSignature(_) => "missing_signature",
            WebhookError::InvalidSignature => "invalid_signature",
            WebhookError::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            WebhookError::InvalidJson => "invalid_json",
            WebhookError::InvalidEnvelope(_) => "invalid_envelope",
            WebhookError::WrongEndpoint(_) => "wrong_endpoint",
            WebhookError::PayloadKeyMissing => "payload_key_missing",
            WebhookError::DecryptionFailed => "decryption_failed",
            WebhookError::InvalidPayload(_) => "invalid_payload",
            WebhookError::InProgress => "in_progress",
            WebhookError::ConflictingDuplicate => "conflicting_duplicate",
            WebhookError::StorageUnavailable => "storage_unavailable",
            WebhookError::QueueUnavailable => "queue_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant (the match in `aborts_retries` is exhaustive, so a new one must be
    /// placed there) with whether its answer aborts Svix's retries.
    fn every_error() -> Vec<(WebhookError, bool)> {
        use WebhookError::*;
        vec![
            (MethodNotAllowed, false),
            (PayloadTooLarge, false),
            (SourceIpNotAllowed, false),
            (InvalidCustomHeader, false),
            (InvalidBody, true),
            (MissingSignature("svix-signature"), false),
            (InvalidSignature, false),
            (TimestampOutOfTolerance, false),
            (InvalidJson, true),
            (InvalidEnvelope("eventId is missing"), true),
            (TenantNotAllowed, false),
            (WrongEndpoint(Family::Contact), false),
            (PayloadKeyMissing, false),
            (DecryptionFailed, false),
            (InvalidPayload("contactId is missing".into()), false),
            (InProgress, false),
            (ConflictingDuplicate, true),
            (StorageUnavailable, false),
            (QueueUnavailable, false),
        ]
    }

    #[test]
    fn only_bodies_no_setting_could_accept_abort_svixs_retries() {
        let errors = every_error();
        assert_eq!(errors.len(), 19, "every variant is listed");
        let aborting: Vec<&str> = errors
            .iter()
            .filter(|(e, _)| e.aborts_retries())
            .map(|(e, _)| e.reason())
            .collect();
        assert_eq!(
            aborting,
            [
                "invalid_body",
                "invalid_json",
                "invalid_envelope",
                "conflicting_duplicate"
            ]
        );
        for (e, aborts) in &errors {
            assert_eq!(e.aborts_retries(), *aborts, "{}", e.reason());
            assert!(
                !(e.aborts_retries() && e.status().is_server_error()),
                "a 5xx never aborts"
            );
        }
    }
}
