#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    engage_webhooks::serve(consent::FAMILY, consent::from_env).await
}
