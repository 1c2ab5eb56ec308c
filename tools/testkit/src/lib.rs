//! Test helpers shared by the functions' integration tests.
//!
//! Requests are built from the real Lambda event shapes in `events/requests/` and the sample
//! envelopes in `events/envelopes/`, signed at test time with the test secret of
//! `events/local.env`. AWS resources are created, uniquely named, on the local wire-compatible
//! server that `scripts/local-aws.sh` starts (its address comes from `AWS_ENDPOINT_URL`).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use base64::Engine;
use engage_webhooks::config::EngageSecrets;
use engage_webhooks::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};
use engage_webhooks::receiver::now_millis;
use engage_webhooks::{Family, Receiver};
use lambda_http::{Body, Request, Response};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// The test signing secret and payload key (also in `events/local.env`). Never used in a
/// deployed stack: that reads its own from Secrets Manager.
pub const SIGNING_SECRET: &str = "whsec_dGVzdC1vbmx5LXNpZ25pbmctc2VjcmV0LTAwMDAwMDAw";
pub const PAYLOAD_KEY: &str = "LocalTestKeyOnly0123456789abcdEF";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sample envelope of `event_type` from `events/envelopes/`.
pub fn envelope(event_type: &str) -> String {
    let path = repo_root().join(format!("events/envelopes/{event_type}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces envelope fields (given as raw JSON text), keeping every other byte's meaning;
/// numbers are never re-encoded through floats.
pub fn with_fields(envelope: &str, fields: &[(&str, &str)]) -> String {
    let mut map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(envelope).unwrap();
    for (k, v) in fields {
        map.insert(k.to_string(), RawValue::from_string(v.to_string()).unwrap());
    }
    serde_json::to_string(&map).unwrap()
}

/// The raw payload text of an envelope.
pub fn payload_of(envelope: &str) -> String {
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(envelope).unwrap();
    map["payload"].get().to_string()
}

/// The envelope with its payload encrypted with [`PAYLOAD_KEY`] the way Engage does.
pub fn encrypted(envelope: &str, cipher: PayloadCipher) -> String {
    let key = PayloadKey::parse(PAYLOAD_KEY).unwrap();
    let sealed = encrypt(
        cipher,
        &key,
        &random_iv(cipher),
        payload_of(envelope).as_bytes(),
    );
    with_fields(
        envelope,
        &[
            ("payload", &format!("\"{sealed}\"")),
            ("isEncrypted", "true"),
        ],
    )
}

/// Every way Engage may send a payload: in plain text, or encrypted with either cipher.
pub const CIPHERS: [Option<PayloadCipher>; 3] = [
    None,
    Some(PayloadCipher::Aes256Gcm),
    Some(PayloadCipher::Aes256Cbc),
];

/// The envelope as Engage sends it under `cipher` ([`CIPHERS`]): encrypted, or as is.
pub fn sealed(envelope: &str, cipher: Option<PayloadCipher>) -> String {
    match cipher {
        Some(c) => encrypted(envelope, c),
        None => envelope.to_string(),
    }
}

/// How the request reaches the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// API Gateway HTTP API (payload format 2.0).
    ApiGatewayHttp,
    /// Lambda Function URL, body as text.
    FunctionUrl,
    /// Lambda Function URL with the body base64-encoded (`isBase64Encoded: true`).
    FunctionUrlBase64,
}

impl Shape {
    pub const ALL: [Shape; 3] = [
        Shape::ApiGatewayHttp,
        Shape::FunctionUrl,
        Shape::FunctionUrlBase64,
    ];
}

/// The three signature headers for `body`, signed now with [`SIGNING_SECRET`].
pub fn signature_headers(body: &str, msg_id: &str) -> Vec<(String, String)> {
    let ts = now_millis() / 1000;
    let sig =
        engage_webhooks::signature::sign(SIGNING_SECRET, msg_id, ts, body.as_bytes()).unwrap();
    vec![
        ("svix-id".into(), msg_id.into()),
        ("svix-timestamp".into(), ts.to_string()),
        ("svix-signature".into(), sig),
    ]
}

/// A Lambda request of `shape` carrying `body` and `headers`, parsed by lambda_http exactly as
/// the runtime parses a real event.
pub fn request(shape: Shape, body: &str, headers: &[(String, String)]) -> Request {
    let file = match shape {
        Shape::ApiGatewayHttp => "apigw-http-v2.json",
        Shape::FunctionUrl | Shape::FunctionUrlBase64 => "function-url.json",
    };
    let path = repo_root().join("events/requests").join(file);
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = Value::String(v.clone());
    }
    if shape == Shape::FunctionUrlBase64 {
        event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
        event["isBase64Encoded"] = Value::Bool(true);
    } else {
        event["body"] = Value::String(body.into());
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid Lambda HTTP event")
}

/// A correctly signed POST of `body`.
pub fn signed_request(shape: Shape, body: &str) -> Request {
    request(
        shape,
        body,
        &signature_headers(body, &format!("msg_{}", unique("t"))),
    )
}

/// The answer's status and its JSON reason (`status` or `error` field).
pub fn answer(resp: &Response<Body>) -> (u16, String) {
    let v: Value = serde_json::from_slice(resp.body().as_ref()).expect("a JSON answer");
    let reason = v
        .get("status")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str);
    (
        resp.status().as_u16(),
        reason.expect("a reason").to_string(),
    )
}

/// A receiver for `family` with the test secret and, for `Some(cipher)`, the test key.
pub fn receiver(family: Family, cipher: Option<PayloadCipher>) -> Receiver {
    let secrets = EngageSecrets {
        signing_secrets: SIGNING_SECRET.into(),
        payload_keys: cipher.map(|_| PAYLOAD_KEY.into()),
    };
    Receiver::from_secrets(family, &secrets, cipher.unwrap_or(PayloadCipher::Aes256Gcm)).unwrap()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// SDK configuration for the local wire server, with the production timeouts and retries.
/// Fails loudly when the server is not there: these tests never skip.
pub async fn local_aws() -> aws_config::SdkConfig {
    local_aws_at(&endpoint()).await
}

pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh, which starts the local DynamoDB/SQS server")
    })
}

