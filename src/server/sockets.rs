//! Socket set-up with safe nix calls: control listeners (SO_REUSEPORT, one
//! per worker on the same port), passive data listeners on a worker's own
//! port slice, and active-mode data sockets bound to the control address.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sys::socket::{listen, setsockopt, sockopt, Backlog};

use crate::socket::{bind_to, stream_socket};
pub use crate::socket::{local_addr, peer_addr};

/// A non-blocking TCP socket; an IPv6 one takes IPv6 only (a listener on
/// `[::]` must not also take the IPv4 port).
fn new_socket(ip: IpAddr) -> Result<OwnedFd, Errno> {
    let fd = stream_socket(ip)?;
    if ip.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    Ok(fd)
}

/// A control listener; with `reuse_port` several workers share the port.
pub fn control_listener(addr: SocketAddr, backlog: i32) -> Result<OwnedFd, Errno> {
    let fd = new_socket(addr.ip())?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::ReusePort, &true)?;
    bind_to(&fd, addr)?;
    listen(&fd, Backlog::new(backlog).unwrap_or(Backlog::MAXCONN))?;
    Ok(fd)
}

/// A passive listener on `ip` at the first free port of `slice`, starting
/// after `*cursor` (which moves on, so ports are used round-robin).
pub fn passive_listener(
    ip: IpAddr,
    slice: (u16, u16),
    cursor: &mut u16,
) -> Result<(OwnedFd, u16), Errno> {
    let (lo, hi) = slice;
    let span = u32::from(hi - lo) + 1;
    let mut last = Errno::EADDRINUSE;
    for _ in 0..span {
        let port = lo + ((u32::from(cursor.wrapping_sub(lo)) + 1) % span) as u16;
        *cursor = port;
        let fd = new_socket(ip)?;
        // A port whose last data connection sits in TIME_WAIT may be bound
        // again (without this a busy range runs dry for 60 s); a port with a
        // live listener still fails with EADDRINUSE.
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
        match bind_to(&fd, SocketAddr::new(ip, port)) {
            Ok(()) => {
                listen(&fd, Backlog::new(4).unwrap_or(Backlog::MAXCONN))?;
                return Ok((fd, port));
            }
            Err(e @ (Errno::EADDRINUSE | Errno::EACCES)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A non-blocking socket for an active-mode data connection, bound to the
/// control connection's local address so the client sees one server address.
pub fn active_socket(local_ip: IpAddr) -> Result<OwnedFd, Errno> {
    let fd = new_socket(local_ip)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind_to(&fd, SocketAddr::new(local_ip, 0))?;
    Ok(fd)
}
