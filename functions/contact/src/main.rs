#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    engage_webhooks::serve(contact::FAMILY, contact::from_env).await
}
