//! A loopback HTTP proxy in front of the local AWS server that makes chosen requests fail the
//! way real AWS does and moto never does: a transaction cancelled by a conflict, throttling,
//! an answer lost on its way back.
//!
//! Each request is relayed on its own connection (`connection: close`, as
//! [`serializing_endpoint`](crate::serializing_endpoint) does), so concurrent requests are
//! relayed concurrently. Requests are told apart by their `X-Amz-Target` operation
//! (`TransactWriteItems`, `PutItem`, `SendMessage`, ...): both DynamoDB and SQS speak the
//! JSON protocol. A [`Rule`] picks which of an operation's requests ([`Times`], counted from 1
//! in arrival order) get which [`Fault`]; every other request passes through untouched. The
//! proxy counts what it saw and what it did, so a test can show the retries it caused.
//!
//! ```no_run
//! # async fn f() {
//! use engage_testkit::{endpoint, local_aws_at, Fault, FaultProxy, Rule, Times};
//! let proxy = FaultProxy::start(
//!     &endpoint(),
//!     vec![Rule::new("TransactWriteItems", Times::First(2), Fault::conflict(2, 1))],
//! )
//! .await;
//! let sdk = local_aws_at(proxy.url()).await; // production timeouts and retries
//! // ... deliver through a function built on `sdk`, then:
//! assert_eq!(proxy.faulted("TransactWriteItems"), 2);
//! # }
//! ```

use crate::relay::{
    closing, forward, head_end, header, host_port, loopback_listener, read_message,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What a chosen request gets instead of its real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Not forwarded: answered 400 `TransactionCanceledException` with these cancellation
    /// reason codes, one per transaction item (`"TransactionConflict"`, `"None"`, ...).
    TransactionCanceled(Vec<&'static str>),
    /// Not forwarded: answered 400 `ThrottlingException`.
    Throttling,
    /// Not forwarded: answered 400 `ProvisionedThroughputExceededException`.
    ProvisionedThroughputExceeded,
    /// Not forwarded: answered 400 `TransactionConflictException`, what a single-item write
    /// gets while a transaction is writing the same item.
    TransactionConflictException,
    /// Forwarded, so it takes effect, then the connection is closed before any answer: a
    /// response lost on the way back.
    DropAnswer,
}

impl Fault {
    /// A transaction of `items` items cancelled by a conflict on item `conflicting`.
    pub fn conflict(items: usize, conflicting: usize) -> Fault {
        Fault::TransactionCanceled(
            (0..items)
                .map(|i| {
                    if i == conflicting {
                        "TransactionConflict"
                    } else {
                        "None"
                    }
                })
                .collect(),
        )
    }
}

/// Which of an operation's requests (counted from 1, in arrival order) a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The first `n`.
    First(usize),
    /// Only the `n`th.
    Nth(usize),
    /// Every one.
    Always,
}

impl Times {
    fn covers(self, n: usize) -> bool {
        match self {
            Times::First(k) => n <= k,
            Times::Nth(k) => n == k,
            Times::Always => true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub operation: &'static str,
    pub times: Times,
    pub fault: Fault,
}

impl Rule {
    pub fn new(operation: &'static str, times: Times, fault: Fault) -> Rule {
        Rule {
            operation,
            times,
            fault,
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    seen: HashMap<String, usize>,
    faulted: HashMap<String, usize>,
}

/// A running proxy. Lives as long as the runtime.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    url: String,
    counts: Arc<Mutex<Counts>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (an `http://host:port` URL) applying `rules`.
    pub async fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let upstream = host_port(upstream);
        let (listener, url) = loopback_listener().await;
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = Arc::new(rules);
        let state = counts.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, rules, counts) = (upstream.clone(), shared.clone(), state.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &rules, &counts).await;
                });
            }
        });
        FaultProxy { url, counts }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many `operation` requests reached the proxy.
    pub fn seen(&self, operation: &str) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.seen.get(operation).copied().unwrap_or(0)
    }

    /// How many `operation` requests got a fault.
    pub fn faulted(&self, operation: &str) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.faulted.get(operation).copied().unwrap_or(0)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    rules: &[Rule],
    counts: &Mutex<Counts>,
) -> std::io::Result<()> {
    let Some(request) = read_message(&mut client).await? else {
        return Ok(());
    };
    let operation = operation_of(&request).unwrap_or_default();
    let fault = {
        let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = {
            let seen = counts.seen.entry(operation.clone()).or_default();
            *seen += 1;
            *seen
        };
        let fault = rules
            .iter()
            .find(|r| r.operation == operation && r.times.covers(n))
            .map(|r| r.fault.clone());
        if fault.is_some() {
            *counts.faulted.entry(operation.clone()).or_default() += 1;
        }
        fault
    };
    match fault {
        None => {
            let response = forward(&request, upstream).await?;
            client.write_all(&closing(&response)).await?;
        }
        Some(Fault::DropAnswer) => {
            // The request takes effect; its answer is read and thrown away.
            forward(&request, upstream).await?;
        }
        Some(error) => client.write_all(&error_response(&error)).await?,
    }
    client.shutdown().await
}

/// `DynamoDB_20120810.TransactWriteItems` -> `TransactWriteItems`.
fn operation_of(request: &[u8]) -> Option<String> {
    let target = header(&request[..head_end(request)?], "x-amz-target")?;
    Some(target.rsplit('.').next().unwrap_or(&target).to_string())
}

fn error_response(fault: &Fault) -> Vec<u8> {
    let (kind, body) = match fault {
        Fault::TransactionCanceled(codes) => {
            let reasons: Vec<serde_json::Value> = codes
                .iter()
                .map(|code| match *code {
                    "None" => serde_json::json!({ "Code": "None" }),
                    "TransactionConflict" => serde_json::json!({
                        "Code": code,
                        "Message": "Transaction is ongoing for the item"
                    }),
                    _ => serde_json::json!({ "Code": code, "Message": "injected by the fault proxy" }),
                })
                .collect();
            (
                "TransactionCanceledException",
                serde_json::json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                    "Message": format!(
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                        codes.join(", ")
                    ),
                    "CancellationReasons": reasons,
                }),
            )
        }
        Fault::Throttling => (
            "ThrottlingException",
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Throughput exceeds the current capacity of your table or index.",
            }),
        ),
        Fault::TransactionConflictException => (
            "TransactionConflictException",
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
                "message": "Transaction is ongoing for the item",
            }),
        ),
        Fault::ProvisionedThroughputExceeded => (
            "ProvisionedThroughputExceededException",
            serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded.",
            }),
        ),
        // Never called for it (the connection is closed instead); an empty answer if it were.
        Fault::DropAnswer => return Vec::new(),
    };
    let body = body.to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: fault-proxy-{kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
