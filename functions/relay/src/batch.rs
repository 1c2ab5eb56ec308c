//! One batch: each message tried in order, the failed ones reported back to Lambda.

use crate::config::{RelayConfigError, RelaySettings, RELAY_SECRET_ARN};
use crate::downstream::VoucherService;
use crate::queues::{QueuePair, Queues};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use bytes::Bytes;
use engage_webhooks::relay::{metric_line, retry_delay, Verdict, VoucherRequest, VoucherSigner};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back at the end of an invocation for the SQS calls and the answer to Lambda.
const END_MARGIN: Duration = Duration::from_secs(2);

pub struct Relay {
    signer: VoucherSigner,
    service: VoucherService,
    queues: Queues,
    settings: RelaySettings,
    namespace: String,
    /// When this instance's next request may start (the per-second cap).
    next_slot: Mutex<Instant>,
}

enum Fate {
    /// Relayed, or moved to the DLQ: Lambda deletes it.
    Done,
    /// Lambda returns it to the queue, visible again after this backoff.
    TryAgain(Duration),
}

impl Relay {
    pub fn new(
        signer: VoucherSigner,
        settings: RelaySettings,
        queues: Queues,
        namespace: String,
    ) -> std::io::Result<Self> {
        let service = VoucherService::new(settings.url.clone(), settings.request_timeout)?;
        Ok(Relay {
            signer,
            service,
            queues,
            settings,
            namespace,
            next_slot: Mutex::new(Instant::now()),
        })
    }

    /// Everything read and built at init: settings, the signing secret (one Secrets Manager
    /// call), the SDK client and the HTTPS client.
    pub async fn from_env() -> Result<Self, RelayConfigError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let settings = RelaySettings::from_lookup(env)?;
        let aws = aws_config::load_from_env().await;
        let arn = env(RELAY_SECRET_ARN).ok_or(RelayConfigError::Missing(RELAY_SECRET_ARN))?;
        let secret = aws_sdk_secretsmanager::Client::new(&aws)
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| RelayConfigError::Secret(engage_webhooks::sdk_error_kind(&e).into()))?;
        let signer = VoucherSigner::parse(secret.secret_string().unwrap_or_default())
            .map_err(|e| RelayConfigError::Secret(e.to_string()))?;
        let mut pairs = Vec::new();
        for (queue, dlq) in [
            (engage_webhooks::LOYALTY_QUEUE_URL, "LOYALTY_DLQ_URL"),
            (engage_webhooks::PROMOTION_QUEUE_URL, "PROMOTION_DLQ_URL"),
        ] {
            if let (Some(url), Some(dead_letter_url)) = (env(queue), env(dlq)) {
                pairs.push(QueuePair {
                    url,
                    dead_letter_url,
                });
            }
        }
        let queues = Queues::new(aws_sdk_sqs::Client::new(&aws), pairs);
        let namespace = env(engage_webhooks::METRICS_NAMESPACE)
            .unwrap_or_else(|| engage_webhooks::DEFAULT_NAMESPACE.into());
        Relay::new(signer, settings, queues, namespace)
            .map_err(|e| RelayConfigError::Invalid("TLS roots", e.to_string()))
    }

    /// Tries each message in order. FIFO: after a failure in a message group, the rest of that
    /// group is not tried but returned, so its order holds. Messages not reached before the
    /// invocation's `deadline` are returned untried.
    pub async fn handle(&self, event: SqsEvent, deadline: SystemTime) -> SqsBatchResponse {
        let mut failures = Vec::new();
        // A failed group's backoff: its untried followers wait as long, so the group comes
        // back whole and in order.
        let mut failed_groups: HashMap<String, Duration> = HashMap::new();
        for record in event.records {
            let group = record.attributes.get("MessageGroupId").cloned();
            // Each untried follower one second after the one before it: the group comes back
            // in order even where a queue does not lock a group whose head is in flight.
            let blocked = group
                .as_ref()
                .and_then(|g| failed_groups.get(g))
                .map(|d| *d + Duration::from_secs(1));
            let time_left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            let fate = if let Some(delay) = blocked {
                self.hold_back(&record, delay).await;
                Fate::TryAgain(delay)
            } else if time_left < self.settings.request_timeout + END_MARGIN {
                // Untried: back after the queue's visibility timeout.
                Fate::TryAgain(Duration::ZERO)
            } else {
                self.relay_one(&record).await
            };
            if let Fate::TryAgain(delay) = fate {
                if let Some(g) = group {
                    failed_groups.insert(g, delay);
                }
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.unwrap_or_default();
                failures.push(failure);
            }
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        response
    }

    async fn relay_one(&self, record: &SqsMessage) -> Fate {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let body = Bytes::from(record.body.clone().unwrap_or_default());
        let body_text = std::str::from_utf8(&body).unwrap_or_default();
        let request = match VoucherRequest::sign(&self.signer, body_text, unix_seconds()) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(message_id, reason = %e, "not relayable");
                return self.refuse(record, "not_an_event", None).await;
            }
        };
        self.wait_for_slot().await;
        let started = Instant::now();
        let status = self.service.post(&request, body).await;
        let latency = started.elapsed().as_millis() as u64;
        let verdict = status.map_or(Verdict::Retry, Verdict::of_status);
        tracing::info!(
            message_id,
            idempotency_key = %request.idempotency_key,
            status = status.unwrap_or(0),
            outcome = verdict.as_str(),
            latency_ms = latency,
            "voucher request"
        );
        match verdict {
            Verdict::Relayed => {
                self.emit(verdict, Some(latency));
                Fate::Done
            }
            Verdict::Permanent => {
                self.refuse(record, "refused_by_service", Some(latency))
                    .await
            }
            Verdict::Retry => {
                self.emit(verdict, Some(latency));
                let count = record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let delay = retry_delay(self.settings.first_retry, count);
                self.hold_back(record, delay).await;
                Fate::TryAgain(delay)
            }
        }
    }

    async fn hold_back(&self, record: &SqsMessage, delay: Duration) {
        if let Err(e) = self.queues.hold_back(record, delay).await {
            // The queue's own visibility timeout then applies.
            let message_id = record.message_id.as_deref().unwrap_or_default();
            tracing::warn!(message_id, error = %e, "backoff not set");
        }
    }

    async fn refuse(&self, record: &SqsMessage, reason: &str, latency: Option<u64>) -> Fate {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        match self.queues.dead_letter(record, reason).await {
            Ok(()) => {
                self.emit(Verdict::Permanent, latency);
                Fate::Done
            }
            Err(e) => {
                tracing::error!(message_id, error = %e, "dead-letter move failed");
                self.emit(Verdict::Retry, latency);
                Fate::TryAgain(Duration::ZERO)
            }
        }
    }

    fn emit(&self, verdict: Verdict, latency: Option<u64>) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        println!(
            "{}",
            metric_line(
                &self.namespace,
                self.settings.metric_level,
                now_ms,
                verdict,
                latency
            )
        );
    }

    /// Spaces this instance's requests by the configured share of the per-second cap.
    async fn wait_for_slot(&self) {
        if self.settings.spacing.is_zero() {
            return;
        }
        let start = {
            let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*next).max(Instant::now());
            *next = start + self.settings.spacing;
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
