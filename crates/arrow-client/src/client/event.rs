//! What a running client reports: one [`ClientEvent`] per thing that happened.
//!
//! Each event serializes as one JSON object tagged by `event` (the JSON Lines of
//! `protoctl --json arrow run`, which adds only `reloaded` and `reload_failed`), and its
//! `Display` is the one-line text of the human output. Names and fields are a public
//! contract: new events and fields may come, existing ones keep their names.
//!
//! ```text
//! {"event":"started","uuid":"5f1c9e3a-…","mac":"02:5f:1c:9e:3a:1d","created":false,"gateway":false,"services":[{"svc_id":23517,"type":"tcp","locked":false,"addr":"127.0.0.1:22","path":""}]}
//! {"event":"service_unresolved","host":"cam.lan","error":"cannot resolve service rtsp://cam.lan:554/live: …","delay_ms":1840}
//! {"event":"connecting","server":"arrow.example.com:8900"}
//! {"event":"connected","server":"arrow.example.com:8900","addr":"203.0.113.7:8900"}
//! {"event":"registered"}
//! {"event":"disconnected","reason":"the Arrow Service closed the connection"}
//! {"event":"retrying","server":"arrow.example.com:8900","state":"disconnected","delay_ms":1337}
//! {"event":"not_paired","uuid":"5f1c9e3a-…","mac":"02:5f:1c:9e:3a:1d"}
//! {"event":"redirect_ignored","target":"b.example.com:8900","reason":"redirect loop"}
//! {"event":"session_opened","session":42,"svc_id":23517,"addr":"127.0.0.1:22"}
//! {"event":"session_closed","session":42,"svc_id":23517,"bytes_up":1024,"bytes_down":77,"reason":"service_hup","code":0}
//! {"event":"session_refused","session":43,"reason":"unknown service"}
//! {"event":"unsupported","kind":"SCAN_NETWORK"}
//! {"event":"table_replaced","services":2}
//! {"event":"table_sent","services":2,"reset":false}
//! {"event":"scan_started"}
//! {"event":"scan_finished","hosts":3,"services":4,"cut_short":false}
//! {"event":"events_dropped","count":312}
//! {"event":"events_suppressed","of":"session_refused","count":990}
//! {"event":"session_limit_lowered","requested":256,"allowed":960,"open_files":1024}
//! {"event":"stopping"}
//! {"event":"stopped"}
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::connection::{Disconnect, SessionEnd};
use crate::identity::MacAddr;
use crate::service_table::Service;
use crate::status::LinkState;

