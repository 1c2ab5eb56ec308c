//! A function's real binary driven as Lambda drives it: a loopback Lambda Runtime API hands it
//! the events one by one and takes its answers, while its stdout and stderr (everything the
//! logs would hold) are captured. Minimal HTTP/1.1, enough for lambda_runtime's client.

use crate::fixtures::repo_root;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Function URL event carrying `body` with `headers`, as JSON text (what Lambda sends).
pub fn function_url_event(body: &str, headers: &[(String, String)]) -> String {
    let path = repo_root().join("events/requests/function-url.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut event: Value = serde_json::from_str(&text).expect("a JSON request shape");
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = Value::String(v.clone());
    }
    event["body"] = Value::String(body.into());
    event.to_string()
}

/// What a run printed and answered.
#[derive(Debug)]
pub struct BinaryRun {
    /// stdout then stderr.
    pub output: String,
    /// The answers posted back, in order (Lambda HTTP responses as JSON).
    pub answers: Vec<Value>,
}

#[derive(Default)]
struct State {
    events: Vec<String>,
    next: usize,
    answers: Vec<Value>,
}

/// Runs the binary at `bin` with `env` and hands it `events`; returns when every event is
/// answered (or after 60 s), the binary stopped.
pub fn run_binary(bin: &str, env: &[(&str, &str)], events: Vec<String>) -> BinaryRun {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    let want = events.len();
    let state = Arc::new(Mutex::new(State {
        events,
        ..State::default()
    }));
    let server_state = Arc::clone(&state);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = Arc::clone(&server_state);
            std::thread::spawn(move || serve(stream, &state));
        }
    });
    let mut cmd = Command::new(bin);
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "function")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "group")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    // Drained while it runs: a full pipe would block the binary.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let done = state
            .lock()
            .map(|s| s.answers.len() >= want)
            .unwrap_or(true);
        if done || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the last lines a moment to be written, then stop it.
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let _ = child.wait();
    let answers = state.lock().map(|s| s.answers.clone()).unwrap_or_default();
    BinaryRun {
        output: format!(
            "{}{}",
            stdout.join().unwrap_or_default(),
            stderr.join().unwrap_or_default()
        ),
        answers,
    }
}

/// One connection: requests in a loop (keep-alive). `next` blocks (as Lambda's does) while no
/// event is left.
fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = if request_line.contains("/invocation/next") {
            let event = loop {
                let next = state.lock().ok().and_then(|mut s| {
                    let i = s.next;
                    let event = s.events.get(i).cloned();
                    if event.is_some() {
                        s.next += 1;
                    }
                    event.map(|e| (i, e))
                });
                match next {
                    Some(e) => break e,
                    None => std::thread::sleep(Duration::from_secs(1)),
                }
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or(0);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: req-{}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-north-1:123456789012:function:function\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{}",
                event.0,
                event.1.len(),
                event.1
            )
        } else {
            if request_line.contains("/response") || request_line.contains("/error") {
                let answer = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if let Ok(mut s) = state.lock() {
                    s.answers.push(answer);
                }
            }
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                .to_string()
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
