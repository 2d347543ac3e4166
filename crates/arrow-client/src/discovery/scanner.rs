//! The scan's driver: the sockets and timers around the sans-IO probing.
//!
//! 1. The plan ([`super::scope`]): which addresses, from which interfaces.
//! 2. The sweep, and beside it an ONVIF WS-Discovery probe: a UDP datagram to
//!    the discard port of every address (the kernel asks ARP for it, so the neighbour table
//!    learns its MAC without privileges) and an ICMP echo where the system allows
//!    unprivileged ones (`net.ipv4.ping_group_range`); then a TCP connect to each candidate
//!    port (open, or refused: either way the host is there) of every address that may be
//!    there.
//! 3. The neighbour table for MACs ([`super::neighbours`]).
//! 4. The probes of each host with open ports: OPTIONS on its RTSP candidates and GET / on
//!    its HTTP ones, in candidate order, then the path walks ([`super::rtsp_probe`],
//!    [`super::http_probe`]).
//!
//! Bounds: at most [`ScanConfig::concurrency`] connections at once, at most
//! [`ScanConfig::rate`] new ones a second, each probe within
//! [`ScanConfig::probe_timeout`], the whole scan within [`ScanConfig::deadline`] (what was
//! found by then is the result, marked `cut_short`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_util::task::AbortOnDropHandle;

use super::http_probe::{self, HttpAnswer, MjpegWalk};
use super::report::{FoundBy, FoundHost, FoundService, ScanResult};
use super::rtsp_probe::{self, Read, RtspAnswer, RtspWalk};
use super::scope::{self, InterfaceNet};
use super::{ScanConfig, ScanProgress, arp_sweep, neighbours, onvif};
use crate::Error;
use crate::identity::MacAddr;
use crate::service_table::ServiceKind;
use arrow_codec::ServiceType;

/// Runs one scan. Fails only for a plan that cannot be made (an unknown interface, a
/// network over the limit); everything else is in the result and its warnings.
pub async fn scan(
    config: &ScanConfig,
    progress: &(dyn Fn(ScanProgress) + Send + Sync),
) -> Result<ScanResult, Error> {
    scan_until(config, progress, std::future::pending()).await
}

/// [`scan`], ended early when `stop` completes (a signal, say): what was found by then is
/// the result, marked [`cut_short`](ScanResult::cut_short) with a warning that says why.
pub async fn scan_until(
    config: &ScanConfig,
    progress: &(dyn Fn(ScanProgress) + Send + Sync),
    stop: impl std::future::Future<Output = ()>,
) -> Result<ScanResult, Error> {
    let plan = scope::plan(
        &scope::interfaces(),
        &config.interfaces,
        &config.targets,
        config.max_hosts,
    )?;
    tracing::info!(
        hosts = plan.hosts.len(),
        interfaces = %plan.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(","),
        "scan starting"
    );
    let shared = Arc::new(Mutex::new(State::default()));
    let work = run(
        config,
        &plan.hosts,
        &plan.interfaces,
        shared.clone(),
        progress,
    );
    let ended_by = tokio::select! {
        finished = tokio::time::timeout(config.deadline, work) => {
            finished.err().map(|_| format!(
                "the scan's deadline ({}) ended it before every probe was done: the results \
                 are partial",
                humantime::format_duration(config.deadline)
            ))
        }
        () = stop => Some("the scan was stopped before every probe was done: the results are \
                           partial".to_string()),
    };
    let state = std::mem::take(&mut *lock(&shared));
    let mut result = state.finish(&plan.hosts);
    if let Some(why) = ended_by {
        result.cut_short = true;
        result.warnings.push(why);
    }
    Ok(result)
}

