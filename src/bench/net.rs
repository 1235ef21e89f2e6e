//! Socket set-up with safe nix calls; the ring does connect/accept/IO.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, getsockname, listen, setsockopt, shutdown, socket, sockopt, AddressFamily, Backlog,
    Shutdown, SockFlag, SockType, SockaddrStorage,
};

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// A non-blocking TCP socket for a connection to `peer`, bound to `source`
/// when given. IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(),
/// so each source address gets the whole ephemeral range per destination.
pub fn client_socket(peer: IpAddr, source: Option<IpAddr>) -> Result<OwnedFd, Errno> {
    let fd = socket(
        family(peer),
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    let _ = setsockopt(&fd, sockopt::TcpNoDelay, &true);
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == peer.is_ipv4()) {
        let _ = setsockopt(&fd, sockopt::IpBindAddressNoPort, &true);
        bind(
            fd.as_raw_fd(),
            &SockaddrStorage::from(SocketAddr::new(ip, 0)),
        )?;
    }
    Ok(fd)
}

/// A listener on `ip`, port chosen by the kernel (active-mode data channel).
pub fn data_listener(ip: IpAddr) -> Result<(OwnedFd, SocketAddr), Errno> {
    let fd = socket(
        family(ip),
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    bind(
        fd.as_raw_fd(),
        &SockaddrStorage::from(SocketAddr::new(ip, 0)),
    )?;
    listen(&fd, Backlog::new(1).unwrap_or(Backlog::MAXCONN))?;
    let addr = local_addr(&fd).ok_or(Errno::EINVAL)?;
    Ok((fd, addr))
}

/// The local address of a socket.
pub fn local_addr(fd: &OwnedFd) -> Option<SocketAddr> {
    let sa = getsockname::<SockaddrStorage>(fd.as_raw_fd()).ok()?;
    if let Some(v4) = sa.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    sa.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

/// Ends both directions now, so an op still waiting on the socket completes
/// (with EOF) even though its fd stays open until the op lets go of it.
pub fn shut(fd: &OwnedFd, how: Shutdown) {
    let _ = shutdown(fd.as_raw_fd(), how);
}
