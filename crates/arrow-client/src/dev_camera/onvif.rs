//! ONVIF WS-Discovery for the fake camera (sans-IO): a SOAP Probe read with `quick-xml`,
//! and the ProbeMatches a camera answers it with.
//!
//! A client multicasts a Probe (UDP to 239.255.255.250:3702) whose `Types` name what it
//! looks for; an ONVIF camera answers, unicast to the sender, with a ProbeMatch that
//! relates to the Probe's `MessageID` and carries its device service URL (`XAddrs`) and
//! its `Scopes` (hardware, name, profile). The camera answers a Probe whose `Types` are
//! empty (anything) or include `dn:NetworkVideoTransmitter` or `tds:Device`, and whose
//! `Scopes`, if any, each prefix one of its own (RFC 3986 matching, simplified to whole
//! path segments).

use std::net::Ipv4Addr;

use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

/// The WS-Discovery port.
pub(crate) const PORT: u16 = 3702;

/// The WS-Discovery IPv4 multicast group.
pub(crate) const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);

/// The largest Probe read; a datagram this long or longer is ignored as truncated.
pub(crate) const MAX_DATAGRAM: usize = 16 * 1024;

/// The longest `MessageID`, `Types` or `Scopes` text kept.
const MAX_FIELD: usize = 2048;

/// The deepest element nesting read.
const MAX_DEPTH: usize = 32;

const SOAP_ENVELOPE: &str = "http://www.w3.org/2003/05/soap-envelope";
const ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const DISCOVERY: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
const ONVIF_NETWORK: &str = "http://www.onvif.org/ver10/network/wsdl";
const ONVIF_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";

/// A Probe as read from a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Its `wsa:MessageID`, which the answer's `RelatesTo` repeats.
    pub(crate) message_id: String,
    /// Its `Types`, as (namespace, local name); a prefix that is not declared gives an
    /// empty namespace.
    pub(crate) types: Vec<(String, String)>,
    /// Its `Scopes`.
    pub(crate) scopes: Vec<String>,
}

/// Why a datagram is not a Probe the camera answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProbeError {
    /// Not UTF-8 text.
    #[error("not UTF-8")]
    NotText,
    /// Not well-formed XML, or nested deeper than the camera reads.
    #[error("bad XML: {0}")]
    Xml(String),
    /// Well-formed, but no `Probe` in the SOAP body (a Hello, a Resolve, a ProbeMatches).
    #[error("not a WS-Discovery Probe")]
    NotAProbe,
    /// A Probe without a `MessageID` (or an overlong one) cannot be answered.
    #[error("a Probe without a usable MessageID")]
    NoMessageId,
}

/// Which text the reader is collecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    MessageId,
    Types,
    Scopes,
}

