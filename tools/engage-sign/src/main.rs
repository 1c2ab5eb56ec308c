//! `engage-sign`: Svix-signed (and optionally Engage-encrypted) webhook deliveries.
//!
//!   engage-sign resign [--out DIR]
//!   engage-sign send <envelope.json> [--url URL] [--encrypt aes-256-gcm|aes-256-cbc] ...
//!
//! Run `engage-sign help` for everything.

use clap::{Args, Parser, Subcommand};
use engage_sign::http::Answer;
use engage_sign::{
    answer_reason, curl_command, env_json, find_root, new_msg_id, now_seconds, parse_env_file,
    prepare, read_envelopes, sample_events, sign, Options, Prepared, SampleEvent, Secrets,
    SignedHeaders,
};
use engage_webhooks::{Family, PayloadCipher, PayloadKey};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Signs Engage webhook envelopes the way Svix does, and encrypts payloads the way Engage
/// does, with the test settings of events/local.env unless told otherwise.
#[derive(Parser)]
#[command(
    name = "engage-sign",
    version,
    arg_required_else_help = true,
    args_override_self = true,
    flatten_help = true,
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const AFTER_HELP: &str = "\
Defaults: --secret is the first entry of the event family's own $ENGAGE_<FAMILY>_SIGNING_SECRETS
(for example $ENGAGE_LOYALTY_SIGNING_SECRETS: each Engage endpoint has its own secret), else of
$ENGAGE_SIGNING_SECRETS; --key the first of $ENGAGE_PAYLOAD_KEYS; where none of the signing
variables is set, the values in events/local.env.

Exit status: 0 printed, or a 2xx answer; 1 a non-2xx answer; 2 bad usage or input; 3 the POST
failed.";

#[derive(Subcommand)]
enum Command {
    /// Writes sample events signed now to .local/events/sam/ (and .local/events/env.json)
    ///
    /// For every envelope in events/envelopes/ a `sam local invoke` event (API Gateway HTTP
    /// API v2 shape, POST /webhooks/<family>) signed now, plaintext, and
    /// <type>.encrypted.json with the payload encrypted (own event id: <id>-encrypted), in
    /// <out>/sam/, and the --env-vars file <out>/env.json. Signatures are valid for 5
    /// minutes: run it again to refresh. The default <out> is the untracked .local/events, so
    /// a run never changes tracked files; `--out events` refreshes the committed copies
    /// (after an envelope or events/local.env changed). Always uses events/local.env (the
    /// settings of env.json), never the environment.
    Resign(ResignArgs),
    /// Signs one envelope and prints the request, or POSTs it with --url and prints the answer
    ///
    /// The envelope is minified (whitespace between tokens removed, every token byte for
    /// byte), optionally given another event id and an encrypted payload, then signed.
    Send(Box<SendArgs>),
}

#[derive(Args)]
struct ResignArgs {
    /// The repository root (default: the nearest directory holding events/local.env)
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Where to write sam/ and env.json, relative to the root unless absolute
    #[arg(long, value_name = "DIR", default_value = DEFAULT_RESIGN_OUT)]
    out: PathBuf,
}

/// Re-signed events go here by default: untracked (`.local/` is ignored), so re-signing before
/// every local run leaves the checkout clean.
const DEFAULT_RESIGN_OUT: &str = ".local/events";

#[derive(Args)]
struct SendArgs {
    /// The envelope file, or - for standard input
    #[arg(value_name = "envelope.json | -")]
    envelope: String,
    /// POST to URL (Function URL, HTTP API route, or cargo lambda watch's
    /// http://127.0.0.1:<port>/lambda-url/<function>/) and print the answer
    #[arg(long, value_name = "URL", conflicts_with = "base_url")]
    url: Option<String>,
    /// POST to BASE/<family of the event type>, e.g. the HTTP API's https://<api>/webhooks
    /// or http://127.0.0.1:<port>/lambda-url
    #[arg(long, value_name = "BASE")]
    base_url: Option<String>,
    /// Print a ready curl command (to --url, else to $URL) instead
    #[arg(long)]
    curl: bool,
    /// Print one JSON line (eventType, eventId, status, reason, ...) for scripts
    #[arg(long)]
    json: bool,
    /// Encrypt the payload: aes-256-gcm or aes-256-cbc (sets isEncrypted true)
    #[arg(long, value_name = "CIPHER")]
    encrypt: Option<PayloadCipher>,
    /// Payload key (32 characters of a-z, A-Z, 0-9)
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Signing secret
    #[arg(long, value_name = "whsec_...")]
    secret: Option<String>,
    /// Replace the envelope's event id (eventId, or id where it uses that)
    #[arg(long, value_name = "ID")]
    event_id: Option<String>,
    /// The svix-id (default: a fresh msg_... id)
    #[arg(long, value_name = "ID")]
    msg_id: Option<String>,
    /// The svix-timestamp in Unix seconds (default: now)
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    timestamp: Option<i64>,
    /// Sign with a random secret instead (the answer must be 401)
    #[arg(long)]
    bad_signature: bool,
    /// Also send this header, e.g. the custom header of ENGAGE_CUSTOM_HEADER
    /// ("X-Engage-Token: <token>"); repeat for several
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Give up on the POST after SECS seconds
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// The repository root, for events/local.env (default: the nearest directory holding it)
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Resign(args) => resign(args),
        Command::Send(args) => send(*args),
    };
    result.unwrap_or_else(|failure| {
        let (code, msg) = match failure {
            Failure::Input(msg) => (2, msg),
            Failure::Transport(msg) => (3, msg),
        };
        eprintln!("engage-sign: {msg}");
        ExitCode::from(code)
    })
}

