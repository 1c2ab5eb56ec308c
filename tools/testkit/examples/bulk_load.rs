//! A bulk import, measured: N distinct signed deliveries (one fresh event id each) through the
//! real handler of one family, with K of them in flight at once, against the local AWS of
//! `scripts/local-aws.sh`. Per level of K it prints the throughput; the mean, p50 and p99
//! latency of a delivery (the mean is what sizing needs: instances busy = rate x mean
//! latency); the CPU time this process spent per event (getrusage: the handler, the SDK's
//! signing and HTTP, the runtime); the AWS operations and requests (retries included, as the
//! `AwsCalls` metric counts) per event; and the answers other than 200 `processed`. Then it
//! checks that every event took exactly one effect, and exits non-zero if any answer or effect
//! is wrong. It does not retry a 503 as Svix would: the first answer is what is measured.
//!
//! - `--family loyalty`: `loyalty.addPoints` events, fanned out to an SQS queue; checked: one
//!   queue message per event id, one dedup record per event.
//! - `--family contact`: `contact.updated` events for distinct contacts, mirrored into
//!   DynamoDB; checked: one mirror item and one dedup record per event.
//! - `--serialized`: DynamoDB reached through the testkit's serializing endpoint (one request
//!   at a time, patient timeouts), as the tests of racing deliveries reach it. moto's threaded
//!   server is not safe for concurrent transactions: one copies its tables while another
//!   writes them, fails with HTTP 500, and the function rightly answers 503. The relay runs
//!   in this process, so the CPU figure then includes it.
//!
//! ```sh
//! scripts/local-aws.sh start && eval "$(scripts/local-aws.sh env)"
//! cargo run --release -p engage-testkit --example bulk_load -- --family loyalty --events 1000 --concurrency 1,8,32
//! scripts/local-aws.sh stop
//! ```
//!
//! moto is a single-process Python server, so events/s and latency here are a lower bound set
//! by moto, not by the function or by AWS. CPU per event and AWS calls per event are the
//! function's own and carry over to Lambda. Each level gets fresh tables, a fresh queue and one
//! function with fresh clients, shared by its K workers. Requests are built and signed before
//! a level starts, so building them is not in the figures; a level must end within Svix's
//! 5-minute signature tolerance.

