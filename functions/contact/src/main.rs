use lambda_http::{run, service_fn, Error};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let function = &contact::from_env().await?;
    run(service_fn(move |req| async move {
        Ok::<_, Infallible>(function.handle(req).await)
    }))
    .await
}
