//! The request on the wire: the one HTTP POST the tool makes (rustls with aws-lc-rs, the
//! workspace's TLS stack, and the platform's root certificates; any status is an answer rather
//! than an error), the same request as a ready `curl` command, and the reason an answer gives.

use crate::SignedHeaders;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` with the signature headers to `url`.
pub fn post(
    url: &str,
    headers: &SignedHeaders,
    body: &str,
    timeout: Duration,
) -> Result<Answer, String> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("engage-sign/", env!("CARGO_PKG_VERSION")));
    if url.starts_with("https:") {
        config = config.tls_config(tls_config()?);
    }
    let agent: ureq::Agent = config.build().into();
    let mut request = agent.post(url).header("content-type", "application/json");
    for (name, value) in headers.pairs() {
        request = request.header(name, value);
    }
    let mut response = request
        .send(body.as_bytes())
        .map_err(|e| format!("POST {url} failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(10 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| format!("reading the answer from {url} failed: {e}"))?;
    Ok(Answer { status, body })
}

/// The reason of a function's JSON answer (`status` on success, `error` otherwise).
pub fn answer_reason(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("status")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A shell word in single quotes.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A ready `curl` command for a signed request.
pub fn curl_command(url: &str, headers: &SignedHeaders, body: &str) -> String {
    let mut cmd = format!("curl -sS -X POST {}", shell_quote(url));
    cmd.push_str(" \\\n  -H 'content-type: application/json'");
    for (name, value) in headers.pairs() {
        cmd.push_str(&format!(
            " \\\n  -H {}",
            shell_quote(&format!("{name}: {value}"))
        ));
    }
    cmd.push_str(&format!(" \\\n  --data-binary {}", shell_quote(body)));
    cmd
}

fn tls_config() -> Result<ureq::tls::TlsConfig, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let roots: Vec<ureq::tls::Certificate<'static>> = loaded
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    if roots.is_empty() {
        return Err(format!(
            "no trusted root certificates found on this machine ({} errors loading them)",
            loaded.errors.len()
        ));
    }
    Ok(ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A one-shot HTTP server that records the request and answers `status` with `answer`.
    fn serve_once(status: u16, answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/lambda-url/loyalty/",
            listener.local_addr().unwrap()
        );
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            head + &String::from_utf8(body).unwrap()
        });
        (url, handle)
    }

    fn headers() -> SignedHeaders {
        crate::sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_abc",
            1700000000,
            "{}",
            false,
        )
        .unwrap()
    }

    #[test]
    fn posts_the_body_and_the_three_headers() {
        let (url, server) = serve_once(200, r#"{"status":"processed"}"#);
        let body = r#"{"eventType":"loyalty.addPoints","payload":{"amount":150.50}}"#;
        let answer = post(&url, &headers(), body, Duration::from_secs(10)).unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, r#"{"status":"processed"}"#);
        let seen = server.join().unwrap();
        assert!(
            seen.starts_with("POST /lambda-url/loyalty/ HTTP/1.1\r\n"),
            "{seen}"
        );
        let signature = format!("svix-signature: {}", headers().signature());
        for h in [
            "svix-id: msg_abc",
            "svix-timestamp: 1700000000",
            signature.as_str(),
            "content-type: application/json",
        ] {
            assert!(
                seen.to_ascii_lowercase().contains(&h.to_ascii_lowercase()),
                "{h} missing in {seen}"
            );
        }
        assert!(seen.ends_with(&format!("\r\n\r\n{body}")), "{seen}");
    }

    #[test]
    fn error_statuses_are_answers_not_failures() {
        let (url, server) = serve_once(401, r#"{"error":"invalid_signature"}"#);
        let answer = post(&url, &headers(), "{}", Duration::from_secs(10)).unwrap();
        assert_eq!(answer.status, 401);
        server.join().unwrap();
    }

    /// The TLS set-up (aws-lc provider, platform roots) builds, and a server that does not
    /// speak TLS is an error, not a panic.
    #[test]
    fn https_is_set_up_and_a_non_tls_server_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        });
        let err = post(&url, &headers(), "{}", Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("POST"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn an_unreachable_endpoint_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        assert!(post(&url, &headers(), "{}", Duration::from_secs(5)).is_err());
    }

    #[test]
    fn curl_commands_quote_the_body() {
        let h = crate::sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            5,
            "{}",
            false,
        )
        .unwrap();
        let cmd = curl_command("http://h/", &h, r#"{"a":"it's"}"#);
        assert!(cmd.contains(r#"--data-binary '{"a":"it'\''s"}'"#), "{cmd}");
        assert!(cmd.contains("-H 'svix-timestamp: 5'"));
    }

    #[test]
    fn reasons_are_read_from_either_field() {
        assert_eq!(
            answer_reason(r#"{"status":"processed","message":"m"}"#).as_deref(),
            Some("processed")
        );
        assert_eq!(
            answer_reason(r#"{"error":"invalid_signature"}"#).as_deref(),
            Some("invalid_signature")
        );
        assert_eq!(answer_reason("Internal Server Error"), None);
    }
}
