//! `engage-sign`: Svix-signed (and optionally Engage-encrypted) webhook deliveries.
//!
//!   engage-sign resign
//!   engage-sign send <envelope.json> [--url URL] [--encrypt aes-256-gcm|aes-256-cbc] ...
//!
//! Run `engage-sign help` for everything.

use engage_sign::{
    answer_reason, curl_command, env_json, find_root, new_msg_id, now_seconds, parse_env_file,
    prepare, read_envelopes, sample_events, sign, Options, Secrets,
};
use engage_webhooks::crypto::{PayloadCipher, PayloadKey};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const HELP: &str = "\
engage-sign: signs Engage webhook envelopes the way Svix does, and encrypts payloads the way
Engage does, with the test settings of events/local.env unless told otherwise.

USAGE
  engage-sign resign [--root DIR]
      Rewrites events/sam/: for every envelope in events/envelopes/ a `sam local invoke` event
      (API Gateway HTTP API v2 shape, POST /webhooks/<family>) signed now, plaintext, and
      <type>.encrypted.json with the payload encrypted (own event id: <id>-encrypted). Also
      rewrites events/env.json. Signatures are valid for 5 minutes: run it again to refresh.
      Always uses events/local.env (the settings of events/env.json), never the environment.

  engage-sign send <envelope.json | -> [OPTIONS]
      Signs one envelope (minified: whitespace between tokens removed, every token byte for
      byte) and prints the request, or POSTs it with --url and prints the answer.

SEND OPTIONS
  --url URL            POST to URL (Function URL, HTTP API route, or cargo lambda watch's
                       http://127.0.0.1:<port>/lambda-url/<function>/) and print the answer
  --base-url BASE      POST to BASE/<family of the event type>, e.g. the HTTP API's
                       https://<api>/webhooks or http://127.0.0.1:<port>/lambda-url
  --curl               print a ready curl command (to --url, else to $URL) instead
  --json               print one JSON line (eventType, eventId, status, reason, ...) for scripts
  --encrypt CIPHER     encrypt the payload: aes-256-gcm or aes-256-cbc (sets isEncrypted true)
  --key KEY            payload key (32 characters of a-z, A-Z, 0-9)
  --secret whsec_...   signing secret
  --event-id ID        replace the envelope's event id (eventId, or id where it uses that)
  --msg-id ID          svix-id (default: a fresh msg_... id)
  --timestamp SECS     svix-timestamp in Unix seconds (default: now)
  --bad-signature      sign with a random secret instead (the answer must be 401)
  --timeout SECS       give up on the POST after SECS seconds (default 30)

  Defaults: --secret is the first entry of $ENGAGE_SIGNING_SECRETS, --key the first of
  $ENGAGE_PAYLOAD_KEYS; where unset, the values in events/local.env.

EXIT STATUS
  0 printed, or a 2xx answer; 1 a non-2xx answer; 2 bad usage or input; 3 the POST failed.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("resign") => resign(&args[1..]),
        Some("send") => send(&args[1..]),
        Some("help" | "-h" | "--help") | None => {
            print!("{HELP}");
            return if args.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        Some(other) => Err(Failure::Usage(format!("unknown command {other:?}"))),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            eprintln!("engage-sign: {msg}\nRun `engage-sign help` for usage.");
            ExitCode::from(2)
        }
        Err(Failure::Input(msg)) => {
            eprintln!("engage-sign: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Transport(msg)) => {
            eprintln!("engage-sign: {msg}");
            ExitCode::from(3)
        }
    }
}

enum Failure {
    Usage(String),
    Input(String),
    Transport(String),
}

/// `--name value` / `--name=value` options and bare words, in order.
struct Args {
    options: BTreeMap<String, Option<String>>,
    positional: Vec<String>,
}

