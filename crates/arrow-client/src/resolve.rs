//! Service host names to addresses, on every connection attempt.
//!
//! Services are configured by name (`rtsp://cam.lan/live`); the client resolves them again
//! at each connection attempt, inside the reconnect loop, so a camera whose name resolves
//! only later (DNS up after the client at boot, a name published late) or moves to a new
//! address is picked up without a restart. A host that does not resolve makes that attempt
//! fail like a lost connection: the client says so ([`ClientEvent::ServiceUnresolved`]),
//! the status file reads `disconnected` with the lookup's error, and the next attempt
//! comes after the reconnect backoff.
//!
//! Each lookup is bounded by a timeout ([`DEFAULT_RESOLVE_TIMEOUT`]). IP literals need no
//! lookup. The resolver is a trait ([`Resolve`]) so firmware can bring its own and tests can
//! script one; [`SystemResolver`] asks the system (getaddrinfo), except for names under
//! `.invalid`, which RFC 6761 reserves to never resolve: they fail at once, without a
//! query leaving the machine.
//!
//! [`ClientEvent::ServiceUnresolved`]: crate::client::ClientEvent::ServiceUnresolved

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::Error;
use crate::service_table::{ServiceSpec, ServiceTable};

/// How long one host lookup may take.
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks host names up.
pub trait Resolve: Send + Sync + 'static {
    /// Every address of `host` (a name, never an IP literal), in the resolver's order.
    fn lookup<'a>(&'a self, host: &'a str, port: u16)
    -> BoxFuture<'a, io::Result<Vec<SocketAddr>>>;
}

/// The system's resolver (getaddrinfo, through tokio), except for names under `.invalid`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move {
            if is_under_invalid(host) {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "names under .invalid never resolve (RFC 6761)",
                ));
            }
            Ok(tokio::net::lookup_host((host, port)).await?.collect())
        })
    }
}

/// `host` is `invalid` or a name under it (any case, with or without the final dot).
fn is_under_invalid(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.rsplit('.')
        .next()
        .is_some_and(|last| last.eq_ignore_ascii_case("invalid"))
}

/// The address a service is reached at, the same whatever order the resolver gives within
/// a family: the first IPv4 address when there is one (the service record's MAC is made
/// from IPv4 bytes, and `localhost` resolving to ::1 first must not break an IPv4-only
/// service), else the first IPv6 one.
fn preferred(addrs: &[SocketAddr]) -> Option<SocketAddr> {
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

/// The address of one service: an IP literal as it is, a name through `resolver` within
/// `timeout`.
pub async fn resolve_service(
    resolver: &dyn Resolve,
    timeout: Duration,
    spec: &ServiceSpec,
) -> Result<SocketAddr, Error> {
    if let Ok(ip) = spec.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, spec.port));
    }
    let unresolved = |source: io::Error| Error::Unresolved {
        service: spec.to_string(),
        host: spec.host.clone(),
        source,
    };
    let addrs = match tokio::time::timeout(timeout, resolver.lookup(&spec.host, spec.port)).await {
        Ok(result) => result.map_err(unresolved)?,
        Err(_) => {
            return Err(unresolved(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer within {}", humantime::format_duration(timeout)),
            )));
        }
    };
    preferred(&addrs)
        .ok_or_else(|| unresolved(io::Error::new(io::ErrorKind::NotFound, "no address")))
}

/// Every one of `specs` with its address; the first host that does not resolve is the
/// error ([`Error::Unresolved`]).
pub async fn resolve_specs(
    resolver: &dyn Resolve,
    timeout: Duration,
    specs: &[ServiceSpec],
) -> Result<Vec<(ServiceSpec, SocketAddr)>, Error> {
    let mut resolved = Vec::with_capacity(specs.len());
    for spec in specs {
        let addr = resolve_service(resolver, timeout, spec).await?;
        resolved.push((spec.clone(), addr));
    }
    Ok(resolved)
}