/// What the client reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientEvent {
    /// The services resolved for the first time: the client starts connecting. (Later
    /// attempts resolve them again without a new `started`.)
    Started {
        /// The client's UUID.
        uuid: uuid::Uuid,
        /// The MAC it registers with.
        #[serde(serialize_with = "display")]
        mac: MacAddr,
        /// The identity was made by this start.
        created: bool,
        /// Gateway mode (REGISTER flag 0x1).
        gateway: bool,
        /// The services, resolved.
        services: Vec<Service>,
    },
    /// A service host did not resolve: this attempt failed, the next comes after `delay`.
    ServiceUnresolved {
        /// The host name.
        host: String,
        /// What went wrong, naming the service.
        error: String,
        /// The wait before the next attempt (`delay_ms` in JSON).
        #[serde(rename = "delay_ms", serialize_with = "millis")]
        delay: Duration,
    },
    /// Dialing the service.
    Connecting {
        /// `HOST:PORT`.
        server: String,
    },
    /// TLS is up and REGISTER was sent.
    Connected {
        /// `HOST:PORT`.
        server: String,
        /// The address dialed.
        addr: SocketAddr,
    },
    /// The service accepted REGISTER.
    Registered,
    /// The connection ended or could not be made.
    Disconnected {
        /// Why, as text.
        reason: String,
        /// The same as a typed value, when the connection core ended it (not in JSON).
        #[serde(skip)]
        disconnect: Option<Disconnect>,
    },
    /// The next attempt is due after `delay`.
    Retrying {
        /// Where it goes.
        server: String,
        /// The link state meanwhile (`disconnected` or `unauthorized`).
        state: LinkState,
        /// The wait (`delay_ms` in JSON).
        #[serde(rename = "delay_ms", serialize_with = "millis")]
        delay: Duration,
    },
    /// The service refused REGISTER with UNAUTHORIZED: the client must be paired in the
    /// Angelcam account. Reported once per run of refusals, not per attempt.
    NotPaired {
        /// The client's UUID.
        uuid: uuid::Uuid,
        /// The MAC it registers with.
        #[serde(serialize_with = "display")]
        mac: MacAddr,
    },
    /// A REDIRECT was not followed (a loop, or too many in a row).
    RedirectIgnored {
        /// The target.
        target: String,
        /// Why.
        reason: &'static str,
    },
    /// A session started: the service sent CONNECT and the local service was dialed.
    SessionOpened {
        /// Session id.
        session: u32,
        /// Service id.
        svc_id: u16,
        /// The local service's address.
        addr: SocketAddr,
    },
    /// A session ended.
    SessionClosed {
        /// Session id.
        session: u32,
        /// Service id.
        svc_id: u16,
        /// Bytes sent to the service.
        bytes_up: u64,
        /// Bytes received from the service.
        bytes_down: u64,
        /// Who ended it: `reason` (`local_closed`, `service_hup`, ...) and, for a HUP from
        /// the service, its `code`.
        #[serde(flatten, serialize_with = "session_end")]
        end: SessionEnd,
    },
    /// A CONNECT or data message was refused with HUP 3.
    SessionRefused {
        /// Session id.
        session: u32,
        /// Why.
        reason: &'static str,
    },
    /// A control message the client does not support was answered with
    /// UNSUPPORTED_METHOD.
    Unsupported {
        /// The message type.
        kind: String,
    },
    /// [`ClientHandle::update_services`](super::ClientHandle::update_services) was
    /// applied (the service hears of it with UPDATE when connected).
    TableReplaced {
        /// Services in the new table.
        services: usize,
    },
    /// UPDATE was sent: a new table, or the answer to RESET_SVC_TABLE (`reset`).
    TableSent {
        /// Services in the table.
        services: usize,
        /// The service asked for it with RESET_SVC_TABLE.
        reset: bool,
    },
    /// A scan of the LAN started (discovery on: at start, periodically, on SCAN_NETWORK).
    ScanStarted,
    /// A scan ended: what it found (GET_SCAN_REPORT's answer from now on).
    ScanFinished {
        /// Hosts found.
        hosts: usize,
        /// Services found.
        services: usize,
        /// The scan's deadline cut it short.
        cut_short: bool,
    },
    /// Events were dropped because the user did not take them fast enough (the queue of
    /// [`event_queue`](super::event_queue) was full); sent once there is room again.
    EventsDropped {
        /// Events lost since the last report.
        count: u64,
    },
    /// More events of one kind came in the last second than are reported
    /// ([`SessionRefused`](Self::SessionRefused) and [`Unsupported`](Self::Unsupported) are
    /// limited to 10 a second, so a service that floods them costs little): how many were
    /// left out.
    EventsSuppressed {
        /// The kind left out: `session_refused` or `unsupported`.
        of: &'static str,
        /// Events left out.
        count: u64,
    },
    /// The session limit was lowered at start so that sessions and a reserve of file
    /// descriptors fit in the process's open-file limit (`RLIMIT_NOFILE`).
    SessionLimitLowered {
        /// The limit configured.
        requested: usize,
        /// The limit used.
        allowed: usize,
        /// The process's open-file limit.
        open_files: u64,
    },
    /// Shutting down: no new session; open ones end once flushed.
    Stopping,
    /// The client stopped.
    Stopped,
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn display<S: Serializer, T: fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn session_end<S: Serializer>(end: &SessionEnd, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let code = match end {
        SessionEnd::ServiceHup(code) => Some(*code),
        _ => None,
    };
    let mut map = s.serialize_map(Some(1 + usize::from(code.is_some())))?;
    map.serialize_entry("reason", end.name())?;
    if let Some(code) = code {
        map.serialize_entry("code", &code)?;
    }
    map.end()
}

