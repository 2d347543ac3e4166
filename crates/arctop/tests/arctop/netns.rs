//! Tests that need a private network namespace. `cargo xtask ci` runs them inside
//! `unshare -n` with loopback up and multicast on; plain `cargo test` lists them as ignored.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

/// mDNS discovery relies on multicast over loopback inside the namespace.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_loopback_carries_multicast() {
    let group = Ipv4Addr::new(224, 0, 0, 251);
    let receiver = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    receiver
        .join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
        .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = receiver.local_addr().unwrap().port();

    let sender = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    sender
        .send_to(b"ping", SocketAddrV4::new(group, port))
        .unwrap();

    let mut buf = [0u8; 16];
    let (n, _) = receiver
        .recv_from(&mut buf)
        .expect("multicast datagram on loopback");
    assert_eq!(&buf[..n], b"ping");
}
