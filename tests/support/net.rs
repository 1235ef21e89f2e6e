//! Sockets: a connection from a source address of our choice (127.0.0.2 is
//! a second loopback source), trap listeners that must stay untouched, and
//! whether IPv6 loopback exists here.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;

use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrStorage};

use super::ftp::REPLY_TIMEOUT;

/// A TCP connection from `src` (port 0) to `dst`, reads bounded by
/// [`REPLY_TIMEOUT`].
pub fn connect_from(src: IpAddr, dst: SocketAddr) -> io::Result<TcpStream> {
    let family = if src.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd: OwnedFd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(SocketAddr::new(src, 0)),
    )?;
    connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(dst),
    )?;
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(REPLY_TIMEOUT))?;
    Ok(s)
}

/// A listener on `ip` (port 0) that the test checks for unwanted connections.
pub fn trap_listener(ip: &str) -> TcpListener {
    let l = TcpListener::bind((ip, 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

/// True when nothing connected to `l`.
pub fn trap_untouched(l: &TcpListener) -> bool {
    matches!(l.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// True when `::1` can be bound here.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}
