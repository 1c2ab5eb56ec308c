//! A fan-out function (loyalty, promotion): verify, decrypt, validate (the payload's model, and
//! that SQS can take its message), then send each event to the family's queue exactly once.

use super::publisher::SqsPublisher;
use super::send_once::send_once;
use super::sendable::check_sendable;
use crate::answer::handle_with;
use crate::clock::lease_until_millis;
use crate::cold_start::ColdStart;
use crate::config::{ConfigError, Settings};
use crate::dedup::DynamoDedup;
use crate::error::WebhookError;
use crate::event::{Event, EventType, Family};
use crate::function::WebhookFunction;
use crate::model;
use crate::pipeline::Receiver;
use lambda_http::{Body, Request, Response};

pub struct FanOutFunction {
    receiver: Receiver,
    dedup: DynamoDedup,
    queue: SqsPublisher,
}

impl FanOutFunction {
    pub fn new(receiver: Receiver, dedup: DynamoDedup, queue: SqsPublisher) -> Self {
        FanOutFunction {
            receiver,
            dedup,
            queue,
        }
    }

    /// Everything built once at cold start, from the environment (and Secrets Manager when
    /// `ENGAGE_SECRETS_ARN` is set). `queue_var` names the family's queue URL setting.
    pub async fn from_env(family: Family, queue_var: &'static str) -> Result<Self, ConfigError> {
        FanOutFunction::from_settings(family, queue_var, &Settings::from_env()).await
    }

    /// [`FanOutFunction::from_env`] with the settings read from `settings` (tests give a map).
    pub async fn from_settings<F: Fn(&str) -> Option<String>>(
        family: Family,
        queue_var: &'static str,
        settings: &Settings<F>,
    ) -> Result<Self, ConfigError> {
        let queue_url = settings.required(queue_var)?;
        let base = ColdStart::load(family, settings).await?;
        let queue = SqsPublisher::new(aws_sdk_sqs::Client::new(&base.sdk), queue_url);
        Ok(FanOutFunction::new(base.receiver, base.dedup, queue))
    }
}

impl WebhookFunction for FanOutFunction {
    async fn handle(&self, req: Request) -> Response<Body> {
        let lease = lease_until_millis(&req);
        handle_with(&self.receiver, &req, async |event: &Event<'_>| {
            let contact_id = validated_contact_id(event)?;
            // Before the claim: an event SQS can never take is refused, not retried for 27 h.
            check_sendable(event, contact_id.as_deref())?;
            send_once(
                &self.dedup,
                &self.queue,
                event,
                contact_id.as_deref(),
                lease,
            )
            .await
        })
        .await
    }

    fn family(&self) -> Family {
        self.receiver.family()
    }
}

/// Checks the payload against its type's model and returns the contact it concerns, if any.
pub fn validated_contact_id(event: &Event<'_>) -> Result<Option<String>, WebhookError> {
    Ok(match event.event_type {
        EventType::LoyaltyAddPoints => {
            Some(event.typed_payload::<model::PointsAdded>()?.contact_id)
        }
        EventType::PointBalanceUpdated => Some(
            event
                .typed_payload::<model::PointBalanceUpdated>()?
                .contact_id,
        ),
        EventType::RewardVoucherCreated => Some(
            event
                .typed_payload::<model::RewardVoucherCreated>()?
                .contact_id,
        ),
        EventType::PromotionMultichannelAssigned => {
            event
                .typed_payload::<model::PromotionAssigned>()?
                .contact_id
        }
        // The receiver only lets this function's family through; contact and consent
        // events have their own functions.
        other => return Err(WebhookError::WrongEndpoint(other.family())),
    })
}
