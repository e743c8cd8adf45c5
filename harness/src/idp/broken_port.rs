//! Advertised ports that must not work: bound and never listening (refused), or listening with a
//! full queue that never accepts (blackhole).

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Holds an advertised port that must not work: bound and never listening (refused), or listening
/// with a full queue that never accepts (blackhole).
#[allow(dead_code)] // held for their effect on the port
pub(super) enum BrokenPort {
    Refusing(TcpSocket),
    Blackhole(TcpListener, TcpStream),
}

impl BrokenPort {
    pub async fn refusing(ip: std::net::IpAddr) -> std::io::Result<(u16, BrokenPort)> {
        let socket = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(ip, 0))?;
        Ok((socket.local_addr()?.port(), BrokenPort::Refusing(socket)))
    }

    /// A listener with a backlog of one that is never accepted, filled by one connection: the
    /// kernel drops further handshakes, as a firewall that drops does.
    pub async fn blackhole(ip: std::net::IpAddr) -> std::io::Result<(u16, BrokenPort)> {
        let socket = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(ip, 0))?;
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let connect_to = if ip.is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
        let filler = TcpStream::connect(connect_to).await?;
        Ok((addr.port(), BrokenPort::Blackhole(listener, filler)))
    }
}
