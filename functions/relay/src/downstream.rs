//! The voucher service: one POST per try, bounded in time, answered by a status (or none).

use bytes::Bytes;
use engage_webhooks::relay::VoucherRequest;
use engage_webhooks::JSON_CONTENT_TYPE;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub struct VoucherService {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: http::Uri,
    timeout: Duration,
}

impl VoucherService {
    /// Built at init: the TLS roots are read and the connection pool kept across invocations.
    pub fn new(url: http::Uri, timeout: Duration) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            // Below the usual 60 s server keep-alive, so an idle connection is not reused
            // just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(VoucherService {
            client,
            url,
            timeout,
        })
    }

    /// The answer's status, or `None` for a timeout or a connection failure. The response
    /// body is read (so the connection can be reused) but not kept.
    pub async fn post(&self, request: &VoucherRequest, body: Bytes) -> Option<u16> {
        let mut builder = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, JSON_CONTENT_TYPE);
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        let req = builder.body(Full::new(body)).ok()?;
        let exchange = async {
            let response = self.client.request(req).await.ok()?;
            let status = response.status().as_u16();
            response.into_body().collect().await.ok()?;
            Some(status)
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .ok()
            .flatten()
    }
}
