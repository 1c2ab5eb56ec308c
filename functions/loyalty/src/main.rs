#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    engage_webhooks::serve(loyalty::FAMILY, loyalty::from_env).await
}
