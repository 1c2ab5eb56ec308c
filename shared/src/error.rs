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