/// Why a command failed (bad usage is clap's, exit status 2).
enum Failure {
    /// A file, setting or value could not be used: exit status 2.
    Input(String),
    /// The POST could not be made: exit status 3.
    Transport(String),
}

/// Turns an error into an input failure that names what it concerns.
fn input<E: std::fmt::Display>(context: impl std::fmt::Display) -> impl Fn(E) -> Failure {
    move |e| Failure::Input(format!("{context}: {e}"))
}

/// Reads the sample envelopes and events/local.env, signs one event of each kind now and
/// writes them to <out>/sam/ (dropping events of envelopes that no longer exist), writes
/// <out>/env.json and lists what it wrote.
fn resign(args: ResignArgs) -> Result<ExitCode, Failure> {
    let root = root(args.root);
    let file = local_env(&root)?;
    let secrets = Secrets::from_file(&file).map_err(Failure::Input)?;
    let envelopes = read_envelopes(&root.join("events/envelopes")).map_err(Failure::Input)?;
    let template = read(&root.join("events/requests/apigw-http-v2.json"))?;
    let events = sample_events(&envelopes, &template, &secrets).map_err(Failure::Input)?;

    let out = root.join(&args.out);
    let out_dir = out.join("sam");
    std::fs::create_dir_all(&out_dir).map_err(input(out_dir.display()))?;
    drop_stale_events(&out_dir, &events);
    for event in &events {
        write(&out_dir.join(&event.file_name), &event.json)?;
    }
    let env_path = out.join("env.json");
    write(&env_path, &env_json(&file).map_err(Failure::Input)?)?;
    print_written(&events, &out_dir, &env_path);
    Ok(ExitCode::SUCCESS)
}

/// Removes the `*.json` files of `dir` that are none of `events`.
fn drop_stale_events(dir: &Path, events: &[SampleEvent]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".json") && !events.iter().any(|e| e.file_name == name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn print_written(events: &[SampleEvent], out_dir: &Path, env_path: &Path) {
    // A closed stdout (`| head`) must not turn a finished job into a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "wrote {} events to {} (valid for 5 minutes) and {}",
        events.len(),
        out_dir.display(),
        env_path.display()
    );
    for e in events {
        let kind = if e.encrypted {
            "encrypted"
        } else {
            "plaintext"
        };
        let _ = writeln!(
            stdout,
            "  {:<46} {:<9} {kind}",
            e.file_name,
            e.family.as_str()
        );
    }
}

/// Prepares the envelope (event id, encryption), signs it, then prints it as a curl command,
/// prints the request, or POSTs it and prints the answer.
fn send(args: SendArgs) -> Result<ExitCode, Failure> {
    let envelope = read_envelope(&args.envelope)?;
    let file = local_env(&root(args.root.clone()))?;
    let settings = Secrets::resolve(|k| std::env::var(k).ok(), &file);
    let options = Options {
        event_id: args.event_id.clone(),
        encrypt: encryption(&args, settings.as_ref().ok())?,
    };
    let prepared = prepare(&envelope, &options).map_err(input(&args.envelope))?;
    let secret = signing_secret(&args, &settings, prepared.family)?;
    let msg_id = args.msg_id.clone().unwrap_or_else(new_msg_id);
    let timestamp = args.timestamp.unwrap_or_else(now_seconds);
    let headers = sign(
        &secret,
        &msg_id,
        timestamp,
        &prepared.body,
        args.bad_signature,
    )
    .map_err(input("--secret"))?;
    let headers = args
        .headers
        .iter()
        .try_fold(headers, |signed, spec| signed.with_header(spec))
        .map_err(input("--header"))?;
    match (args.curl, target_url(&args, &prepared)?) {
        (true, url) => {
            let url = url.as_deref().unwrap_or("${URL:?set URL}");
            println!("{}", curl_command(url, &headers, &prepared.body));
        }
        (false, None) => print_request(&prepared, &headers, args.json),
        (false, Some(url)) => return post(&prepared, &headers, &url, &args),
    }
    Ok(ExitCode::SUCCESS)
}

