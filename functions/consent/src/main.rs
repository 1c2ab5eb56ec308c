#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    engage_webhooks::serve(consent::FAMILY, consent::from_env).await
}
