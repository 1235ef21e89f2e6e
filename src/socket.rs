//! Socket set-up shared by the server and the load generator: safe nix
//! calls on non-blocking TCP sockets, addresses read back, shutdown. The
//! ring does connect, accept and the I/O; what each side builds from these
//! (listeners, passive ports, client sockets) stays with it
//! (`server/sockets.rs`, `bench/net.rs`).
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, getpeername, getsockname, shutdown, socket, AddressFamily, Shutdown, SockFlag, SockType,
    SockaddrStorage,
};

/// A non-blocking, close-on-exec TCP socket of `ip`'s family.
pub fn stream_socket(ip: IpAddr) -> Result<OwnedFd, Errno> {
    let family = match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    socket(
        family,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
}

/// bind(2) to `addr`.
pub fn bind_to(fd: &OwnedFd, addr: SocketAddr) -> Result<(), Errno> {
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))
}

fn to_socket_addr(sa: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = sa.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    sa.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

/// The local address of a socket.
pub fn local_addr(fd: &OwnedFd) -> Option<SocketAddr> {
    getsockname::<SockaddrStorage>(fd.as_raw_fd())
        .ok()
        .and_then(to_socket_addr)
}

/// The peer address of a connected socket.
pub fn peer_addr(fd: &OwnedFd) -> Option<SocketAddr> {
    getpeername::<SockaddrStorage>(fd.as_raw_fd())
        .ok()
        .and_then(to_socket_addr)
}

/// Ends `how` now, so an op still waiting on the socket completes (with
/// EOF) even though its fd stays open until the op lets go of it.
pub fn shut(fd: &OwnedFd, how: Shutdown) {
    let _ = shutdown(fd.as_raw_fd(), how);
}
