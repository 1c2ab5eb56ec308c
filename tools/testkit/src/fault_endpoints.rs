//! Endpoints that misbehave the way an outage does (refusing connections, accepting and
//! never answering), and one that behaves better than the local server does (one request at
//! a time, for DynamoDB's transaction isolation). Each lives as long as the test's runtime.

use crate::local_aws::{endpoint, local_aws_at, local_aws_with};
use crate::relay::{closing, forward, host_port, loopback_listener, read_message};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// An address where nothing listens: connections are refused.
pub fn refusing_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A DynamoDB client whose endpoint refuses connections, with the production timeouts and
/// retries.
pub async fn refusing_dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_aws_at(&refusing_endpoint()).await)
}

/// An address that accepts connections and never answers. Lives as long as the runtime.
pub async fn hanging_endpoint() -> String {
    let (listener, url) = loopback_listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// A DynamoDB client whose endpoint accepts connections and never answers, with the production
/// timeouts: the outage every function must survive within Svix's 15 s.
pub async fn hanging_dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_aws_at(&hanging_endpoint().await).await)
}

/// An endpoint in front of `upstream` (the local server) that lets one request through at a
/// time, each on its own connection (`connection: close`).
///
/// DynamoDB executes transactions serializably; moto's threaded server does not. A cancelled
/// `TransactWriteItems` restores the snapshot of its tables taken when it began, dropping
/// writes that committed meanwhile, and two transactions with mutually exclusive conditions
/// can both commit (reproduced with boto3 alone, without this project's code). Tests of
/// concurrent deliveries go through this endpoint so that the server has DynamoDB's
/// isolation, while the functions and their clients still race freely. Lives as long as the
/// runtime.
pub async fn serializing_endpoint(upstream: &str) -> String {
    let upstream = host_port(upstream);
    let (listener, url) = loopback_listener().await;
    tokio::spawn(async move {
        // One connection (so one request) at a time; the others wait in the listen backlog.
        while let Ok((mut client, _)) = listener.accept().await {
            let relay = relay_one(&mut client, &upstream);
            let _ = tokio::time::timeout(Duration::from_secs(5), relay).await;
        }
    });
    url
}

/// SDK configuration for the local server behind a fresh [`serializing_endpoint`]. Requests
/// queue there for their turn, so its timeouts are generous: a request abandoned by a
/// timeout would still reach the server, and its answer would be lost.
pub async fn serialized_local_aws() -> aws_config::SdkConfig {
    let patient = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_secs(20))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(20))
        .build();
    local_aws_with(&serializing_endpoint(&endpoint()).await, patient).await
}

/// One request read off `client`, relayed to `upstream`, its answer relayed back.
async fn relay_one(client: &mut TcpStream, upstream: &str) -> std::io::Result<()> {
    let Some(request) = read_message(client).await? else {
        return Ok(());
    };
    let response = forward(&request, upstream).await?;
    client.write_all(&closing(&response)).await?;
    client.shutdown().await
}
