//! A fan-out function (loyalty, promotion): verify, decrypt, validate, then send each event
//! to the family's queue exactly once.

use crate::cold_start::ColdStart;
use crate::config::{ConfigError, Settings};
use crate::dedup::DynamoDedup;
use crate::envelope::Event;
use crate::error::WebhookError;
use crate::event::{EventType, Family};
use crate::fanout::{send_once, SqsPublisher};
use crate::model;
use crate::receiver::{handle_with, lease_until_millis, Receiver};
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
        let settings = Settings::from_env();
        let queue_url = settings.required(queue_var)?;
        let base = ColdStart::load(family, &settings).await?;
        let queue = SqsPublisher::new(aws_sdk_sqs::Client::new(&base.sdk), queue_url);
        Ok(FanOutFunction::new(base.receiver, base.dedup, queue))
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let lease = lease_until_millis(&req);
        handle_with(&self.receiver, &req, async |event: &Event<'_>| {
            let contact_id = validated_contact_id(event)?;
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