/// What the scan has found so far; whatever the deadline leaves is the result.
#[derive(Default)]
struct State {
    /// Hosts that answered, and how.
    found_by: BTreeMap<Ipv4Addr, FoundBy>,
    /// Open ports per host.
    open: BTreeMap<Ipv4Addr, BTreeSet<u16>>,
    /// Extra HTTP ports per host (ONVIF device services).
    onvif_ports: BTreeMap<Ipv4Addr, BTreeSet<u16>>,
    services: Vec<FoundService>,
    warnings: Vec<String>,
    macs: std::collections::HashMap<Ipv4Addr, MacAddr>,
    /// Who answered our own ARP requests (with CAP_NET_RAW).
    arp_replies: std::collections::HashMap<Ipv4Addr, MacAddr>,
}

impl State {
    fn finish(mut self, planned: &[Ipv4Addr]) -> ScanResult {
        if self.macs.is_empty() {
            self.macs = neighbours::read();
        }
        let planned: HashSet<&Ipv4Addr> = planned.iter().collect();
        for ip in self.macs.keys() {
            if planned.contains(ip) {
                self.found_by.entry(*ip).or_default().arp = true;
            }
        }
        let hosts = self
            .found_by
            .iter()
            .map(|(ip, found_by)| FoundHost {
                ip: *ip,
                mac: self.macs.get(ip).copied(),
                found_by: *found_by,
                ports: self
                    .open
                    .get(ip)
                    .map(|p| p.iter().copied().collect())
                    .unwrap_or_default(),
            })
            .collect();
        let mut services = self.services;
        for service in &mut services {
            if let IpAddr::V4(ip) = service.addr.ip()
                && let Some(mac) = self.macs.get(&ip)
            {
                service.mac = *mac;
            }
        }
        services.sort_by_key(|s| s.addr);
        ScanResult {
            hosts,
            services,
            warnings: self.warnings,
            cut_short: false,
        }
    }
}

