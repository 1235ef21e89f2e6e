//! systemd's readiness protocol (sd_notify(3)): one datagram of
//! newline-separated `KEY=VALUE` lines to the `AF_UNIX` socket named by
//! `$NOTIFY_SOCKET`, for a `Type=notify` (or `notify-reload`) unit.
//!
//! Written by hand rather than with the `sd-notify` crate: the protocol is
//! one `sendto`, std's `UnixDatagram` does it (abstract `@name` sockets
//! through `SocketAddr::from_abstract_name`), and no crate is needed.
//! Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.
//!
//! The variable is read once, at [`SdNotify::from_env`]; the socket is
//! addressed by path on each send, and systemd's default socket is
//! world-writable, so notifying keeps working after privileges drop.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// One assignment of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState<'a> {
    /// Start-up finished: listeners bound, workers serving.
    Ready,
    /// Reloading configuration (SIGHUP). systemd requires `MONOTONIC_USEC`
    /// with it (sd_notify(3), `Type=notify-reload`); it is added for you.
    Reloading,
    /// Shutting down (drain started).
    Stopping,
    /// A one-line status for `systemctl status` (newlines become spaces).
    Status(&'a str),
    /// Ask for this much more time before systemd's stop (or start) timeout
    /// fires, e.g. while draining long downloads.
    ExtendTimeoutUsec(u64),
}

/// The notifier: a no-op when not under systemd.
#[derive(Debug)]
pub struct SdNotify {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl SdNotify {
    /// From `$NOTIFY_SOCKET`; a no-op notifier when it is unset or empty.
    /// An unusable value (not a path or `@name`) is an error, so a broken
    /// unit is reported at start-up rather than timing out later.
    pub fn from_env() -> io::Result<SdNotify> {
        SdNotify::from_value(std::env::var_os("NOTIFY_SOCKET"))
    }

    /// [`SdNotify::from_env`] given the variable's value.
    fn from_value(v: Option<std::ffi::OsString>) -> io::Result<SdNotify> {
        match v {
            Some(v) if !v.is_empty() => {
                let v = v.into_string().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "NOTIFY_SOCKET is not UTF-8")
                })?;
                SdNotify::to(&v)
            }
            _ => Ok(SdNotify::disabled()),
        }
    }

    /// A notifier that does nothing.
    pub fn disabled() -> SdNotify {
        SdNotify { target: None }
    }

    /// Notifies the socket `addr`: an absolute path, or `@name` for the
    /// abstract namespace.
    pub fn to(addr: &str) -> io::Result<SdNotify> {
        let a = if let Some(name) = addr.strip_prefix('@') {
            SocketAddr::from_abstract_name(name.as_bytes())?
        } else if addr.starts_with('/') {
            SocketAddr::from_pathname(addr)?
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("NOTIFY_SOCKET {addr:?} is neither a path nor @abstract (vsock is not supported)"),
            ));
        };
        Ok(SdNotify {
            target: Some((UnixDatagram::unbound()?, a)),
        })
    }

    /// Whether notifications go anywhere.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `states` in one datagram (nothing when disabled).
    pub fn notify(&self, states: &[NotifyState<'_>]) -> io::Result<()> {
        let Some((sock, addr)) = &self.target else {
            return Ok(());
        };
        let msg = message(states, monotonic_usec);
        sock.send_to_addr(msg.as_bytes(), addr).map(|_| ())
    }

    pub fn ready(&self) -> io::Result<()> {
        self.notify(&[NotifyState::Ready])
    }

    pub fn reloading(&self) -> io::Result<()> {
        self.notify(&[NotifyState::Reloading])
    }

    pub fn stopping(&self) -> io::Result<()> {
        self.notify(&[NotifyState::Stopping])
    }

    pub fn status(&self, text: &str) -> io::Result<()> {
        self.notify(&[NotifyState::Status(text)])
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd compares it.
fn monotonic_usec() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0) / 1000
        }
        Err(_) => 0,
    }
}

/// The datagram's text.
fn message(states: &[NotifyState<'_>], now_usec: fn() -> u64) -> String {
    let mut m = String::new();
    for s in states {
        match s {
            NotifyState::Ready => m.push_str("READY=1\n"),
            NotifyState::Reloading => {
                m.push_str("RELOADING=1\n");
                m.push_str(&format!("MONOTONIC_USEC={}\n", now_usec()));
            }
            NotifyState::Stopping => m.push_str("STOPPING=1\n"),
            NotifyState::Status(t) => {
                m.push_str("STATUS=");
                m.extend(
                    t.chars()
                        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
                );
                m.push('\n');
            }
            NotifyState::ExtendTimeoutUsec(u) => m.push_str(&format!("EXTEND_TIMEOUT_USEC={u}\n")),
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn path_socket_gets_each_state() {
        let dir = std::env::temp_dir().join(format!("ringftpd-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        let n = SdNotify::to(path.to_str().unwrap()).unwrap();
        assert!(n.enabled());
        n.ready().unwrap();
        assert_eq!(recv(&server), "READY=1\n");
        n.stopping().unwrap();
        assert_eq!(recv(&server), "STOPPING=1\n");
        n.status("draining 3 transfers\nnow").unwrap();
        assert_eq!(recv(&server), "STATUS=draining 3 transfers now\n");
        n.notify(&[
            NotifyState::Stopping,
            NotifyState::ExtendTimeoutUsec(30_000_000),
        ])
        .unwrap();
        assert_eq!(recv(&server), "STOPPING=1\nEXTEND_TIMEOUT_USEC=30000000\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn reloading_carries_the_monotonic_clock() {
        let name = format!("ringftpd-notify-test-{}", std::process::id());
        let server =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = SdNotify::to(&format!("@{name}")).unwrap();
        let before = monotonic_usec();
        n.reloading().unwrap();
        let m = recv(&server);
        let after = monotonic_usec();
        let mut lines = m.lines();
        assert_eq!(lines.next(), Some("RELOADING=1"));
        let usec: u64 = lines
            .next()
            .unwrap()
            .strip_prefix("MONOTONIC_USEC=")
            .unwrap()
            .parse()
            .unwrap();
        assert!(before <= usec && usec <= after, "{before} {usec} {after}");
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn disabled_and_bad_addresses() {
        let n = SdNotify::disabled();
        assert!(!n.enabled());
        n.ready().unwrap();
        assert!(SdNotify::to("vsock:2:1234").is_err());
        assert!(!SdNotify::from_value(None).unwrap().enabled());
        assert!(!SdNotify::from_value(Some("".into())).unwrap().enabled());
        assert!(SdNotify::from_value(Some("@x".into())).unwrap().enabled());
        assert!(SdNotify::from_value(Some("nope".into())).is_err());
        assert!(SdNotify::to("relative/path").is_err());
    }

    #[test]
    fn message_of_every_state() {
        let m = message(
            &[
                NotifyState::Ready,
                NotifyState::Status("up"),
                NotifyState::Reloading,
            ],
            || 77,
        );
        assert_eq!(m, "READY=1\nSTATUS=up\nRELOADING=1\nMONOTONIC_USEC=77\n");
    }
}