use clap::{Parser, ValueEnum};
use engage_testkit::*;
use engage_webhooks::{Family, WebhookFunction};
use lambda_http::Request;
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command line.
#[derive(Parser)]
#[command(about = "A bulk import through one family's real handler, measured")]
struct Options {
    /// The family whose handler takes the load.
    #[arg(long, value_enum, default_value_t = LoadFamily::Loyalty)]
    family: LoadFamily,
    /// Events per level, each with a fresh event id.
    #[arg(long, default_value_t = NonZeroUsize::new(1000).expect("not zero"))]
    events: NonZeroUsize,
    /// Deliveries in flight at once, one level per value.
    #[arg(long = "concurrency", value_delimiter = ',', default_values_t = [1, 8, 32].map(|k| NonZeroUsize::new(k).expect("not zero")))]
    levels: Vec<NonZeroUsize>,
    /// Reach DynamoDB through the testkit's serializing endpoint.
    #[arg(long)]
    serialized: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LoadFamily {
    Loyalty,
    Contact,
}

/// What one level measured.
struct Level {
    in_flight: usize,
    events: usize,
    wall: Duration,
    cpu: Duration,
    latencies: Vec<Duration>,
    aws_calls: usize,
    aws_requests: usize,
    /// How many deliveries got each answer: all `(200, "processed")` when the level passed.
    answers: BTreeMap<(u16, String), usize>,
    /// What the effect check found wrong, if anything.
    effect_problem: Option<String>,
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let (family, events, serialized) = (options.family, options.events.get(), options.serialized);
    println!(
        "{family:?}: {events} events per level, against {}",
        endpoint()
    );
    println!("| in flight | events/s | mean ms | p50 ms | p99 ms | CPU µs/event | AWS calls/event | requests/event | not processed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for in_flight in options.levels.iter().map(|k| k.get()) {
        let level = match family {
            LoadFamily::Loyalty => loyalty(events, in_flight, serialized).await,
            LoadFamily::Contact => contact(events, in_flight, serialized).await,
        };
        println!("{}", row(&level));
        if level.answers.get(&processed()) != Some(&events) {
            eprintln!("FAILED at {in_flight} in flight: not every answer was 200 processed");
            failed = true;
        }
        if let Some(problem) = &level.effect_problem {
            eprintln!("FAILED at {in_flight} in flight: {problem}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
    println!("every event took exactly one effect at every level");
}

/// Loyalty: claim, send, complete per event; one message per event id in the queue.
async fn loyalty(events: usize, in_flight: usize, serialized: bool) -> Level {
    let rig = FanOutRig::new(Family::Loyalty, false).await;
    let (dynamodb, dynamodb_calls) = counted_dynamodb(&dynamodb_config(&rig, serialized).await);
    let (sqs, sqs_calls) = counted_sqs(&rig.sdk);
    let function = rig.function_with(dynamodb, sqs, &rig.queue_url, None);
    let (bodies, ids): (Vec<_>, Vec<_>) = (0..events)
        .map(|_| fresh_envelope("loyalty.addPoints"))
        .unzip();
    let mut level = deliver_all(function, &bodies, in_flight).await;
    level.aws_calls = dynamodb_calls.count() + sqs_calls.count();
    level.aws_requests = dynamodb_calls.attempts() + sqs_calls.attempts();

    let mut per_id: HashMap<String, usize> = HashMap::new();
    for message in rig.messages().await {
        let body: serde_json::Value =
            serde_json::from_str(message.body().unwrap_or_default()).expect("a JSON message");
        let id = body["eventId"].as_str().unwrap_or_default().to_string();
        *per_id.entry(id).or_default() += 1;
    }
    let exactly_once = ids.iter().filter(|id| per_id.get(*id) == Some(&1)).count();
    let messages: usize = per_id.values().sum();
    let records = item_count(&rig.sdk, &rig.dedup_table).await;
    if exactly_once != events || messages != events || records != events {
        level.effect_problem = Some(format!(
            "{events} events: {exactly_once} with exactly one message, {messages} messages, \
             {records} dedup records"
        ));
    }
    level
}

/// Contact: one transaction per event (mirror item and dedup record), each a contact of its
/// own, as a bulk update of distinct contacts is.
async fn contact(events: usize, in_flight: usize, serialized: bool) -> Level {
    let rig = MirrorRig::new().await;
    let (dynamodb, calls) = counted_dynamodb(&dynamodb_config(&rig, serialized).await);
    let function = rig.function_with(Family::Contact, dynamodb, &rig.contacts_table, None);
    let bodies: Vec<String> = (0..events)
        .map(|_| contact_envelope("contact.updated", &unique("contact")).0)
        .collect();
    let mut level = deliver_all(function, &bodies, in_flight).await;
    level.aws_calls = calls.count();
    level.aws_requests = calls.attempts();

    let items = item_count(&rig.sdk, &rig.contacts_table).await;
    let records = item_count(&rig.sdk, &rig.dedup_table).await;
    if items != events || records != events {
        level.effect_problem = Some(format!(
            "{events} events: {items} mirror items, {records} dedup records"
        ));
    }
    level
}

/// The SDK configuration the function's DynamoDB client gets: the rig's, or one through a
/// serializing endpoint of its own.
async fn dynamodb_config(app: &TestApp, serialized: bool) -> aws_config::SdkConfig {
    if serialized {
        serialized_local_aws().await
    } else {
        app.sdk.clone()
    }
}

/// Signs every body, then hands them to `function` from `in_flight` workers, each taking the
/// next request as soon as its previous one is answered (as Svix keeps K deliveries open).
async fn deliver_all<F: WebhookFunction + 'static>(
    function: F,
    bodies: &[String],
    in_flight: usize,
) -> Level {
    let requests: Vec<Request> = bodies
        .iter()
        .map(|b| signed_request(Shape::FunctionUrl, b))
        .collect();
    let queue = Arc::new(Mutex::new(requests.into_iter()));
    let function = Arc::new(function);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (queue, function) = (queue.clone(), function.clone());
        workers.spawn(async move {
            let mut answered = Vec::new();
            loop {
                // The lock is released before the delivery: the statement ends first.
                let Some(req) = queue.lock().expect("the queue lock").next() else {
                    return answered;
                };
                let sent = Instant::now();
                let response = function.handle(req).await;
                answered.push((sent.elapsed(), answer(&response)));
            }
        });
    }
    let mut latencies = Vec::with_capacity(bodies.len());
    let mut answers = BTreeMap::new();
    while let Some(done) = workers.join_next().await {
        for (latency, reply) in done.expect("a worker ran to its end") {
            latencies.push(latency);
            *answers.entry(reply).or_default() += 1;
        }
    }
    let wall = started.elapsed();
    let cpu = cpu_time() - cpu_before;
    latencies.sort();
    Level {
        in_flight,
        events: bodies.len(),
        wall,
        cpu,
        latencies,
        aws_calls: 0,
        aws_requests: 0,
        answers,
        effect_problem: None,
    }
}

/// User plus system CPU time this process has used so far (all threads).
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given, which is a zeroed, owned value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(
            libc::getrusage(libc::RUSAGE_SELF, &mut usage),
            0,
            "getrusage"
        );
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

fn row(level: &Level) -> String {
    let n = level.events.max(1);
    let total_latency: Duration = level.latencies.iter().sum();
    let percentile = |p: usize| {
        let i = (level.latencies.len() * p).div_ceil(100).saturating_sub(1);
        level
            .latencies
            .get(i)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let others: Vec<String> = level
        .answers
        .iter()
        .filter(|(answer, _)| **answer != processed())
        .map(|((status, reason), count)| format!("{count} x {status} {reason}"))
        .collect();
    format!(
        "| {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} | {:.2} | {} |",
        level.in_flight,
        level.events as f64 / level.wall.as_secs_f64(),
        total_latency.as_secs_f64() * 1e3 / n as f64,
        percentile(50),
        percentile(99),
        level.cpu.as_secs_f64() * 1e6 / n as f64,
        level.aws_calls as f64 / n as f64,
        level.aws_requests as f64 / n as f64,
        if others.is_empty() {
            "0".to_string()
        } else {
            others.join(", ")
        },
    )
}
