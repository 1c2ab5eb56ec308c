#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    engage_webhooks::serve(loyalty::FAMILY, loyalty::from_env).await
}
