#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    engage_webhooks::serve(promotion::FAMILY, promotion::from_env).await
}