async fn run(
    config: &ScanConfig,
    hosts: &[Ipv4Addr],
    interfaces: &[InterfaceNet],
    shared: Arc<Mutex<State>>,
    progress: &(dyn Fn(ScanProgress) + Send + Sync),
) {
    let sweep = sweep(config, hosts, interfaces, shared.clone(), progress);
    let discovery = async {
        if config.onvif {
            onvif_discovery(config, hosts, interfaces, shared.clone()).await;
        }
    };
    tokio::join!(sweep, discovery);
    // The MACs, now that every address was sent to.
    {
        let mut s = lock(&shared);
        s.macs = neighbours::read();
        let replies: Vec<(Ipv4Addr, MacAddr)> = s.arp_replies.drain().collect();
        for (ip, mac) in replies {
            s.macs.entry(ip).or_insert(mac);
        }
    }
    let to_probe: Vec<(Ipv4Addr, Vec<u16>, Vec<u16>)> = {
        let s = lock(&shared);
        s.open
            .iter()
            .map(|(ip, open)| {
                let open: Vec<u16> = open.iter().copied().collect();
                let mut http = super::ports::in_order(&config.http_ports, &open);
                for extra in s.onvif_ports.get(ip).into_iter().flatten() {
                    if open.contains(extra) && !http.contains(extra) {
                        http.push(*extra);
                    }
                }
                (*ip, super::ports::in_order(&config.rtsp_ports, &open), http)
            })
            .collect()
    };
    let total = to_probe.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    progress(ScanProgress::Probing { done: 0, total });
    futures::stream::iter(to_probe)
        .map(|(ip, rtsp, http)| {
            let shared = shared.clone();
            let done = &done;
            async move {
                let found = probe_host(config, ip, &rtsp, &http).await;
                lock(&shared).services.extend(found);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(ScanProgress::Probing { done: n, total });
            }
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// At most `rate` new connections a second, shared by every task of the scan.
struct RateLimit {
    interval: tokio::sync::Mutex<tokio::time::Interval>,
}

impl RateLimit {
    fn new(rate: u32) -> Self {
        let period = Duration::from_secs(1) / rate.max(1);
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        RateLimit {
            interval: tokio::sync::Mutex::new(interval),
        }
    }

    async fn wait(&self) {
        self.interval.lock().await.tick().await;
    }
}

/// How long the kernel may take to resolve the on-link addresses with ARP (three
/// requests a second apart, by default).
const ARP_SETTLE: Duration = Duration::from_millis(3500);

/// The sweep, in two steps.
///
/// 1. Every address gets a UDP datagram (the kernel resolves on-link ones with ARP) and an
///    ICMP echo where allowed; then the neighbour table tells which on-link addresses are
///    there at all.
/// 2. TCP connects to every candidate port of the addresses that may be there: on-link ones
///    that answered ARP, every address that is not on a local subnet (no ARP to ask), and
///    whoever answered the echo. An on-link address that did not answer ARP cannot answer
///    TCP either, so a sparse /24 costs a few hundred datagrams, not thousands of connects
///    that each wait out the timeout.
async fn sweep(
    config: &ScanConfig,
    hosts: &[Ipv4Addr],
    interfaces: &[InterfaceNet],
    shared: Arc<Mutex<State>>,
    progress: &(dyn Fn(ScanProgress) + Send + Sync),
) {
    let rate = RateLimit::new(config.rate);
    let pinger = Pinger::open();
    if let Err(e) = &pinger {
        lock(&shared).warnings.push(format!(
            "ICMP echo not used: {e} (allow it with sysctl net.ipv4.ping_group_range); the \
             TCP sweep and the neighbour table find hosts without it"
        ));
    }
    let pinger = pinger.ok().map(Arc::new);
    // With CAP_NET_RAW, ARP requests of our own on each interface of the plan.
    let mut arp_sweeps = Vec::new();
    for interface in interfaces.iter().filter(|i| !i.loopback) {
        let targets: Vec<Ipv4Addr> = hosts
            .iter()
            .copied()
            .filter(|ip| interface.net.contains(ip))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let period = Duration::from_secs(1) / config.rate.max(1);
        match arp_sweep::ArpSweep::start(&interface.name, interface.net.addr(), targets, period) {
            Ok(sweep) => arp_sweeps.push(sweep),
            Err(e) => lock(&shared).warnings.push(format!(
                "ARP sweep not used on {}: {e} (it needs CAP_NET_RAW); the kernel's neighbour \
                 table finds the hosts that answer ARP without it",
                interface.name
            )),
        }
    }
    // Aborted when the sweep is dropped (the scan's deadline, the client stopping), so the
    // collector and its socket never outlive the scan.
    let replies = pinger
        .clone()
        .map(|p| AbortOnDropHandle::new(tokio::spawn(async move { p.collect().await })));
    let on_link = |ip: &Ipv4Addr| interfaces.iter().any(|i| !i.loopback && i.net.contains(ip));
    let total = hosts.len();
    progress(ScanProgress::Sweeping { done: 0, total });

    // 1. Datagrams and echoes.
    if let Ok(nudge) = UdpSocket::bind("0.0.0.0:0").await {
        for ip in hosts {
            rate.wait().await;
            let _ = nudge.send_to(&[0], SocketAddrV4::new(*ip, 9)).await;
            if let Some(pinger) = &pinger {
                pinger.send(*ip).await;
            }
        }
    }
    let mut arp = if hosts.iter().any(on_link) {
        settle_arp(hosts).await
    } else {
        Default::default()
    };
    if !arp_sweeps.is_empty() {
        let replies = tokio::task::spawn_blocking(move || {
            arp_sweeps
                .into_iter()
                .flat_map(arp_sweep::ArpSweep::finish)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let planned: HashSet<&Ipv4Addr> = hosts.iter().collect();
        let mut s = lock(&shared);
        for (ip, mac) in replies.into_iter().filter(|(ip, _)| planned.contains(ip)) {
            arp.entry(ip).or_insert(mac);
            s.arp_replies.insert(ip, mac);
        }
    }
    let echoed: HashSet<Ipv4Addr> = match &pinger {
        Some(p) => p.answered(),
        None => HashSet::new(),
    };
    let reachable: Vec<Ipv4Addr> = hosts
        .iter()
        .copied()
        .filter(|ip| !on_link(ip) || arp.contains_key(ip) || echoed.contains(ip))
        .collect();
    let swept_without_tcp = total - reachable.len();
    progress(ScanProgress::Sweeping {
        done: swept_without_tcp,
        total,
    });

    // 2. TCP to the candidate ports of who may be there.
    let ports = config.candidate_ports();
    let done = std::sync::atomic::AtomicUsize::new(swept_without_tcp);
    let per_host_left: Mutex<BTreeMap<Ipv4Addr, usize>> =
        Mutex::new(reachable.iter().map(|ip| (*ip, ports.len())).collect());
    let attempts: Vec<(Ipv4Addr, u16)> = reachable
        .iter()
        .flat_map(|ip| ports.iter().map(move |port| (*ip, *port)))
        .collect();
    futures::stream::iter(attempts)
        .map(|(ip, port)| {
            let shared = shared.clone();
            let (rate, per_host_left, done) = (&rate, &per_host_left, &done);
            async move {
                rate.wait().await;
                let addr = SocketAddr::new(IpAddr::V4(ip), port);
                let answered = match tokio::time::timeout(
                    config.probe_timeout,
                    TcpStream::connect(addr),
                )
                .await
                {
                    Ok(Ok(_stream)) => Some(true),
                    Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Some(false),
                    _ => None,
                };
                if let Some(open) = answered {
                    let mut s = lock(&shared);
                    s.found_by.entry(ip).or_default().tcp = true;
                    if open {
                        s.open.entry(ip).or_default().insert(port);
                    }
                }
                let finished = {
                    let mut left = lock(per_host_left);
                    let n = left.entry(ip).or_insert(1);
                    *n -= 1;
                    *n == 0
                };
                if finished {
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(ScanProgress::Sweeping { done: n, total });
                }
            }
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
    if let (Some(pinger), Some(replies)) = (pinger, replies) {
        pinger.stop();
        if let Ok(answered) = replies.await {
            let planned: HashSet<&Ipv4Addr> = hosts.iter().collect();
            let mut s = lock(&shared);
            for ip in answered.into_iter().filter(|ip| planned.contains(ip)) {
                s.found_by.entry(ip).or_default().icmp = true;
            }
        }
    }
}

/// The neighbour table once the kernel has had its time to resolve `hosts`: polled until
/// it stops growing for a second, at most [`ARP_SETTLE`].
async fn settle_arp(hosts: &[Ipv4Addr]) -> std::collections::HashMap<Ipv4Addr, MacAddr> {
    let wanted: HashSet<&Ipv4Addr> = hosts.iter().collect();
    let started = tokio::time::Instant::now();
    let mut last_growth = started;
    let mut known = 0;
    loop {
        let table = neighbours::read();
        let found = table.keys().filter(|ip| wanted.contains(ip)).count();
        if found > known {
            known = found;
            last_growth = tokio::time::Instant::now();
        }
        let now = tokio::time::Instant::now();
        if found == wanted.len()
            || now - started >= ARP_SETTLE
            || (now - last_growth >= Duration::from_secs(1)
                && now - started >= Duration::from_millis(1500))
        {
            return table;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Unprivileged ICMP echo (a datagram ICMP socket), where `net.ipv4.ping_group_range`
/// allows it.
struct Pinger {
    socket: UdpSocket,
    stop: tokio::sync::Notify,
    answered: Mutex<HashSet<Ipv4Addr>>,
}

impl Pinger {
    fn open() -> io::Result<Self> {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::ICMPV4),
        )?;
        socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket))?;
        Ok(Pinger {
            socket,
            stop: tokio::sync::Notify::new(),
            answered: Mutex::new(HashSet::new()),
        })
    }

    async fn send(&self, ip: Ipv4Addr) {
        // Type 8 (echo request), code 0, checksum and identifier filled in by the kernel.
        let echo = [8u8, 0, 0, 0, 0, 0, 0, 1, b'a', b'r', b'r', b'o', b'w'];
        let _ = self.socket.send_to(&echo, SocketAddrV4::new(ip, 0)).await;
    }

    fn stop(&self) {
        self.stop.notify_one();
    }

    /// Who answered so far.
    fn answered(&self) -> HashSet<Ipv4Addr> {
        lock(&self.answered).clone()
    }

    /// The addresses that sent an echo reply, until [`stop`](Self::stop).
    async fn collect(&self) -> BTreeSet<Ipv4Addr> {
        let mut answered = BTreeSet::new();
        let mut buf = [0u8; 1500];
        loop {
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, SocketAddr::V4(from))) if n >= 1 && buf[0] == 0 => {
                        answered.insert(*from.ip());
                        lock(&self.answered).insert(*from.ip());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                },
                () = self.stop.notified() => break,
            }
        }
        answered
    }
}

/// Sends the ONVIF probe on each interface of the plan (never anywhere else) and records
/// who answers within [`ScanConfig::onvif_wait`].
async fn onvif_discovery(
    config: &ScanConfig,
    hosts: &[Ipv4Addr],
    interfaces: &[InterfaceNet],
    shared: Arc<Mutex<State>>,
) {
    let socket = match UdpSocket::bind("0.0.0.0:0").await {
        Ok(s) => s,
        Err(e) => {
            lock(&shared)
                .warnings
                .push(format!("ONVIF WS-Discovery not used: {e}"));
            return;
        }
    };
    let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let probe = onvif::probe(&message_id);
    let mut sent = 0;
    let mut errors = Vec::new();
    for source in interfaces.iter().map(|i| i.net.addr()) {
        if let Err(e) = socket2::SockRef::from(&socket).set_multicast_if_v4(&source) {
            errors.push(format!("{source}: {e}"));
            continue;
        }
        match socket.send_to(probe.as_bytes(), onvif::MULTICAST).await {
            Ok(_) => sent += 1,
            Err(e) => errors.push(e.to_string()),
        }
    }
    if sent == 0 {
        lock(&shared).warnings.push(format!(
            "ONVIF WS-Discovery not used: the probe could not be sent ({}), e.g. no multicast \
             route; the sweep goes on without it",
            errors.join("; ")
        ));
        return;
    }
    let planned: HashSet<&Ipv4Addr> = hosts.iter().collect();
    let mut buf = vec![0u8; onvif::MAX_MESSAGE];
    let _ = tokio::time::timeout(config.onvif_wait, async {
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                break;
            };
            for found in onvif::read_matches(&buf[..n], &message_id) {
                let mut ips = found.addresses();
                ips.extend(onvif::sender_v4(from));
                let mut s = lock(&shared);
                for ip in ips.into_iter().filter(|ip| planned.contains(ip)) {
                    s.found_by.entry(ip).or_default().onvif = true;
                    for url in &found.xaddrs {
                        if let Some(port) = xaddr_port(url) {
                            s.onvif_ports.entry(ip).or_default().insert(port);
                        }
                    }
                }
            }
        }
    })
    .await;
}

/// The port of a device service URL (`http://10.0.0.5:8080/onvif/...`; 80 when none).
fn xaddr_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            port.parse().ok().or(Some(80))
        }
        _ => Some(if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        }),
    }
}

