use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    engage_webhooks::Telemetry::from_env()
        .unwrap_or_else(|_| engage_webhooks::Telemetry::default_from_env())
        .init();
    let relay = &relay::Relay::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, std::convert::Infallible>(
            relay.handle(event.payload, event.context.deadline()).await,
        )
    }))
    .await
}