fn parse_args(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Args, Failure> {
    let mut options = BTreeMap::new();
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "-" || !arg.starts_with('-') {
            positional.push(arg.clone());
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let name = name.trim_start_matches('-');
        if with_value.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?,
            };
            options.insert(name.to_string(), Some(value));
        } else if flags.contains(&name) && inline.is_none() {
            options.insert(name.to_string(), None);
        } else {
            return Err(Failure::Usage(format!("unknown option {arg}")));
        }
    }
    Ok(Args {
        options,
        positional,
    })
}

impl Args {
    fn value(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_deref())
    }
    fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }
}

fn root(args: &Args) -> PathBuf {
    match args.value("root") {
        Some(dir) => PathBuf::from(dir),
        None => find_root(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))),
    }
}

fn local_env(root: &Path) -> Result<BTreeMap<String, String>, Failure> {
    let path = root.join("events/local.env");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_env_file(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Failure::Input(format!("{}: {e}", path.display()))),
    }
}

fn resign(args: &[String]) -> Result<ExitCode, Failure> {
    let args = parse_args(args, &["root"], &[])?;
    if !args.positional.is_empty() {
        return Err(Failure::Usage("resign takes no arguments".into()));
    }
    let root = root(&args);
    let file = local_env(&root)?;
    let secrets = Secrets::from_file(&file).map_err(Failure::Input)?;
    let envelopes = read_envelopes(&root.join("events/envelopes")).map_err(Failure::Input)?;
    let template_path = root.join("events/requests/apigw-http-v2.json");
    let template = std::fs::read_to_string(&template_path)
        .map_err(|e| Failure::Input(format!("{}: {e}", template_path.display())))?;
    let events = sample_events(&envelopes, &template, &secrets).map_err(Failure::Input)?;

    let out_dir = root.join("events/sam");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| Failure::Input(format!("{}: {e}", out_dir.display())))?;
    // Drop events of envelopes that no longer exist.
    if let Ok(entries) = std::fs::read_dir(&out_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".json") && !events.iter().any(|e| e.file_name == name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    for event in &events {
        let path = out_dir.join(&event.file_name);
        std::fs::write(&path, &event.json)
            .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    }
    let env_path = root.join("events/env.json");
    std::fs::write(&env_path, env_json(&file).map_err(Failure::Input)?)
        .map_err(|e| Failure::Input(format!("{}: {e}", env_path.display())))?;
    // A closed stdout (`| head`) must not turn a finished job into a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "wrote {} events to {} (valid for 5 minutes) and {}",
        events.len(),
        out_dir.display(),
        env_path.display()
    );
    for e in &events {
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
    Ok(ExitCode::SUCCESS)
}