/// Probes one host's open candidate ports: its RTSP service (the first RTSP candidate that
/// answers RTSP) and its HTTP service (the first HTTP candidate that answers HTTP).
async fn probe_host(
    config: &ScanConfig,
    ip: Ipv4Addr,
    rtsp_ports: &[u16],
    http_ports: &[u16],
) -> Vec<FoundService> {
    let mut found = Vec::new();
    let mut rtsp_port = None;
    let service = |addr, (service_type, path)| FoundService {
        service_type,
        addr,
        path,
        mac: MacAddr([0; 6]),
    };
    for port in rtsp_ports {
        let addr = SocketAddr::new(IpAddr::V4(ip), *port);
        if let Some(finding) = probe_rtsp(config, addr).await {
            found.push(service(addr, finding));
            rtsp_port = Some(*port);
            break;
        }
    }
    for port in http_ports.iter().filter(|p| Some(**p) != rtsp_port) {
        let addr = SocketAddr::new(IpAddr::V4(ip), *port);
        if let Some(finding) = probe_http(config, addr).await {
            found.push(service(addr, finding));
            break;
        }
    }
    found
}

/// What the RTSP server at `addr` offers (its type and stream path, from
/// [`RtspWalk`]); `None` when it does not answer RTSP.
async fn probe_rtsp(config: &ScanConfig, addr: SocketAddr) -> Option<(ServiceType, String)> {
    let request = rtsp_probe::options_request(addr, 1);
    let answer = exchange(config, addr, &request, rtsp_probe::read_response).await?;
    let mut walk = RtspWalk::new(&config.rtsp_paths, answer.server.as_deref());
    let mut cseq = 2;
    while let Some(path) = walk.next_path().map(str::to_string) {
        let request = rtsp_probe::describe_request(addr, &path, cseq);
        cseq += 1;
        let answer: Option<RtspAnswer> =
            exchange(config, addr, &request, rtsp_probe::read_response).await;
        walk.answer(answer.as_ref());
    }
    walk.finding().map(|f| (f.service_type, f.path))
}

