//! The ARP sweep, where the process may open raw sockets (CAP_NET_RAW, or root): one ARP
//! request per on-link address, broadcast on the interface, and the replies read straight
//! off the wire. It finds hosts that answer ARP but whose kernel-side entry would not show
//! up in time (or at all, when the neighbour table is full), and it is what the reference
//! client does with libpcap.
//!
//! Without the capability the channel cannot be opened: the scan says so in a warning and
//! goes on with the UDP nudge, the neighbour table and ICMP, which find the same on-link
//! hosts in most networks.
//!
//! The frames are built and read by [`request_frame`] and [`parse_reply`] (sans-IO, on
//! bytes); `ArpSweep` (crate-internal) does the sockets on two threads of its own (the raw channel is
//! blocking), bounded by a stop flag and the channel's read timeout.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use pnet_datalink::{Channel, Config, MacAddr as WireMac};
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::{MutablePacket, Packet};

use crate::identity::MacAddr;

/// An Ethernet frame holding an ARP request: 14 bytes of header and 28 of ARP.
pub const FRAME_LEN: usize = 42;

/// How long the reader waits for a frame before it looks at the stop flag again.
const READ_TIMEOUT: Duration = Duration::from_millis(100);

/// The broadcast ARP request from `src_mac`/`src_ip` asking who has `target`.
pub fn request_frame(src_mac: MacAddr, src_ip: Ipv4Addr, target: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    if let Some(mut ethernet) = MutableEthernetPacket::new(&mut frame) {
        ethernet.set_destination(WireMac::broadcast());
        ethernet.set_source(wire_mac(src_mac));
        ethernet.set_ethertype(EtherTypes::Arp);
        if let Some(mut arp) = MutableArpPacket::new(ethernet.payload_mut()) {
            arp.set_hardware_type(ArpHardwareTypes::Ethernet);
            arp.set_protocol_type(EtherTypes::Ipv4);
            arp.set_hw_addr_len(6);
            arp.set_proto_addr_len(4);
            arp.set_operation(ArpOperations::Request);
            arp.set_sender_hw_addr(wire_mac(src_mac));
            arp.set_sender_proto_addr(src_ip);
            arp.set_target_hw_addr(WireMac::zero());
            arp.set_target_proto_addr(target);
        }
    }
    frame
}

/// The address and MAC an ARP reply for IPv4 over Ethernet announces; `None` for any other
/// frame (short, another protocol, a request, a zero or broadcast sender).
pub fn parse_reply(frame: &[u8]) -> Option<(Ipv4Addr, MacAddr)> {
    let ethernet = EthernetPacket::new(frame)?;
    if ethernet.get_ethertype() != EtherTypes::Arp {
        return None;
    }
    let arp = ArpPacket::new(ethernet.payload())?;
    let is_reply = arp.get_operation() == ArpOperations::Reply
        && arp.get_hardware_type() == ArpHardwareTypes::Ethernet
        && arp.get_protocol_type() == EtherTypes::Ipv4
        && arp.get_hw_addr_len() == 6
        && arp.get_proto_addr_len() == 4;
    let sender = arp.get_sender_hw_addr();
    if !is_reply || sender.is_zero() || sender.is_broadcast() {
        return None;
    }
    let WireMac(a, b, c, d, e, f) = sender;
    Some((arp.get_sender_proto_addr(), MacAddr([a, b, c, d, e, f])))
}

fn wire_mac(mac: MacAddr) -> WireMac {
    let [a, b, c, d, e, f] = mac.0;
    WireMac(a, b, c, d, e, f)
}

/// A running sweep on one interface: requests go out at the given pace, replies are
/// collected until [`finish`](Self::finish).
pub(crate) struct ArpSweep {
    stop: Arc<AtomicBool>,
    sender: JoinHandle<()>,
    reader: JoinHandle<HashMap<Ipv4Addr, MacAddr>>,
}