fn send(args: &[String]) -> Result<ExitCode, Failure> {
    let args = parse_args(
        args,
        &[
            "url",
            "base-url",
            "encrypt",
            "key",
            "secret",
            "event-id",
            "msg-id",
            "timestamp",
            "timeout",
            "root",
        ],
        &["bad-signature", "curl", "json"],
    )?;
    let [envelope_path] = args.positional.as_slice() else {
        return Err(Failure::Usage(
            "send needs exactly one envelope file".into(),
        ));
    };
    let envelope = if envelope_path == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::Input(format!("stdin: {e}")))?
    } else {
        std::fs::read_to_string(envelope_path)
            .map_err(|e| Failure::Input(format!("{envelope_path}: {e}")))?
    };

    let file = local_env(&root(&args))?;
    let env = Secrets::resolve(|k| std::env::var(k).ok(), &file);
    let secret = match args.value("secret") {
        Some(s) => s.to_string(),
        None => env
            .as_ref()
            .map_err(|e| Failure::Input(e.clone()))?
            .signing_secret
            .clone(),
    };
    let mut options = Options {
        event_id: args.value("event-id").map(str::to_string),
        encrypt: None,
    };
    if let Some(cipher) = args.value("encrypt") {
        let cipher: PayloadCipher = cipher
            .parse()
            .map_err(|e| Failure::Usage(format!("--encrypt: {e}")))?;
        let key = match args.value("key") {
            Some(k) => k.to_string(),
            None => env
                .as_ref()
                .ok()
                .and_then(|s| s.payload_key.clone())
                .ok_or_else(|| {
                    Failure::Input("no payload key: set ENGAGE_PAYLOAD_KEYS or pass --key".into())
                })?,
        };
        let key = PayloadKey::parse(&key).map_err(|e| Failure::Input(format!("--key: {e}")))?;
        options.encrypt = Some((cipher, key));
    }
    let prepared = prepare(&envelope, &options)
        .map_err(|e| Failure::Input(format!("{envelope_path}: {e}")))?;
    let timestamp = match args.value("timestamp") {
        Some(t) => t
            .parse()
            .map_err(|_| Failure::Usage("--timestamp must be Unix seconds".into()))?,
        None => now_seconds(),
    };
    let msg_id = args
        .value("msg-id")
        .map(str::to_string)
        .unwrap_or_else(new_msg_id);
    let bad = args.flag("bad-signature");
    let headers = sign(&secret, &msg_id, timestamp, &prepared.body, bad)
        .map_err(|e| Failure::Input(format!("--secret: {e}")))?;

    let url = match (args.value("url"), args.value("base-url")) {
        (Some(_), Some(_)) => {
            return Err(Failure::Usage("give --url or --base-url, not both".into()))
        }
        (Some(url), None) => Some(url.to_string()),
        (None, Some(base)) => {
            let family = prepared.family.ok_or_else(|| {
                Failure::Input(format!(
                    "--base-url: no function handles event type {:?}; use --url",
                    prepared.event_type
                ))
            })?;
            Some(format!("{}/{family}", base.trim_end_matches('/')))
        }
        (None, None) => None,
    };
    let url = url.as_deref();
    if args.flag("curl") {
        println!(
            "{}",
            curl_command(url.unwrap_or("${URL:?set URL}"), &headers, &prepared.body)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(url) = url else {
        if args.flag("json") {
            let mut line = describe(&prepared);
            line.insert(
                "headers".into(),
                serde_json::json!(headers
                    .pairs()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<BTreeMap<_, _>>()),
            );
            line.insert("body".into(), prepared.body.clone().into());
            println!("{}", serde_json::Value::Object(line));
        } else {
            for (name, value) in headers.pairs() {
                println!("{name}: {value}");
            }
            println!("content-type: application/json\n\n{}", prepared.body);
        }
        return Ok(ExitCode::SUCCESS);
    };

    let timeout = match args.value("timeout") {
        Some(t) => t
            .parse()
            .map_err(|_| Failure::Usage("--timeout must be seconds".into()))?,
        None => 30,
    };
    let answer =
        engage_sign::http::post(url, &headers, &prepared.body, Duration::from_secs(timeout))
            .map_err(Failure::Transport)?;
    let reason = answer_reason(&answer.body);
    if args.flag("json") {
        let mut line = describe(&prepared);
        for (key, value) in [
            ("badSignature", serde_json::json!(bad)),
            ("svixId", serde_json::json!(headers.msg_id)),
            ("url", serde_json::json!(url)),
            ("status", serde_json::json!(answer.status)),
            ("reason", serde_json::json!(reason)),
            ("answer", serde_json::json!(answer.body)),
        ] {
            line.insert(key.into(), value);
        }
        let line = serde_json::Value::Object(line);
        println!("{line}");
    } else {
        println!("HTTP {}", answer.status);
        println!("{}", answer.body);
    }
    Ok(if (200..300).contains(&answer.status) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What `--json` says of every request: the event it carries.
fn describe(prepared: &engage_sign::Prepared) -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(map) = serde_json::json!({
        "eventType": prepared.event_type,
        "eventId": prepared.event_id,
        "family": prepared.family.map(|f| f.as_str()),
        "encrypted": prepared.encrypted,
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}