/// The same configuration pointed at another endpoint (a refusing or hanging one).
pub async fn local_aws_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("eu-north-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "testkit",
        ))
        .timeout_config(engage_webhooks::aws::timeouts())
        .retry_config(engage_webhooks::aws::retries())
        .load()
        .await
}

/// Creates a fresh dedup table shaped like template.yaml's and returns its name.
pub async fn new_table(sdk: &aws_config::SdkConfig, key: &str) -> String {
    let name = unique("table");
    let client = aws_sdk_dynamodb::Client::new(sdk);
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table on the local server");
    name
}

/// Creates a fresh queue (FIFO when `fifo`) and returns its URL.
pub async fn new_queue(sdk: &aws_config::SdkConfig, fifo: bool) -> String {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut create = client.create_queue();
    if fifo {
        create = create
            .queue_name(format!("{}.fifo", unique("queue")))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    } else {
        create = create.queue_name(unique("queue"));
    }
    create
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap()
}

/// Every message now in the queue (received, not deleted), with all attributes.
pub async fn messages(sdk: &aws_config::SdkConfig, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut all = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let batch = out.messages.unwrap_or_default();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// Counts the SDK operations a client starts (retries of one operation count once).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A DynamoDB client whose operations are counted.
pub fn counted_dynamodb(sdk: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, CallCounter) {
    let counter = CallCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(counter.clone())
        .build();
    (aws_sdk_dynamodb::Client::from_conf(config), counter)
}

/// An address where nothing listens: connections are refused.
pub fn refusing_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An address that accepts connections and never answers. Lives as long as the runtime.
pub async fn hanging_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// A dedup table and a queue of their own on the local server, and fan-out functions wired
/// to them, each with its own SDK clients (as separate Lambda instances would have).
pub struct FanOutRig {
    pub sdk: aws_config::SdkConfig,
    pub family: Family,
    pub table: String,
    pub queue_url: String,
}

impl FanOutRig {
    pub async fn new(family: Family, fifo: bool) -> Self {
        let sdk = local_aws().await;
        let table = new_table(&sdk, "pk").await;
        let queue_url = new_queue(&sdk, fifo).await;
        FanOutRig {
            sdk,
            family,
            table,
            queue_url,
        }
    }

    pub fn dedup(&self, client: aws_sdk_dynamodb::Client) -> engage_webhooks::dedup::DynamoDedup {
        engage_webhooks::dedup::DynamoDedup::new(
            client,
            self.table.clone(),
            engage_webhooks::config::DEFAULT_DEDUP_TTL,
        )
    }

    /// A function with fresh clients; `cipher` gives it the test payload key.
    pub fn function(
        &self,
        cipher: Option<PayloadCipher>,
    ) -> engage_webhooks::fanout_function::FanOutFunction {
        self.function_with(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            aws_sdk_sqs::Client::new(&self.sdk),
            &self.queue_url,
            cipher,
        )
    }

    pub fn function_with(
        &self,
        dynamodb: aws_sdk_dynamodb::Client,
        sqs: aws_sdk_sqs::Client,
        queue_url: &str,
        cipher: Option<PayloadCipher>,
    ) -> engage_webhooks::fanout_function::FanOutFunction {
        engage_webhooks::fanout_function::FanOutFunction::new(
            receiver(self.family, cipher),
            self.dedup(dynamodb),
            engage_webhooks::fanout::SqsPublisher::new(sqs, queue_url.to_string()),
        )
    }

    pub async fn messages(&self) -> Vec<aws_sdk_sqs::types::Message> {
        messages(&self.sdk, &self.queue_url).await
    }

    /// A function with a fresh DynamoDB client whose operations are counted.
    pub fn counted_function(
        &self,
    ) -> (
        engage_webhooks::fanout_function::FanOutFunction,
        CallCounter,
    ) {
        let (dynamodb, calls) = counted_dynamodb(&self.sdk);
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        (
            self.function_with(dynamodb, sqs, &self.queue_url, None),
            calls,
        )
    }

    /// Posts the plaintext `envelope`, signed, to a fresh function (as [`MirrorRig::deliver`]).
    pub async fn deliver(&self, envelope: &str) -> (u16, String) {
        deliver(&self.function(None), Shape::FunctionUrl, envelope).await
    }

    /// Asserts that the sample tenant's event `event_id` left no message and no dedup record:
    /// what every refused or ignored delivery must leave behind.
    pub async fn assert_left_nothing(&self, event_id: &str) {
        assert!(self.messages().await.is_empty(), "no message");
        let key = format!("myTenantName#{event_id}");
        assert!(self.record(&key).await.is_none(), "no dedup record");
    }

    /// The dedup record stored under `key` (tenant#eventId), if any.
    pub async fn record(
        &self,
        key: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(&self.table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get_item")
            .item
    }
}

/// The sample envelope of `event_type` under a fresh event id (in `eventId`, or in `id` where
/// Voyado's example uses that), returned with the id.
pub fn fresh_envelope(event_type: &str) -> (String, String) {
    let original = envelope(event_type);
    let id = unique("ev");
    let field = if original.contains("\"eventId\"") {
        "eventId"
    } else {
        "id"
    };
    (with_fields(&original, &[(field, &format!("\"{id}\""))]), id)
}

/// A message attribute's string value.
pub fn attribute(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .map(str::to_string)
}

/// A dedup table and a contacts table of their own on the local server, and mirror functions
/// (contact or consent) wired to them, each with its own SDK clients (as separate Lambda
/// instances would have).
pub struct MirrorRig {
    pub sdk: aws_config::SdkConfig,
    pub dedup_table: String,
    pub contacts_table: String,
}

impl MirrorRig {
    pub async fn new() -> Self {
        let sdk = local_aws().await;
        let dedup_table = new_table(&sdk, "pk").await;
        let contacts_table = new_table(&sdk, "contactId").await;
        MirrorRig {
            sdk,
            dedup_table,
            contacts_table,
        }
    }

    /// A function of `family` with fresh clients; `cipher` gives it the test payload key.
    pub fn function(
        &self,
        family: Family,
        cipher: Option<PayloadCipher>,
    ) -> engage_webhooks::mirror::MirrorFunction {
        self.function_with(
            family,
            aws_sdk_dynamodb::Client::new(&self.sdk),
            &self.contacts_table,
            cipher,
        )
    }

    pub fn function_with(
        &self,
        family: Family,
        dynamodb: aws_sdk_dynamodb::Client,
        contacts_table: &str,
        cipher: Option<PayloadCipher>,
    ) -> engage_webhooks::mirror::MirrorFunction {
        engage_webhooks::mirror::MirrorFunction::new(
            receiver(family, cipher),
            engage_webhooks::dedup::DynamoDedup::new(
                dynamodb,
                self.dedup_table.clone(),
                engage_webhooks::config::DEFAULT_DEDUP_TTL,
            ),
            contacts_table.to_string(),
        )
    }

    /// Posts the plaintext `envelope`, signed, to a fresh function of `family`.
    pub async fn deliver(&self, family: Family, envelope: &str) -> (u16, String) {
        deliver(&self.function(family, None), Shape::FunctionUrl, envelope).await
    }

    /// The mirror item of `contact_id`, read consistently.
    pub async fn contact(&self, contact_id: &str) -> Option<Item> {
        get_item(&self.sdk, &self.contacts_table, "contactId", contact_id).await
    }

    /// The dedup record of the sample tenant's event `event_id`.
    pub async fn record(&self, event_id: &str) -> Option<Item> {
        let key = format!("myTenantName#{event_id}");
        get_item(&self.sdk, &self.dedup_table, "pk", &key).await
    }

    /// Asserts that a fresh `event_type` event, delivered to a `family` function whose
    /// DynamoDB hangs, answers 503 within 10 s and leaves nothing, so that Svix's retry then
    /// applies it: an outage never loses nor half-applies an event.
    pub async fn assert_an_outage_is_retried_cleanly(&self, family: Family, event_type: &str) {
        let hanging = hanging_dynamodb().await;
        let function = self.function_with(family, hanging, &self.contacts_table, None);
        let contact = unique("contact");
        let (env, id) = contact_envelope(event_type, &contact);
        assert_unavailable_within_ten_seconds(&function, &env, "storage_unavailable").await;
        self.assert_left_nothing(&id, &contact).await;
        let retry = self.deliver(family, &env).await;
        assert_eq!(retry, (200, "processed".into()), "the retry");
    }

    /// A function of `family` with a fresh DynamoDB client whose operations are counted.
    pub fn counted_function(
        &self,
        family: Family,
    ) -> (engage_webhooks::mirror::MirrorFunction, CallCounter) {
        let (dynamodb, calls) = counted_dynamodb(&self.sdk);
        let function = self.function_with(family, dynamodb, &self.contacts_table, None);
        (function, calls)
    }

    /// `count` functions of `family`, each with its own DynamoDB client (separate Lambda
    /// instances), reaching the local server through one [`serializing_endpoint`], so that
    /// races see DynamoDB's transaction isolation, which moto's server lacks.
    pub async fn racing_functions(
        &self,
        family: Family,
        count: usize,
    ) -> Vec<engage_webhooks::mirror::MirrorFunction> {
        let serial = serialized_local_aws().await;
        (0..count)
            .map(|_| {
                let own_client = aws_sdk_dynamodb::Client::new(&serial);
                self.function_with(family, own_client, &self.contacts_table, None)
            })
            .collect()
    }

    /// Asserts that event `event_id` for `contact_id` left no dedup record and no mirror item:
    /// what every failed, refused or ignored delivery must leave behind.
    pub async fn assert_left_nothing(&self, event_id: &str, contact_id: &str) {
        assert!(self.record(event_id).await.is_none(), "no dedup record");
        assert!(self.contact(contact_id).await.is_none(), "no mirror change");
    }
}

/// A DynamoDB item.
pub type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

async fn get_item(
    sdk: &aws_config::SdkConfig,
    table: &str,
    key: &str,
    value: &str,
) -> Option<Item> {
    aws_sdk_dynamodb::Client::new(sdk)
        .get_item()
        .table_name(table)
        .key(
            key,
            aws_sdk_dynamodb::types::AttributeValue::S(value.into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
}

/// The envelope with payload fields set (as raw JSON text) and others removed; the other
/// fields keep their exact text.
pub fn with_payload(envelope: &str, set: &[(&str, &str)], remove: &[&str]) -> String {
    let mut payload: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(&payload_of(envelope)).unwrap();
    for name in remove {
        payload.remove(*name);
    }
    for (k, v) in set {
        payload.insert(k.to_string(), RawValue::from_string(v.to_string()).unwrap());
    }
    with_fields(
        envelope,
        &[("payload", &serde_json::to_string(&payload).unwrap())],
    )
}

/// The sample envelope of `event_type` under a fresh event id, for contact `contact_id`;
/// returned with the event id.
pub fn contact_envelope(event_type: &str, contact_id: &str) -> (String, String) {
    let (env, id) = fresh_envelope(event_type);
    let contact = serde_json::to_string(contact_id).unwrap();
    (with_payload(&env, &[("contactId", &contact)], &[]), id)
}

/// An item's attribute names, sorted.
pub fn attribute_names(item: &Item) -> Vec<String> {
    let mut names: Vec<String> = item.keys().cloned().collect();
    names.sort();
    names
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        // One connection (so one request) at a time; the others wait in the listen backlog.
        while let Ok((mut client, _)) = listener.accept().await {
            let relay = relay_one(&mut client, &upstream);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), relay).await;
        }
    });
    format!("http://127.0.0.1:{port}")
}