/// Reads a Probe. Only the SOAP header's `MessageID` and the body's `Probe` (its `Types`
/// and `Scopes`) matter; everything else is skipped.
pub(crate) fn parse_probe(datagram: &[u8]) -> Result<Probe, ProbeError> {
    let text = std::str::from_utf8(datagram).map_err(|_| ProbeError::NotText)?;
    let mut reader = NsReader::from_str(text);
    // (namespace, local name) of each open element.
    let mut path: Vec<(String, String)> = Vec::new();
    let mut field: Option<(Field, String)> = None;
    let mut message_id: Option<String> = None;
    let mut probe = false;
    let mut types = Vec::new();
    let mut scopes = Vec::new();
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|e| ProbeError::Xml(e.to_string()))?;
        let namespace = match namespace {
            ResolveResult::Bound(ns) => ns.0.to_string(),
            _ => String::new(),
        };
        match event {
            Event::Start(element) => {
                let local = element.local_name().as_ref().to_string();
                field = open(&mut path, namespace, local, &mut probe)?;
            }
            Event::Empty(element) => {
                let local = element.local_name().as_ref().to_string();
                open(&mut path, namespace, local, &mut probe)?;
                path.pop();
            }
            Event::Text(t) => collect(&mut field, &t.xml10_content())?,
            Event::CData(t) => collect(&mut field, &t.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .map(str::to_string)
                        .ok_or_else(|| ProbeError::Xml("an undefined entity".into()))?,
                };
                collect(&mut field, &resolved)?;
            }
            Event::End(_) => {
                if let Some((which, text)) = field.take() {
                    match which {
                        Field::MessageId => message_id = Some(text.trim().to_string()),
                        Field::Types => {
                            // The namespaces of this element are still in scope here.
                            for qname in text.split_whitespace() {
                                let (ns, local) = reader.resolver().resolve(QName(qname), true);
                                let ns = match ns {
                                    ResolveResult::Bound(ns) => ns.0.to_string(),
                                    _ => String::new(),
                                };
                                types.push((ns, local.as_ref().to_string()));
                            }
                        }
                        Field::Scopes => scopes.extend(text.split_whitespace().map(str::to_string)),
                    }
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !probe {
        return Err(ProbeError::NotAProbe);
    }
    match message_id {
        Some(id) if !id.is_empty() => Ok(Probe {
            message_id: id,
            types,
            scopes,
        }),
        _ => Err(ProbeError::NoMessageId),
    }
}

/// Adds `text` to the field being collected, bounded by [`MAX_FIELD`].
fn collect(field: &mut Option<(Field, String)>, text: &str) -> Result<(), ProbeError> {
    if let Some((which, buffer)) = field {
        if buffer.len() + text.len() > MAX_FIELD {
            return Err(match which {
                Field::MessageId => ProbeError::NoMessageId,
                _ => ProbeError::Xml("a field too long".into()),
            });
        }
        buffer.push_str(text);
    }
    Ok(())
}

/// Enters an element: notes a Probe in the SOAP body, and says which field its text is.
fn open(
    path: &mut Vec<(String, String)>,
    namespace: String,
    local: String,
    probe: &mut bool,
) -> Result<Option<(Field, String)>, ProbeError> {
    if path.len() >= MAX_DEPTH {
        return Err(ProbeError::Xml("nested too deep".into()));
    }
    path.push((namespace, local));
    if path.len() == 3 && path_ends(path, DISCOVERY, &["Envelope", "Body", "Probe"]) {
        *probe = true;
    }
    let field = if path_ends(path, ADDRESSING, &["Header", "MessageID"]) {
        Some((Field::MessageId, String::new()))
    } else if path_ends(path, DISCOVERY, &["Body", "Probe", "Types"]) {
        Some((Field::Types, String::new()))
    } else if path_ends(path, DISCOVERY, &["Body", "Probe", "Scopes"]) {
        Some((Field::Scopes, String::new()))
    } else {
        None
    };
    Ok(field)
}

/// The open elements end with `names`, the last one in namespace `ns`.
fn path_ends(path: &[(String, String)], ns: &str, names: &[&str]) -> bool {
    path.len() >= names.len()
        && path[path.len() - names.len()..]
            .iter()
            .zip(names)
            .all(|((_, local), name)| local == name)
        && path.last().is_some_and(|(n, _)| n == ns)
}

impl Probe {
    /// True when a camera with `our_scopes` answers this Probe.
    pub(crate) fn matches(&self, our_scopes: &[String]) -> bool {
        let types_match = self.types.is_empty()
            || self.types.iter().any(|(ns, local)| {
                (ns == ONVIF_NETWORK && local == "NetworkVideoTransmitter")
                    || (ns == ONVIF_DEVICE && local == "Device")
            });
        let scopes_match = self
            .scopes
            .iter()
            .all(|wanted| our_scopes.iter().any(|ours| scope_prefixes(wanted, ours)));
        types_match && scopes_match
    }
}

/// `wanted` equals `ours` or is a prefix of it ending at a `/` boundary.
fn scope_prefixes(wanted: &str, ours: &str) -> bool {
    let wanted = wanted.trim_end_matches('/');
    ours == wanted
        || ours
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The camera's ONVIF scopes: what it is, its profile, its hardware and its name (both
/// percent-encoded).
pub(crate) fn scopes(hardware: &str, name: &str) -> Vec<String> {
    vec![
        "onvif://www.onvif.org/type/video_encoder".to_string(),
        "onvif://www.onvif.org/Profile/Streaming".to_string(),
        format!(
            "onvif://www.onvif.org/hardware/{}",
            percent_encode(hardware)
        ),
        format!("onvif://www.onvif.org/name/{}", percent_encode(name)),
    ]
}

/// Percent-encodes everything but unreserved URI characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a camera says about itself in a ProbeMatch.
#[derive(Debug, Clone)]
pub(crate) struct Device<'a> {
    /// Its endpoint reference, `urn:uuid:...`, the same for every answer.
    pub(crate) endpoint: &'a str,
    /// Its device service URL.
    pub(crate) xaddr: &'a str,
    /// Its scopes.
    pub(crate) scopes: &'a [String],
}

/// The ProbeMatches answering the Probe whose `MessageID` is `relates_to`; `message_id`
/// is this answer's own (`urn:uuid:...`).
pub(crate) fn probe_matches(relates_to: &str, message_id: &str, device: &Device<'_>) -> String {
    use quick_xml::escape::escape;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <s:Envelope xmlns:s=\"{SOAP_ENVELOPE}\" xmlns:a=\"{ADDRESSING}\" \
         xmlns:d=\"{DISCOVERY}\" xmlns:dn=\"{ONVIF_NETWORK}\" xmlns:tds=\"{ONVIF_DEVICE}\">\
         <s:Header>\
         <a:MessageID>{}</a:MessageID>\
         <a:RelatesTo>{}</a:RelatesTo>\
         <a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>\
         <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>\
         </s:Header>\
         <s:Body><d:ProbeMatches><d:ProbeMatch>\
         <a:EndpointReference><a:Address>{}</a:Address></a:EndpointReference>\
         <d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>\
         <d:Scopes>{}</d:Scopes>\
         <d:XAddrs>{}</d:XAddrs>\
         <d:MetadataVersion>1</d:MetadataVersion>\
         </d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>",
        escape(message_id),
        escape(relates_to),
        escape(device.endpoint),
        escape(device.scopes.join(" ")),
        escape(device.xaddr),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Probe as ONVIF Device Manager and similar tools send it.
    pub(crate) fn probe(message_id: &str, types: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" \
             xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
             xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
             xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">\
             <e:Header><w:MessageID>{message_id}</w:MessageID>\
             <w:To e:mustUnderstand=\"true\">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>\
             <w:Action e:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action>\
             </e:Header><e:Body><d:Probe>{types}</d:Probe></e:Body></e:Envelope>"
        )
    }

    fn ours() -> Vec<String> {
        scopes("protoctl fake camera", "cam 1")
    }

    #[test]
    fn probes_are_read_and_matched_by_types_and_scopes() {
        let nvt = "<d:Types>dn:NetworkVideoTransmitter</d:Types>";
        let cases: [(&str, String, Result<bool, ProbeError>); 12] = [
            ("ONVIF NVT", probe("urn:uuid:1", nvt), Ok(true)),
            ("no Types: anything", probe("urn:uuid:1", ""), Ok(true)),
            ("empty Types", probe("urn:uuid:1", "<d:Types/>"), Ok(true)),
            (
                "tds:Device, prefix declared on Types",
                probe(
                    "urn:uuid:1",
                    "<d:Types xmlns:t=\"http://www.onvif.org/ver10/device/wsdl\">t:Device</d:Types>",
                ),
                Ok(true),
            ),
            (
                "a printer",
                probe(
                    "urn:uuid:1",
                    "<d:Types xmlns:p=\"http://example.com/printers\">p:Printer</d:Types>",
                ),
                Ok(false),
            ),
            (
                "NVT in another namespace",
                probe(
                    "urn:uuid:1",
                    "<d:Types xmlns:x=\"urn:other\">x:NetworkVideoTransmitter</d:Types>",
                ),
                Ok(false),
            ),
            (
                "our hardware scope",
                probe(
                    "urn:uuid:1",
                    "<d:Scopes>onvif://www.onvif.org/hardware/protoctl%20fake%20camera</d:Scopes>",
                ),
                Ok(true),
            ),
            (
                "a scope prefix",
                probe(
                    "urn:uuid:1",
                    "<d:Scopes>onvif://www.onvif.org/name</d:Scopes>",
                ),
                Ok(true),
            ),
            (
                "another camera's name",
                probe(
                    "urn:uuid:1",
                    "<d:Scopes>onvif://www.onvif.org/name/other</d:Scopes>",
                ),
                Ok(false),
            ),
            ("no MessageID", probe("", nvt), Err(ProbeError::NoMessageId)),
            (
                "a ProbeMatches",
                probe("urn:uuid:1", "").replace("d:Probe>", "d:ProbeMatches>"),
                Err(ProbeError::NotAProbe),
            ),
            (
                "not XML",
                "<e:Envelope><oops".to_string(),
                Err(ProbeError::Xml(String::new())),
            ),
        ];
        for (name, datagram, want) in cases {
            let got = parse_probe(datagram.as_bytes()).map(|p| p.matches(&ours()));
            match (&got, &want) {
                (Err(ProbeError::Xml(_)), Err(ProbeError::Xml(_))) => {}
                _ => assert_eq!(got, want, "{name}"),
            }
        }
    }

    #[test]
    fn a_probe_keeps_its_message_id_with_entities_resolved() {
        let p = parse_probe(probe("urn:uuid:a&amp;b&#x21;", "").as_bytes()).unwrap();
        assert_eq!(p.message_id, "urn:uuid:a&b!");
    }

    #[test]
    fn hostile_datagrams_are_refused_without_panicking() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        let long_id = probe(&"x".repeat(MAX_FIELD + 1), "");
        let entity = probe("urn:uuid:&lol;", "");
        let cases: [(&str, Vec<u8>); 5] = [
            ("binary", vec![0xff, 0xfe, 0]),
            ("too deep", deep.into_bytes()),
            ("overlong MessageID", long_id.into_bytes()),
            ("an undefined entity", entity.into_bytes()),
            ("empty", Vec::new()),
        ];
        for (name, datagram) in cases {
            assert!(parse_probe(&datagram).is_err(), "{name}");
        }
    }

    #[test]
    fn probe_matches_relate_to_the_probe_and_name_the_device() {
        let scopes = ours();
        let device = Device {
            endpoint: "urn:uuid:00000000-0000-4000-8000-000000000001",
            xaddr: "http://192.0.2.7:8554/onvif/device_service",
            scopes: &scopes,
        };
        let xml = probe_matches("urn:uuid:probe<1>", "urn:uuid:answer", &device);
        // Read back with the same XML reader a client would use.
        let mut reader = NsReader::from_str(&xml);
        let mut texts = std::collections::HashMap::new();
        let mut current = String::new();
        loop {
            match reader.read_resolved_event().unwrap() {
                (ResolveResult::Bound(ns), Event::Start(e)) => {
                    current = format!("{}|{}", ns.0, e.local_name().as_ref());
                }
                (_, Event::Text(t)) => {
                    texts
                        .entry(current.clone())
                        .or_insert_with(String::new)
                        .push_str(&t.xml10_content());
                }
                (_, Event::GeneralRef(r)) => {
                    let c =
                        quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).unwrap();
                    texts
                        .entry(current.clone())
                        .or_insert_with(String::new)
                        .push_str(c);
                }
                (_, Event::Eof) => break,
                _ => {}
            }
        }
        let text = |ns: &str, local: &str| {
            texts
                .get(&format!("{ns}|{local}"))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(text(ADDRESSING, "RelatesTo"), "urn:uuid:probe<1>");
        assert_eq!(text(ADDRESSING, "MessageID"), "urn:uuid:answer");
        assert_eq!(
            text(ADDRESSING, "Action"),
            "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
        );
        assert_eq!(text(ADDRESSING, "Address"), device.endpoint);
        assert_eq!(text(DISCOVERY, "XAddrs"), device.xaddr);
        assert_eq!(
            text(DISCOVERY, "Types"),
            "dn:NetworkVideoTransmitter tds:Device"
        );
        let scopes = text(DISCOVERY, "Scopes");
        assert!(
            scopes.contains("onvif://www.onvif.org/hardware/protoctl%20fake%20camera"),
            "{scopes}"
        );
        assert!(
            scopes.contains("onvif://www.onvif.org/name/cam%201"),
            "{scopes}"
        );
    }
}
