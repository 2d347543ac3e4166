//! ONVIF WS-Discovery, which the reference client does not have: a SOAP Probe to the
//! multicast group 239.255.255.250, port 3702, asking for `NetworkVideoTransmitter`s, and
//! the ProbeMatches cameras answer with. It finds cameras without a subnet sweep and
//! without raw sockets; a camera found this way is then probed like any other host.
//!
//! The messages are built and read here without I/O ([`probe`], [`read_matches`], with
//! quick-xml); the scanner sends and receives them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use quick_xml::events::Event;

/// The WS-Discovery multicast group and port.
pub const MULTICAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 3702);

/// The most bytes of one answer read.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// A Probe for network video transmitters, with `message_id` (a `urn:uuid:...`).
pub fn probe(message_id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>{message_id}</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"#
    )
}

/// One camera that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnvifMatch {
    /// Its device service URLs.
    pub xaddrs: Vec<String>,
    /// Its scopes (hardware, name, location...).
    pub scopes: Vec<String>,
}

impl OnvifMatch {
    /// The IPv4 addresses named by its device service URLs.
    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        self.xaddrs
            .iter()
            .filter_map(|url| {
                let rest = url.split_once("://")?.1;
                let authority = rest.split(['/', '?']).next()?;
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                let host = host.split(':').next()?;
                host.parse::<Ipv4Addr>().ok()
            })
            .collect()
    }
}

/// The ProbeMatch entries of an answer to the probe with `message_id`; an answer to
/// another probe (`RelatesTo`), or something that is not a ProbeMatches, gives none.
pub fn read_matches(xml: &[u8], message_id: &str) -> Vec<OnvifMatch> {
    if xml.len() > MAX_MESSAGE {
        return Vec::new();
    }
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut relates_to = String::new();
    let mut matches = Vec::new();
    let mut current: Option<OnvifMatch> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().as_bytes().to_vec();
                if name == b"ProbeMatch" {
                    current = Some(OnvifMatch {
                        xaddrs: Vec::new(),
                        scopes: Vec::new(),
                    });
                }
                path.push(name);
                if path.len() > 32 {
                    return Vec::new();
                }
            }
            Ok(Event::End(_)) => {
                if path.pop().as_deref() == Some(b"ProbeMatch")
                    && let Some(found) = current.take()
                {
                    matches.push(found);
                }
            }
            Ok(Event::Text(t)) => {
                let text = t.xml10_content();
                let words = || text.split_whitespace().map(String::from);
                match (path.last().map(Vec::as_slice), current.as_mut()) {
                    (Some(b"RelatesTo"), _) => relates_to = text.trim().to_string(),
                    (Some(b"XAddrs"), Some(found)) => found.xaddrs.extend(words()),
                    (Some(b"Scopes"), Some(found)) => found.scopes.extend(words()),
                    _ => {}
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    if relates_to != message_id {
        return Vec::new();
    }
    matches
}

/// The sender of an answer, when it is IPv4 (ONVIF answers come from the camera itself).
pub fn sender_v4(from: SocketAddr) -> Option<Ipv4Addr> {
    match from.ip() {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "urn:uuid:5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10";

    fn matches_xml(relates_to: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><SOAP-ENV:Header><wsa:RelatesTo>{relates_to}</wsa:RelatesTo></SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>urn:uuid:1</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/hardware/FakeCam onvif://www.onvif.org/name/door</d:Scopes><d:XAddrs>http://10.99.0.10:8080/onvif/device_service http://[fe80::1]/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>"#
        )
    }

    #[test]
    fn a_probe_asks_for_video_transmitters_with_our_message_id() {
        let text = probe(ID);
        assert!(text.contains("<d:Types>dn:NetworkVideoTransmitter</d:Types>"));
        assert!(text.contains(&format!("<a:MessageID>{ID}</a:MessageID>")));
        assert!(text.contains("discovery/Probe</a:Action>"));
    }

    #[test]
    fn matches_to_our_probe_give_their_addresses_and_scopes() {
        let found = read_matches(matches_xml(ID).as_bytes(), ID);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].addresses(), [Ipv4Addr::new(10, 99, 0, 10)]);
        assert_eq!(found[0].scopes.len(), 2);
        assert!(found[0].scopes[1].ends_with("/name/door"));
    }

    #[test]
    fn answers_to_other_probes_and_garbage_give_nothing() {
        for xml in [
            matches_xml("urn:uuid:someone-else"),
            String::new(),
            "<not xml".into(),
            "<a><b><c>".into(),
            "x".repeat(MAX_MESSAGE + 1),
        ] {
            assert!(read_matches(xml.as_bytes(), ID).is_empty(), "{xml:.60}");
        }
        let deep = "<a>".repeat(100);
        assert!(read_matches(deep.as_bytes(), ID).is_empty());
    }
}