/// What the web server at `addr` offers (MJPEG with its path, Locked MJPEG, or plain
/// HTTP, from [`MjpegWalk`]); `None` when it does not answer HTTP.
async fn probe_http(config: &ScanConfig, addr: SocketAddr) -> Option<(ServiceType, String)> {
    let request = http_probe::get_request(addr, "/");
    let answer = exchange(config, addr, &request, http_probe::read_head).await?;
    let mut walk = MjpegWalk::new(&config.mjpeg_paths, answer.server.as_deref());
    while let Some(path) = walk.next_path().map(str::to_string) {
        let request = http_probe::get_request(addr, &path);
        let answer: Option<HttpAnswer> =
            exchange(config, addr, &request, http_probe::read_head).await;
        walk.answer(answer.as_ref());
    }
    walk.finding().map(|f| (f.service_type, f.path))
}

/// Asks one configured stream whose URL named no path for its type and path, as a scan
/// would: an RTSP service with the RTSP walk, an MJPEG one with the MJPEG walk. `None`
/// when the camera does not answer, or (MJPEG) has no stream on any listed path.
pub async fn probe_stream(
    kind: ServiceKind,
    addr: SocketAddr,
    config: &ScanConfig,
) -> Option<(ServiceType, String)> {
    match kind {
        ServiceKind::Rtsp => probe_rtsp(config, addr).await,
        ServiceKind::Mjpeg => probe_http(config, addr)
            .await
            .filter(|(t, _)| *t != ServiceType::Http),
        _ => None,
    }
}

/// One request on a fresh connection and its answer, read with `read` (which never needs
/// more than its own limit), within the probe timeout; `None` for no (usable) answer.
async fn exchange<T>(
    config: &ScanConfig,
    addr: SocketAddr,
    request: &[u8],
    read: fn(&[u8]) -> Read<T>,
) -> Option<T> {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut buf = Vec::with_capacity(4096);
        loop {
            match read(&buf) {
                Read::Done(answer, _) => return Some(answer),
                Read::Invalid => return None,
                Read::More => {}
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return match read(&buf) {
                    Read::Done(answer, _) => Some(answer),
                    _ => None,
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(config.probe_timeout, attempt)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_onvif_device_service_url_gives_its_port() {
        let cases = [
            ("http://10.0.0.5:8080/onvif/device_service", Some(8080)),
            ("http://10.0.0.5/onvif/device_service", Some(80)),
            ("https://10.0.0.5/onvif", Some(443)),
            ("http://[fe80::1]:8000/onvif", Some(8000)),
            ("nonsense", None),
        ];
        for (url, want) in cases {
            assert_eq!(xaddr_port(url), want, "{url}");
        }
    }
}
