//! Endpoints that misbehave the way an outage does (refusing connections, accepting and
//! never answering), and one that behaves better than the local server does (one request at
//! a time, for DynamoDB's transaction isolation). Each lives as long as the test's runtime.

use crate::local_aws::{endpoint, local_aws_at, local_aws_with};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An address where nothing listens: connections are refused.
pub fn refusing_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An address that accepts connections and never answers. Lives as long as the runtime.
pub async fn hanging_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://127.0.0.1:{port}")
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
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    tokio::spawn(async move {
        // One connection (so one request) at a time; the others wait in the listen backlog.
        while let Ok((mut client, _)) = listener.accept().await {
            let relay = relay_one(&mut client, &upstream);
            let _ = tokio::time::timeout(Duration::from_secs(5), relay).await;
        }
    });
    format!("http://127.0.0.1:{port}")
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

async fn relay_one(client: &mut TcpStream, upstream: &str) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..read]);
    };
    let length = String::from_utf8_lossy(&request[..head_end])
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..read]);
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&closing(&request)).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    client.write_all(&closing(&response)).await?;
    client.shutdown().await
}

/// The HTTP message with its `connection` headers replaced by `connection: close`.
fn closing(message: &[u8]) -> Vec<u8> {
    let Some(head_end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
        return message.to_vec();
    };
    let head = String::from_utf8_lossy(&message[..head_end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let name = line.split(':').next().unwrap_or("").trim();
        if !(name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive")) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&message[head_end + 4..]);
    bytes
}