/// POSTs the signed request and prints the answer; a non-2xx answer is exit status 1.
fn post(
    prepared: &Prepared,
    headers: &SignedHeaders,
    url: &str,
    args: &SendArgs,
) -> Result<ExitCode, Failure> {
    let timeout = Duration::from_secs(args.timeout);
    let answer = engage_sign::http::post(url, headers, &prepared.body, timeout)
        .map_err(Failure::Transport)?;
    print_answer(prepared, headers, url, &answer, args);
    Ok(if (200..300).contains(&answer.status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--secret`, else the event family's own signing secret (`ENGAGE_<FAMILY>_SIGNING_SECRETS`)
/// or the shared one, from the environment or events/local.env.
fn signing_secret(
    args: &SendArgs,
    settings: &Result<Secrets, String>,
    family: Option<Family>,
) -> Result<String, Failure> {
    match (&args.secret, settings) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, Ok(settings)) => settings
            .signing_secret_for(family)
            .map(str::to_string)
            .map_err(Failure::Input),
        (None, Err(e)) => Err(Failure::Input(e.clone())),
    }
}

/// The envelope's text, from the file or, for `-`, from standard input.
fn read_envelope(path: &str) -> Result<String, Failure> {
    if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Failure::Input(format!("stdin: {e}")))
    } else {
        std::fs::read_to_string(path).map_err(|e| Failure::Input(format!("{path}: {e}")))
    }
}

/// The cipher and key of `--encrypt`: the key from `--key`, else the settings.
fn encryption(
    args: &SendArgs,
    env: Option<&Secrets>,
) -> Result<Option<(PayloadCipher, PayloadKey)>, Failure> {
    let Some(cipher) = args.encrypt else {
        return Ok(None);
    };
    let key = args
        .key
        .clone()
        .or_else(|| env.and_then(|s| s.payload_key.clone()))
        .ok_or_else(|| {
            Failure::Input("no payload key: set ENGAGE_PAYLOAD_KEYS or pass --key".into())
        })?;
    let key = PayloadKey::parse(&key).map_err(input("--key"))?;
    Ok(Some((cipher, key)))
}

/// Where to POST: `--url`, or `--base-url` plus the family of the event type.
fn target_url(args: &SendArgs, prepared: &Prepared) -> Result<Option<String>, Failure> {
    if let Some(url) = &args.url {
        return Ok(Some(url.clone()));
    }
    let Some(base) = &args.base_url else {
        return Ok(None);
    };
    let family = prepared.family.ok_or_else(|| {
        Failure::Input(format!(
            "--base-url: no function handles event type {:?}; use --url",
            prepared.event_type
        ))
    })?;
    Ok(Some(format!("{}/{family}", base.trim_end_matches('/'))))
}

/// The signed request, as one JSON line (`--json`) or as headers and body.
fn print_request(prepared: &Prepared, headers: &SignedHeaders, as_json: bool) {
    if as_json {
        let mut line = describe(prepared);
        let pairs: BTreeMap<String, String> = headers.pairs().into_iter().collect();
        line.insert("headers".into(), json!(pairs));
        line.insert("body".into(), prepared.body.clone().into());
        println!("{}", Value::Object(line));
    } else {
        for (name, value) in headers.pairs() {
            println!("{name}: {value}");
        }
        println!("content-type: application/json\n\n{}", prepared.body);
    }
}

/// The function's answer, as one JSON line (`--json`) or as status line and body.
fn print_answer(
    prepared: &Prepared,
    headers: &SignedHeaders,
    url: &str,
    answer: &Answer,
    args: &SendArgs,
) {
    if args.json {
        let mut line = describe(prepared);
        for (key, value) in [
            ("badSignature", json!(args.bad_signature)),
            ("svixId", json!(headers.msg_id())),
            ("url", json!(url)),
            ("status", json!(answer.status)),
            ("reason", json!(answer_reason(&answer.body))),
            ("answer", json!(answer.body)),
        ] {
            line.insert(key.into(), value);
        }
        println!("{}", Value::Object(line));
    } else {
        println!("HTTP {}", answer.status);
        println!("{}", answer.body);
    }
}

/// What `--json` says of every request: the event it carries.
fn describe(prepared: &Prepared) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("eventType".into(), json!(prepared.event_type));
    map.insert("eventId".into(), json!(prepared.event_id));
    map.insert("family".into(), json!(prepared.family.map(|f| f.as_str())));
    map.insert("encrypted".into(), json!(prepared.encrypted));
    map
}

fn root(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        find_root(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
    })
}

/// `events/local.env` under `root`, empty when there is none.
fn local_env(root: &Path) -> Result<BTreeMap<String, String>, Failure> {
    let path = root.join("events/local.env");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_env_file(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Failure::Input(format!("{}: {e}", path.display()))),
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}