async fn relay_one(client: &mut tokio::net::TcpStream, upstream: &str) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    let mut server = tokio::net::TcpStream::connect(upstream).await?;
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

/// SDK configuration for the local server behind a fresh [`serializing_endpoint`]. Requests
/// queue there for their turn, so its timeouts are generous: a request abandoned by a
/// timeout would still reach the server, and its answer would be lost.
pub async fn serialized_local_aws() -> aws_config::SdkConfig {
    let patient = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .read_timeout(std::time::Duration::from_secs(20))
        .operation_attempt_timeout(std::time::Duration::from_secs(20))
        .operation_timeout(std::time::Duration::from_secs(20))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(serializing_endpoint(&endpoint()).await)
        .region(aws_config::Region::new("eu-north-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "testkit",
        ))
        .timeout_config(patient)
        .retry_config(engage_webhooks::aws::retries())
        .load()
        .await
}

/// The request handler that mirror and fan-out functions share, so that one delivery helper
/// serves both kinds of test.
pub trait Endpoint {
    fn respond(&self, req: Request) -> impl Future<Output = Response<Body>>;
}

impl Endpoint for engage_webhooks::mirror::MirrorFunction {
    fn respond(&self, req: Request) -> impl Future<Output = Response<Body>> {
        self.handle(req)
    }
}