/// The text of the human output, one line.
impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Started {
                uuid,
                mac,
                created,
                services,
                ..
            } => write!(
                f,
                "client {uuid} (mac {mac}{}) with {} service(s)",
                if *created { ", new identity" } else { "" },
                services.len()
            ),
            ClientEvent::ServiceUnresolved { host, delay, .. } => write!(
                f,
                "service host {host} does not resolve: next attempt in {:.1} s",
                delay.as_secs_f64()
            ),
            ClientEvent::Connecting { server } => write!(f, "connecting to {server}"),
            ClientEvent::Connected { server, addr } => {
                write!(f, "connected to {server} ({addr}), registering")
            }
            ClientEvent::Registered => f.write_str("registered"),
            ClientEvent::Disconnected { reason, .. } => write!(f, "disconnected: {reason}"),
            ClientEvent::Retrying {
                server,
                state,
                delay,
            } => write!(
                f,
                "{}: next attempt to {server} in {:.1} s",
                state.name(),
                delay.as_secs_f64()
            ),
            ClientEvent::NotPaired { uuid, mac } => write!(
                f,
                "not paired: add uuid {uuid} / MAC {mac} to the Angelcam account; retrying until then"
            ),
            ClientEvent::RedirectIgnored { target, reason } => {
                write!(f, "redirect to {target} not followed: {reason}")
            }
            ClientEvent::SessionOpened {
                session,
                svc_id,
                addr,
            } => write!(f, "session {session} opened to service {svc_id} ({addr})"),
            ClientEvent::SessionClosed {
                session,
                bytes_up,
                bytes_down,
                end,
                ..
            } => write!(
                f,
                "session {session} closed ({}), {bytes_up} bytes up, {bytes_down} down",
                end.name()
            ),
            ClientEvent::SessionRefused { session, reason } => {
                write!(f, "session {session} refused: {reason}")
            }
            ClientEvent::Unsupported { kind } => {
                write!(f, "answered {kind} with UNSUPPORTED_METHOD")
            }
            ClientEvent::TableReplaced { services } => {
                write!(f, "service table replaced: {services} service(s)")
            }
            ClientEvent::TableSent { services, reset } => write!(
                f,
                "UPDATE sent: {services} service(s){}",
                if *reset { " (RESET_SVC_TABLE)" } else { "" }
            ),
            ClientEvent::ScanStarted => f.write_str("scanning the LAN for cameras"),
            ClientEvent::ScanFinished {
                hosts,
                services,
                cut_short,
            } => write!(
                f,
                "scan finished: {hosts} host(s), {services} service(s){}",
                if *cut_short {
                    " (cut short by its deadline)"
                } else {
                    ""
                }
            ),
            ClientEvent::EventsDropped { count } => write!(
                f,
                "{count} event(s) dropped: they came faster than they were read"
            ),
            ClientEvent::EventsSuppressed { of, count } => {
                write!(f, "{count} more {of} event(s) in the last second not shown")
            }
            ClientEvent::SessionLimitLowered {
                requested,
                allowed,
                open_files,
            } => write!(
                f,
                "session limit lowered from {requested} to {allowed}: the open-file limit is \
                 {open_files} and some descriptors are kept for reconnecting"
            ),
            ClientEvent::Stopping => {
                f.write_str("stopping: no new sessions, closing the open ones")
            }
            ClientEvent::Stopped => f.write_str("stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_table::{ServiceKind, ServiceSpec, ServiceTable};

    fn json(event: &ClientEvent) -> String {
        serde_json::to_string(event).unwrap()
    }

    #[test]
    fn every_event_is_one_json_object_tagged_by_event() {
        let uuid = uuid::Uuid::nil();
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let spec = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://u:p@127.0.0.1/live").unwrap();
        let table = ServiceTable::new(vec![(spec, "127.0.0.1:554".parse().unwrap())]).unwrap();
        let id = table.services()[0].id;
        let addr: SocketAddr = "127.0.0.1:22".parse().unwrap();
        let cases = [
            (
                ClientEvent::Started {
                    uuid,
                    mac,
                    created: true,
                    gateway: false,
                    services: table.services().to_vec(),
                },
                format!(
                    r#"{{"event":"started","uuid":"{uuid}","mac":"02:00:00:00:00:01","created":true,"gateway":false,"services":[{{"svc_id":{id},"type":"rtsp","locked":true,"addr":"127.0.0.1:554","path":"/live"}}]}}"#
                ),
            ),
            (
                ClientEvent::ServiceUnresolved {
                    host: "cam.lan".into(),
                    error: "no".into(),
                    delay: Duration::from_millis(1500),
                },
                r#"{"event":"service_unresolved","host":"cam.lan","error":"no","delay_ms":1500}"#
                    .into(),
            ),
            (
                ClientEvent::Connected {
                    server: "h:1".into(),
                    addr,
                },
                r#"{"event":"connected","server":"h:1","addr":"127.0.0.1:22"}"#.into(),
            ),
            (ClientEvent::Registered, r#"{"event":"registered"}"#.into()),
            (
                ClientEvent::Disconnected {
                    reason: "gone".into(),
                    disconnect: Some(Disconnect::Closed),
                },
                r#"{"event":"disconnected","reason":"gone"}"#.into(),
            ),
            (
                ClientEvent::Retrying {
                    server: "h:1".into(),
                    state: LinkState::Unauthorized,
                    delay: Duration::from_secs(2),
                },
                r#"{"event":"retrying","server":"h:1","state":"unauthorized","delay_ms":2000}"#
                    .into(),
            ),
            (
                ClientEvent::NotPaired { uuid, mac },
                format!(r#"{{"event":"not_paired","uuid":"{uuid}","mac":"02:00:00:00:00:01"}}"#),
            ),
            (
                ClientEvent::SessionClosed {
                    session: 4,
                    svc_id: 7,
                    bytes_up: 10,
                    bytes_down: 20,
                    end: SessionEnd::ServiceHup(3),
                },
                r#"{"event":"session_closed","session":4,"svc_id":7,"bytes_up":10,"bytes_down":20,"reason":"service_hup","code":3}"#
                    .into(),
            ),
            (
                ClientEvent::SessionClosed {
                    session: 4,
                    svc_id: 7,
                    bytes_up: 0,
                    bytes_down: 0,
                    end: SessionEnd::LocalClosed,
                },
                r#"{"event":"session_closed","session":4,"svc_id":7,"bytes_up":0,"bytes_down":0,"reason":"local_closed"}"#
                    .into(),
            ),
            (
                ClientEvent::TableSent {
                    services: 2,
                    reset: true,
                },
                r#"{"event":"table_sent","services":2,"reset":true}"#.into(),
            ),
            (ClientEvent::Stopped, r#"{"event":"stopped"}"#.into()),
            (
                ClientEvent::EventsDropped { count: 7 },
                r#"{"event":"events_dropped","count":7}"#.into(),
            ),
            (
                ClientEvent::EventsSuppressed {
                    of: "session_refused",
                    count: 990,
                },
                r#"{"event":"events_suppressed","of":"session_refused","count":990}"#.into(),
            ),
            (
                ClientEvent::SessionLimitLowered {
                    requested: 256,
                    allowed: 192,
                    open_files: 256,
                },
                r#"{"event":"session_limit_lowered","requested":256,"allowed":192,"open_files":256}"#
                    .into(),
            ),
        ];
        for (event, want) in cases {
            assert_eq!(json(&event), want, "{event:?}");
        }
    }

    #[test]
    fn the_human_line_says_the_same() {
        let cases = [
            (
                ClientEvent::ServiceUnresolved {
                    host: "cam.lan".into(),
                    error: "no".into(),
                    delay: Duration::from_millis(1500),
                },
                "service host cam.lan does not resolve: next attempt in 1.5 s",
            ),
            (
                ClientEvent::Retrying {
                    server: "h:1".into(),
                    state: LinkState::Disconnected,
                    delay: Duration::from_millis(250),
                },
                "disconnected: next attempt to h:1 in 0.2 s",
            ),
            (
                ClientEvent::TableSent {
                    services: 1,
                    reset: true,
                },
                "UPDATE sent: 1 service(s) (RESET_SVC_TABLE)",
            ),
            (
                ClientEvent::EventsDropped { count: 7 },
                "7 event(s) dropped: they came faster than they were read",
            ),
            (
                ClientEvent::EventsSuppressed {
                    of: "session_refused",
                    count: 990,
                },
                "990 more session_refused event(s) in the last second not shown",
            ),
        ];
        for (event, want) in cases {
            assert_eq!(event.to_string(), want);
        }
    }
}
