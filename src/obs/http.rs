//! The `--metrics-listen ADDR:PORT` endpoint: a tiny HTTP/1.1 server on its
//! own thread with blocking std sockets, away from the workers' rings.
//!
//! `GET /metrics` (or `HEAD`) answers 200 with the text exposition format;
//! any other path 404, any other method 405, anything unparsable 400. One
//! connection at a time (a scraper every few seconds needs no more), each
//! bounded: the request head may be at most [`REQUEST_BYTES_MAX`] bytes and
//! must arrive within [`REQUEST_READ_SECS_MAX`] seconds in all, and the
//! answer must be taken within [`RESPONSE_WRITE_SECS_MAX`], so a client that
//! stalls holds the endpoint for seconds, never longer. Every response
//! closes the connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::metrics::Registry;

/// Largest request head read (request line and headers).
pub const REQUEST_BYTES_MAX: usize = 8 * 1024;

/// Time a client has to send its whole request head.
pub const REQUEST_READ_SECS_MAX: u64 = 5;

/// Time a client has to take the response.
pub const RESPONSE_WRITE_SECS_MAX: u64 = 10;

/// Bytes read and thrown away after answering, at most.
const DRAIN_BYTES_MAX: usize = 64 * 1024;

/// The content type Prometheus expects for format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running endpoint; [`MetricsServer::stop`] (or dropping it) ends the
/// thread.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` (port 0 picks a free one) and serves `registry` from a
    /// new thread named `metrics`.
    pub fn start(addr: SocketAddr, registry: Arc<Registry>) -> io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(listener, &registry, &stop2))?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address bound (with the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the thread (at most one connection's
    /// bounded time).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect_timeout(&wake_addr(self.addr), Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Where to connect to reach a listener bound to `addr` (a wildcard bind is
/// reached on loopback).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

fn serve(listener: TcpListener, registry: &Registry, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        // A failed accept (EMFILE, a reset) is that connection's problem.
        if let Ok(s) = conn {
            let _ = answer(s, registry);
        }
    }
}

fn answer(mut s: TcpStream, registry: &Registry) -> io::Result<()> {
    s.set_write_timeout(Some(Duration::from_secs(RESPONSE_WRITE_SECS_MAX)))?;
    let response = match read_head(&mut s)? {
        None => respond(400, "text/plain; charset=utf-8", b"bad request\n", true),
        Some(head) => route(&head, registry),
    };
    s.write_all(&response)?;
    let _ = s.shutdown(Shutdown::Write);
    drain(&mut s);
    Ok(())
}

/// Reads what the client still sends, briefly, before closing: closing a
/// socket with unread bytes sends a reset, which can destroy the response
/// in the client's buffers before it reads it (RFC 9112 §9.6 "lingering
/// close").
fn drain(s: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    let mut left = DRAIN_BYTES_MAX;
    if s.set_read_timeout(Some(Duration::from_secs(1))).is_err() {
        return;
    }
    while left > 0 {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Reads until the blank line ending the head; `None` when it is too long,
/// too slow or cut short.
fn read_head(s: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + Duration::from_secs(REQUEST_READ_SECS_MAX);
    let mut buf = vec![0u8; REQUEST_BYTES_MAX];
    let mut len = 0;
    loop {
        if let Some(end) = find_head_end(&buf[..len]) {
            buf.truncate(end);
            return Ok(Some(buf));
        }
        if len == buf.len() {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf[len..]) {
            Ok(0) => return Ok(None),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
    }
}

/// The end of `\r\n\r\n` (or a bare `\n\n`, which some tools send).
fn find_head_end(b: &[u8]) -> Option<usize> {
    let crlf = b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = b.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The response to a complete request head.
fn route(head: &[u8], registry: &Registry) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return respond(400, "text/plain; charset=utf-8", b"bad request\n", true);
    };
    if !version.starts_with(b"HTTP/1.") {
        return respond(400, "text/plain; charset=utf-8", b"bad request\n", true);
    }
    let head_only = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => {
            return respond(
                405,
                "text/plain; charset=utf-8",
                b"method not allowed\n",
                false,
            )
        }
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if path != b"/metrics" {
        return respond(
            404,
            "text/plain; charset=utf-8",
            b"not found; try /metrics\n",
            head_only,
        );
    }
    // HEAD renders too, so its Content-Length is what GET would send.
    respond(200, CONTENT_TYPE, registry.render().as_bytes(), head_only)
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    }
}

fn head_with_length(code: u16, content_type: &str, len: usize) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: close\r\n",
        status_text(code)
    );
    if code == 405 {
        h.push_str("Allow: GET, HEAD\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn respond(code: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let mut r = head_with_length(code, content_type, body.len());
    if !head_only {
        r.extend_from_slice(body);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::labels::RefusalReason;

    fn server() -> (MetricsServer, Vec<crate::obs::metrics::WorkerMetrics>) {
        let (reg, w) = Registry::new(1);
        let s = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(reg)).unwrap();
        (s, w)
    }

    /// Sends `req`, returns everything until the server closes.
    fn exchange(addr: SocketAddr, req: &[u8]) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        c.write_all(req).unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn get_metrics_is_200_with_the_exposition_content_type() {
        let (s, w) = server();
        w[0].refused(RefusalReason::Banned);
        let r = exchange(s.local_addr(), b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.contains("ringftpd_refused_total{reason=\"banned\"} 1\n"));
        s.stop();
    }

    #[test]
    fn query_string_is_ignored_and_head_has_no_body() {
        let (s, _w) = server();
        let r = exchange(s.local_addr(), b"GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK"));
        let r = exchange(s.local_addr(), b"HEAD /metrics HTTP/1.1\r\n\r\n");
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK"));
        assert!(!head.contains("Content-Length: 0"));
        assert_eq!(body, "");
    }

    #[test]
    fn other_paths_404_other_methods_405_junk_400() {
        let (s, _w) = server();
        let a = s.local_addr();
        assert!(exchange(a, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        assert!(exchange(a, b"GET /metricsx HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        let r = exchange(a, b"POST /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 405 ") && r.contains("Allow: GET, HEAD"));
        assert!(exchange(a, b"hello\r\n\r\n").starts_with("HTTP/1.1 400 "));
        assert!(exchange(a, b"GET /metrics SPDY/3\r\n\r\n").starts_with("HTTP/1.1 400 "));
        // Served again afterwards.
        assert!(exchange(a, b"GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 "));
    }

    #[test]
    fn oversized_request_is_refused() {
        let (s, _w) = server();
        let mut req = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        req.resize(REQUEST_BYTES_MAX + 100, b'a');
        let mut c = TcpStream::connect(s.local_addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        // The server may close before taking everything; ignore that error.
        let _ = c.write_all(&req);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400 "));
    }

    #[test]
    fn a_client_that_sends_nothing_does_not_block_the_next_for_long() {
        let (s, _w) = server();
        // Connects and stays silent; the server gives up on it after
        // REQUEST_READ_SECS_MAX and serves the next client.
        let _silent = TcpStream::connect(s.local_addr()).unwrap();
        let r = exchange(s.local_addr(), b"GET /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 "));
    }

    #[test]
    fn stop_ends_the_thread_and_frees_the_port() {
        let (s, _w) = server();
        let a = s.local_addr();
        s.stop();
        assert!(TcpStream::connect(a).is_err());
    }

    #[test]
    fn head_end_accepts_crlf_and_lf() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