impl Endpoint for engage_webhooks::fanout_function::FanOutFunction {
    fn respond(&self, req: Request) -> impl Future<Output = Response<Body>> {
        self.handle(req)
    }
}

/// Posts `body`, freshly signed (as Svix signs each delivery and retry anew), in `shape` to
/// `function` and returns its answer: one line for what most tests do over and over.
pub async fn deliver(function: &impl Endpoint, shape: Shape, body: &str) -> (u16, String) {
    answer(&function.respond(signed_request(shape, body)).await)
}

/// A DynamoDB client whose endpoint accepts connections and never answers, with the production
/// timeouts: the outage every function must survive within Svix's 15 s.
pub async fn hanging_dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_aws_at(&hanging_endpoint().await).await)
}

/// Asserts that a Svix retry of `envelope` (signed anew, in `shape`) answers duplicate at the
/// cost of one DynamoDB call, counted by `calls` from zero: the claim alone, nothing after.
pub async fn assert_a_retry_is_a_one_call_duplicate(
    function: &impl Endpoint,
    calls: &CallCounter,
    shape: Shape,
    envelope: &str,
) {
    let again = deliver(function, shape, envelope).await;
    assert_eq!(again, (200, "duplicate".into()));
    assert_eq!(
        calls.count(),
        1,
        "a duplicate costs exactly one DynamoDB call"
    );
}

