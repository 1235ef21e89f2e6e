//! The load generator's sockets, built on the crate's shared socket set-up
//! (`src/socket.rs`); the ring does connect/accept/IO.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::sys::socket::{listen, setsockopt, sockopt, Backlog};

use crate::socket::{bind_to, stream_socket};
pub use crate::socket::{local_addr, shut};

/// A non-blocking TCP socket for a connection to `peer`, bound to `source`
/// when given. IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(),
/// so each source address gets the whole ephemeral range per destination.
pub fn client_socket(peer: IpAddr, source: Option<IpAddr>) -> Result<OwnedFd, Errno> {
    let fd = stream_socket(peer)?;
    let _ = setsockopt(&fd, sockopt::TcpNoDelay, &true);
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == peer.is_ipv4()) {
        let _ = setsockopt(&fd, sockopt::IpBindAddressNoPort, &true);
        bind_to(&fd, SocketAddr::new(ip, 0))?;
    }
    Ok(fd)
}

/// A listener on `ip`, port chosen by the kernel (active-mode data channel).
pub fn data_listener(ip: IpAddr) -> Result<(OwnedFd, SocketAddr), Errno> {
    let fd = stream_socket(ip)?;
    bind_to(&fd, SocketAddr::new(ip, 0))?;
    listen(&fd, Backlog::new(1).unwrap_or(Backlog::MAXCONN))?;
    let addr = local_addr(&fd).ok_or(Errno::EINVAL)?;
    Ok((fd, addr))
}