impl ArpSweep {
    /// Opens the raw channel on `interface` and starts asking for each of `targets` from
    /// `src_ip`, one request per `period`. Fails when the channel cannot be opened (no
    /// CAP_NET_RAW, an interface without a MAC).
    pub(crate) fn start(
        interface: &str,
        src_ip: Ipv4Addr,
        targets: Vec<Ipv4Addr>,
        period: Duration,
    ) -> io::Result<ArpSweep> {
        let iface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == interface)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such interface"))?;
        let src_mac = iface
            .mac
            .filter(|m| !m.is_zero())
            .map(|WireMac(a, b, c, d, e, f)| MacAddr([a, b, c, d, e, f]))
            .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no Ethernet address"))?;
        let config = Config {
            read_timeout: Some(READ_TIMEOUT),
            ..Config::default()
        };
        let (mut tx, mut rx) = match pnet_datalink::channel(&iface, config)? {
            Channel::Ethernet(tx, rx) => (tx, rx),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not an Ethernet channel",
                ));
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let sender = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("arp-sweep-send".into())
                .spawn(move || {
                    for target in targets {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let frame = request_frame(src_mac, src_ip, target);
                        if let Some(Err(e)) = tx.send_to(&frame, None) {
                            tracing::debug!(%target, error = %e, "ARP request not sent");
                        }
                        // The pace of the sweep (the scan's rate), not a wait for anything.
                        std::thread::sleep(period);
                    }
                })?
        };
        let reader = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("arp-sweep-read".into())
                .spawn(move || {
                    let mut found = HashMap::new();
                    while !stop.load(Ordering::Relaxed) {
                        match rx.next() {
                            Ok(frame) => {
                                if let Some((ip, mac)) = parse_reply(frame) {
                                    found.insert(ip, mac);
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(e) => {
                                tracing::debug!(error = %e, "ARP replies no longer read");
                                break;
                            }
                        }
                    }
                    found
                })?
        };
        Ok(ArpSweep {
            stop,
            sender,
            reader,
        })
    }

    /// Stops sending and reading; the replies read so far. Blocks for at most the
    /// channel's read timeout (call it from a blocking context).
    pub(crate) fn finish(self) -> HashMap<Ipv4Addr, MacAddr> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.sender.join();
        self.reader.join().unwrap_or_default()
    }
}

impl std::fmt::Debug for ArpSweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArpSweep").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
    const THEIRS: MacAddr = MacAddr([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);

    /// A reply as a host sends it: to us, from `mac` with `ip`.
    fn reply(ip: Ipv4Addr, mac: MacAddr) -> Vec<u8> {
        let mut frame = request_frame(mac, ip, Ipv4Addr::new(10, 0, 0, 1)).to_vec();
        frame[0..6].copy_from_slice(&OURS.0);
        // operation: 2 (reply)
        frame[20..22].copy_from_slice(&[0, 2]);
        frame
    }

    #[test]
    fn a_request_is_a_broadcast_asking_who_has_the_target() {
        let frame = request_frame(OURS, Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 7));
        let want: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // to everyone
            0x02, 0, 0, 0, 0, 1, // from us
            0x08, 0x06, // ARP
            0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet, IPv4, 6, 4, request
            0x02, 0, 0, 0, 0, 1, 10, 0, 0, 1, // sender
            0, 0, 0, 0, 0, 0, 10, 0, 0, 7, // target
        ];
        assert_eq!(frame, want);
        assert_eq!(parse_reply(&frame), None, "a request is not a reply");
    }

    #[test]
    fn a_reply_gives_the_senders_address_and_mac() {
        let ip = Ipv4Addr::new(10, 0, 0, 7);
        assert_eq!(parse_reply(&reply(ip, THEIRS)), Some((ip, THEIRS)));
    }

    #[test]
    fn other_frames_are_not_replies_and_never_panic() {
        let ip = Ipv4Addr::new(10, 0, 0, 7);
        let good = reply(ip, THEIRS);
        let mut ipv4 = good.clone();
        ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut zero_sender = good.clone();
        zero_sender[22..28].fill(0);
        let mut broadcast_sender = good.clone();
        broadcast_sender[22..28].fill(0xff);
        let mut other_protocol = good.clone();
        other_protocol[16..18].copy_from_slice(&[0x86, 0xdd]);
        let cases: [(&str, Vec<u8>); 7] = [
            ("empty", Vec::new()),
            ("header only", good[..14].to_vec()),
            ("ARP cut short", good[..30].to_vec()),
            ("an IPv4 frame", ipv4),
            ("zero sender", zero_sender),
            ("broadcast sender", broadcast_sender),
            ("not IPv4 over Ethernet", other_protocol),
        ];
        for (name, frame) in cases {
            assert_eq!(parse_reply(&frame), None, "{name}");
        }
        for len in 0..good.len() {
            let _ = parse_reply(&good[..len]);
        }
    }
}
