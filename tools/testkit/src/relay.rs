//! The plain HTTP/1.1 relaying that [`serializing_endpoint`](crate::serializing_endpoint) and
//! [`FaultProxy`](crate::FaultProxy) share: a loopback listener, one message read off a
//! connection, a request forwarded upstream on its own connection (`connection: close`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A listener on a fresh loopback port, and its `http://127.0.0.1:port` URL.
pub(crate) async fn loopback_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    (listener, format!("http://127.0.0.1:{port}"))
}

/// `http://host:port/` -> `host:port`, what [`TcpStream::connect`] takes.
pub(crate) fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// One HTTP/1.1 message (head and `content-length` body); `None` if the peer closed first.
pub(crate) async fn read_message(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = head_end(&message) {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        message.extend_from_slice(&chunk[..read]);
    };
    let length = header(&message[..head_end], "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while message.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        message.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(message))
}

/// Where the message's head ends (the `\r\n\r\n` before the body), if it has one yet.
pub(crate) fn head_end(message: &[u8]) -> Option<usize> {
    message.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The value of header `name` (any case) in an HTTP head.
pub(crate) fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

/// `request` sent to `upstream` (`host:port`) on a connection of its own, and the whole
/// answer read back.
pub(crate) async fn forward(request: &[u8], upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&closing(request)).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    Ok(response)
}

/// The HTTP message with its `connection` headers replaced by `connection: close`.
pub(crate) fn closing(message: &[u8]) -> Vec<u8> {
    let Some(head_end) = head_end(message) else {
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