/// Asserts that `function` answers a delivery of `envelope` with 503 and `reason` within 10 s,
/// so that Svix (which gives up at 15 s) sees a retryable failure, not a timeout.
pub async fn assert_unavailable_within_ten_seconds(
    function: &impl Endpoint,
    envelope: &str,
    reason: &str,
) {
    let started = Instant::now();
    let got = deliver(function, Shape::FunctionUrl, envelope).await;
    let took = started.elapsed();
    assert_eq!(got, (503, reason.to_string()));
    assert!(
        took < Duration::from_secs(10),
        "answered in {took:?}, Svix gives up at 15 s"
    );
}

/// Delivers `envelope` through every one of `functions` at once (Svix's parallel retries
/// reaching separate Lambda instances) and asserts the exactly-once contract: one delivery is
/// processed, each other one answers duplicate or in progress.
pub async fn assert_exactly_one_processed_concurrently(
    functions: &[impl Endpoint],
    envelope: &str,
) {
    let answers = join_all(functions.iter().map(|f| {
        let req = signed_request(Shape::FunctionUrl, envelope);
        async move { answer(&f.respond(req).await) }
    }))
    .await;
    let processed = answers.iter().filter(|a| a.1 == "processed").count();
    assert_eq!(processed, 1, "{answers:?}");
    for (status, reason) in &answers {
        assert!(
            matches!(
                (status, reason.as_str()),
                (200, "processed" | "duplicate") | (409, "in_progress")
            ),
            "{status} {reason}"
        );
    }
}

/// Polls all `futures` together on the current task and returns their outputs in order, as
/// `futures::future::join_all` does (this crate does not depend on `futures`).
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("polled to the end"))
        .collect()
}