/// The service table for `specs`, every host resolved; the first host that does not
/// resolve is the error ([`Error::Unresolved`]); a table that cannot be made (the same
/// service twice) is an [`Error::Config`].
pub async fn resolve_services(
    resolver: &dyn Resolve,
    timeout: Duration,
    specs: &[ServiceSpec],
) -> Result<ServiceTable, Error> {
    ServiceTable::new(resolve_specs(resolver, timeout, specs).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_table::ServiceKind;

    /// A resolver with a fixed answer per host; any other host does not resolve, and
    /// `slow.lan` never answers.
    struct Scripted(Vec<(&'static str, Vec<SocketAddr>)>);

    impl Resolve for Scripted {
        fn lookup<'a>(
            &'a self,
            host: &'a str,
            _port: u16,
        ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
            Box::pin(async move {
                if host == "slow.lan" {
                    std::future::pending::<()>().await;
                }
                self.0
                    .iter()
                    .find(|(name, _)| *name == host)
                    .map(|(_, addrs)| addrs.clone())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown host"))
            })
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(f)
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn rtsp(url: &str) -> ServiceSpec {
        ServiceSpec::url(ServiceKind::Rtsp, url).unwrap()
    }

    #[test]
    fn names_under_invalid_never_resolve_and_nothing_else_is_refused() {
        let cases = [
            ("cam.invalid", true),
            ("cam.INVALID.", true),
            ("invalid", true),
            ("a.b.invalid", true),
            ("invalid.example", false),
            ("cam.invalidx", false),
            ("localhost", false),
            ("127.0.0.1", false),
            ("::1", false),
        ];
        for (host, want) in cases {
            assert_eq!(is_under_invalid(host), want, "{host}");
        }
        let err = block_on(SystemResolver.lookup("cam.invalid", 554)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_first_ipv4_address_is_preferred_else_the_first_ipv6() {
        let cases: [(&[&str], Option<&str>); 5] = [
            (&[], None),
            (&["[::1]:80", "127.0.0.1:80"], Some("127.0.0.1:80")),
            (
                &["[::1]:80", "192.0.2.7:80", "127.0.0.1:80"],
                Some("192.0.2.7:80"),
            ),
            (&["[2001:db8::2]:80", "[::1]:80"], Some("[2001:db8::2]:80")),
            (&["127.0.0.1:80"], Some("127.0.0.1:80")),
        ];
        for (addrs, want) in cases {
            let addrs: Vec<SocketAddr> = addrs.iter().map(|a| addr(a)).collect();
            assert_eq!(preferred(&addrs), want.map(addr), "{addrs:?}");
        }
    }

    #[test]
    fn an_unresolved_host_names_the_service_and_a_duplicate_is_a_config_error() {
        let resolver = Scripted(vec![(
            "cam.lan",
            vec![addr("[fe80::1]:554"), addr("10.0.0.9:554")],
        )]);
        let t = DEFAULT_RESOLVE_TIMEOUT;
        let table = block_on(resolve_services(
            &resolver,
            t,
            &[rtsp("rtsp://u:p@cam.lan/live")],
        ))
        .unwrap();
        assert_eq!(table.services()[0].addr, addr("10.0.0.9:554"));

        let err = block_on(resolve_services(
            &resolver,
            t,
            &[rtsp("rtsp://u:pw@cam.gone/live")],
        ))
        .unwrap_err();
        let Error::Unresolved { host, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(host, "cam.gone");
        let text = err.to_string();
        assert!(
            text.contains("cannot resolve service rtsp://***@cam.gone:554/live"),
            "{text}"
        );
        assert!(
            text.contains("unknown host") && !text.contains("pw"),
            "{text}"
        );
        assert!(!err.is_fatal());

        let empty = Scripted(vec![("cam.lan", vec![])]);
        let err = block_on(resolve_services(&empty, t, &[rtsp("rtsp://cam.lan/x")])).unwrap_err();
        assert!(err.to_string().contains("no address"), "{err}");

        let twice = [rtsp("rtsp://cam.lan/x"), rtsp("rtsp://u:p@cam.lan/x")];
        let err = block_on(resolve_services(&resolver, t, &twice)).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }

    #[test]
    fn ip_literals_need_no_lookup_and_a_silent_resolver_times_out() {
        let nobody = Scripted(vec![]);
        let spec = ServiceSpec::host_port(ServiceKind::Tcp, "[::1]:22").unwrap();
        let got = block_on(resolve_service(&nobody, DEFAULT_RESOLVE_TIMEOUT, &spec)).unwrap();
        assert_eq!(got, addr("[::1]:22"));

        let slow = ServiceSpec::host_port(ServiceKind::Tcp, "slow.lan:22").unwrap();
        let err = block_on(resolve_service(&nobody, Duration::from_secs(3), &slow)).unwrap_err();
        let Error::Unresolved { source, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(source.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("no answer within 3s"), "{err}");
    }
}
