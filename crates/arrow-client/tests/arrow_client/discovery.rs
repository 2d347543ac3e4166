//! The scanner against scripted cameras on loopback addresses (127.0.0.x, never another
//! network): every host found with its open ports, every service with the type and path
//! the reference's rules give, and the deadline honoured.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use arrow_client::discovery::{self, FoundService, ScanConfig, ScanProgress};
use arrow_codec::ServiceType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::Guard;

const H264_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n\
    m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
const AUDIO_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n\
    m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// How a scripted camera answers a request line.
type Answer = fn(&str) -> String;

fn rtsp(status: &str, cseq: &str, body: &str) -> String {
    format!(
        "RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn h264_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        Some("DESCRIBE") if head.contains("/live.sdp ") => rtsp("200 OK", &cseq, H264_SDP),
        _ => rtsp("404 Not Found", &cseq, ""),
    }
}

fn locked_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        _ => {
            "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n"
                .replace("CSeq: 1", &format!("CSeq: {cseq}"))
        }
    }
}

fn audio_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        Some("DESCRIBE") if head.contains("/h264 ") => rtsp("200 OK", &cseq, AUDIO_SDP),
        _ => rtsp("404 Not Found", &cseq, ""),
    }
}

fn mjpeg_camera(head: &str) -> String {
    if head.starts_with("GET /mjpg/video.mjpg ") {
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n--frame\r\n"
            .into()
    } else if head.starts_with("GET / ") {
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi".into()
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    }
}

fn web_server(head: &str) -> String {
    if head.starts_with("GET / ") {
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi".into()
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    }
}

fn cseq(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("CSeq: "))
        .unwrap_or("0")
        .trim()
        .to_string()
}

/// A camera that answers OPTIONS and then never answers a DESCRIBE.
fn stalling_camera(head: &str) -> String {
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq(head), ""),
        _ => String::new(),
    }
}

/// A server on `addr` answering each request with `answer`, then closing; an empty answer
/// is none: the connection is held open, unanswered, until the other end closes it.
async fn camera(addr: SocketAddr, answer: Answer) -> Guard<()> {
    let listener = TcpListener::bind(addr).await.unwrap();
    Guard(tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    match socket.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = answer(&String::from_utf8_lossy(&head));
                if reply.is_empty() {
                    while matches!(socket.read(&mut byte).await, Ok(1..)) {}
                    return;
                }
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    }))
}

/// A free port on 127.0.0.2 (and, nearly always, on the other loopback addresses too).
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.2:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn at(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), port))
}

fn config(rtsp_port: u16, http_port: u16) -> ScanConfig {
    config_scan(rtsp_port, http_port)
}

/// A scan of 127.0.0.2 to 127.0.0.5 on these ports, without ONVIF.
fn config_scan(rtsp_port: u16, http_port: u16) -> ScanConfig {
    ScanConfig {
        targets: vec![
            "127.0.0.2/31".parse().unwrap(),
            "127.0.0.4/31".parse().unwrap(),
        ],
        rtsp_ports: vec![rtsp_port],
        http_ports: vec![http_port],
        rtsp_paths: ["/11", "/live.sdp", "/h264"].map(String::from).to_vec(),
        // Multicast would go out on lo only, but these tests need none.
        onvif: false,
        probe_timeout: Duration::from_secs(2),
        ..ScanConfig::default()
    }
}

fn service(found: &[FoundService], addr: SocketAddr) -> Option<(ServiceType, String)> {
    found
        .iter()
        .find(|s| s.addr == addr)
        .map(|s| (s.service_type, s.path.clone()))
}

#[tokio::test]
async fn a_scan_of_loopback_cameras_types_every_service_like_the_reference() {
    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let _cams = [
        camera(at(2, rtsp_port), h264_camera).await,
        camera(at(2, http_port), mjpeg_camera).await,
        camera(at(3, rtsp_port), locked_camera).await,
        camera(at(4, rtsp_port), audio_camera).await,
        camera(at(4, http_port), web_server).await,
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let result = discovery::scan(&config(rtsp_port, http_port), &|p| {
        seen.lock().unwrap().push(p)
    })
    .await
    .unwrap();

    let hosts: Vec<(Ipv4Addr, Vec<u16>)> = result
        .hosts
        .iter()
        .map(|h| (h.ip, h.ports.clone()))
        .collect();
    let mut both = vec![rtsp_port, http_port];
    both.sort();
    assert!(
        hosts.contains(&(Ipv4Addr::new(127, 0, 0, 2), both)),
        "{hosts:?} (ports ascending)"
    );
    assert!(
        hosts.contains(&(Ipv4Addr::new(127, 0, 0, 3), vec![rtsp_port])),
        "{hosts:?}"
    );
    assert!(
        result.hosts.iter().all(|h| h.found_by.tcp),
        "refused connects count too"
    );
    let cases = [
        (
            at(2, rtsp_port),
            Some((ServiceType::Rtsp, "/live.sdp".to_string())),
        ),
        (
            at(2, http_port),
            Some((ServiceType::Mjpeg, "/mjpg/video.mjpg".to_string())),
        ),
        (
            at(3, rtsp_port),
            Some((ServiceType::LockedRtsp, String::new())),
        ),
        (
            at(4, rtsp_port),
            Some((ServiceType::UnsupportedRtsp, "/h264".to_string())),
        ),
        (at(4, http_port), Some((ServiceType::Http, String::new()))),
        (at(5, rtsp_port), None),
    ];
    for (addr, want) in cases {
        assert_eq!(service(&result.services, addr), want, "{addr}");
    }
    assert!(!result.cut_short);
    let seen = seen.lock().unwrap();
    assert!(
        seen.contains(&ScanProgress::Sweeping { done: 4, total: 4 }),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|p| matches!(p, ScanProgress::Probing { done, total } if done == total))
    );
    // The report for the service carries the same services with non-zero ids.
    let wire = result.wire(3);
    assert_eq!(wire.services.len(), result.services.len());
}

#[tokio::test]
async fn a_silent_network_ends_within_the_deadline_with_what_it_has() {
    // 127.0.0.0/24 minus ours: a sweep of 254 addresses on a port nothing listens on, with a
    // deadline shorter than the sweep can take at 20 connects a second.
    let port = free_port().await;
    let config = ScanConfig {
        targets: vec!["127.0.99.0/24".parse().unwrap()],
        rtsp_ports: vec![port],
        http_ports: vec![],
        rate: 20,
        deadline: Duration::from_millis(500),
        onvif: false,
        ..ScanConfig::default()
    };
    let result = discovery::scan(&config, &|_| {}).await.unwrap();
    assert!(result.cut_short);
    assert!(
        result.warnings.iter().any(|w| w.contains("deadline")),
        "{:?}",
        result.warnings
    );
    assert!(result.hosts.len() < 254, "cut short before the sweep ended");
}

#[tokio::test]
async fn a_network_over_the_limit_is_refused_before_any_packet() {
    let config = ScanConfig {
        targets: vec!["127.0.0.0/16".parse().unwrap()],
        onvif: false,
        ..ScanConfig::default()
    };
    let err = discovery::scan(&config, &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");
}

/// A camera in a network namespace of its own, behind a veth pair: RTSP on 8554 (H.264 at
/// /live.sdp) and MJPEG on 8080, answered by a small Python server.
const NETNS_CAMERA: &str = r#"
import socket, sys, threading
SDP = "v=0\r\no=- 1 1 IN IP4 10.99.0.10\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
def answer(head):
    first = head.split("\r\n")[0]
    cseq = next((l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.startswith("CSeq:")), "0")
    if first.startswith("OPTIONS"):
        return "RTSP/1.0 200 OK\r\nCSeq: %s\r\n\r\n" % cseq
    if first.startswith("DESCRIBE") and "/live.sdp " in first:
        return "RTSP/1.0 200 OK\r\nCSeq: %s\r\nContent-Length: %d\r\n\r\n%s" % (cseq, len(SDP), SDP)
    if first.startswith("DESCRIBE"):
        return "RTSP/1.0 404 Not Found\r\nCSeq: %s\r\n\r\n" % cseq
    if first.startswith("GET /mjpg/video.mjpg "):
        return "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n"
    if first.startswith("GET / "):
        return "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi"
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
def serve(conn):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        chunk = conn.recv(1024)
        if not chunk:
            break
        head += chunk
    try:
        conn.sendall(answer(head.decode("latin-1")).encode("latin-1"))
    finally:
        conn.close()
def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    return s
def loop(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
servers = [listen(8554), listen(8080)]
for s in servers:
    threading.Thread(target=loop, args=(s,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"#;

/// `cmd` must succeed.
fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A child process, killed and reaped when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This test runs in a network namespace made for it (`cargo xtask ci` runs `netns_*` tests
/// inside `unshare -n`), never in the machine's own: it sweeps a subnet.
fn assert_in_own_namespace() {
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    // PID 1's namespace where we may read it, else our parent's (xtask, or the shell that
    // ran `unshare -n`): either is the machine's.
    let outside = std::fs::read_link("/proc/1/ns/net").or_else(|_| {
        std::fs::read_link(format!(
            "/proc/{}/ns/net",
            std::os::unix::process::parent_id()
        ))
    });
    if let Ok(outside) = outside {
        assert_ne!(
            ours, outside,
            "refusing to scan from the machine's own network namespace"
        );
    }
    // (`ip` asks the kernel about this namespace; /sys/class/net shows the one sysfs was
    // mounted in.)
    let links = sh("ip -o link show");
    let interfaces: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "a fresh namespace has loopback only: {interfaces:?}"
    );
}

/// A veth pair from this namespace (`ours`: name, address, `ip link set` options) to the
/// one of `pid` (`theirs`: name, address), both ends up. The guard deletes it (the pair
/// goes away with the other namespace too, but only once the kernel gets to it, and the
/// next netns test must find loopback only); with the MAC of their end.
fn veth_pair(
    pid: u32,
    ours: (&'static str, &str, &str),
    theirs: (&str, &str),
) -> (DeletedOnDrop, String) {
    let (link, addr, options) = ours;
    let (peer, peer_addr) = theirs;
    sh(&format!(
        "ip link add {link} type veth peer name {peer} netns {pid}"
    ));
    let guard = DeletedOnDrop(link);
    sh(&format!(
        "ip addr add {addr} dev {link} && ip link set {link} {options} up"
    ));
    sh(&format!(
        "nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add {peer_addr} dev {peer} \
         && ip link set {peer} up'"
    ));
    let shown = sh(&format!("nsenter -t {pid} -n ip -o link show {peer}"));
    let mac = shown
        .split("link/ether ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no MAC in {shown}"))
        .to_string();
    // The link is up once both ends are: wait for it (bounded), never a fixed sleep.
    for _ in 0..100 {
        if sh(&format!("ip -o link show {link}")).contains("state UP") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, mac)
}

/// Deletes a link of this namespace when dropped (also when an assert fails).
struct DeletedOnDrop(&'static str);

impl Drop for DeletedOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", self.0])
            .status();
    }
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_a_camera_behind_a_veth_is_found_with_its_mac_and_typed_services() {
    use std::io::BufRead;
    assert_in_own_namespace();
    // The camera's namespace: a child of ours, holding one end of the veth pair.
    let mut child = Reaped(
        std::process::Command::new("unshare")
            .args(["-n", "--", "/usr/bin/python3", "-c", NETNS_CAMERA])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut ready = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let pid = child.0.id();
    let (_scan0, camera_mac) = veth_pair(
        pid,
        ("scan0", "10.99.0.1/24", ""),
        ("cam0", "10.99.0.10/24"),
    );

    let config = ScanConfig {
        interfaces: vec!["scan0".into()],
        rtsp_ports: vec![8554],
        http_ports: vec![8080],
        ..ScanConfig::default()
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(discovery::scan(&config, &|_| {}))
        .unwrap();
    let camera: Ipv4Addr = "10.99.0.10".parse().unwrap();
    let host = result
        .hosts
        .iter()
        .find(|h| h.ip == camera)
        .unwrap_or_else(|| panic!("camera not found: {result:?}"));
    assert_eq!(
        host.mac.map(|m| m.to_string()),
        Some(camera_mac.clone()),
        "MAC from ARP"
    );
    assert!(
        host.found_by.arp && host.found_by.tcp,
        "{:?}",
        host.found_by
    );
    assert_eq!(host.ports, [8080, 8554]);
    assert_eq!(
        result.hosts.len(),
        1,
        "nobody else on the subnet: {:?}",
        result.hosts
    );
    let services: Vec<(ServiceType, u16, &str, String)> = result
        .services
        .iter()
        .map(|s| {
            (
                s.service_type,
                s.addr.port(),
                s.path.as_str(),
                s.mac.to_string(),
            )
        })
        .collect();
    assert_eq!(
        services,
        [
            (
                ServiceType::Mjpeg,
                8080,
                "/mjpg/video.mjpg",
                camera_mac.clone()
            ),
            (ServiceType::Rtsp, 8554, "/live.sdp", camera_mac.clone()),
        ]
    );
    // The report for the Arrow Service: the host with the ARP flag, its real MAC in each
    // service record.
    let wire = result.wire(1);
    assert_eq!(wire.hosts[0].flags, arrow_codec::HostFlags::ARP);
    assert!(
        wire.services
            .iter()
            .all(|s| s.mac.to_string() == camera_mac)
    );
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_with_cap_net_raw_our_own_arp_requests_find_a_host_the_kernel_does_not_resolve() {
    assert_in_own_namespace();
    // A host in a namespace of its own behind a veth pair; nothing listens on it.
    let host = Reaped(
        std::process::Command::new("unshare")
            .args(["-n", "--", "sleep", "600"])
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = host.0.id();
    let own = std::fs::read_link("/proc/self/ns/net").ok();
    let mut apart = false;
    for _ in 0..250 {
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if ns.is_some() && ns != own {
            apart = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(apart, "the host's namespace came up");
    // Our side does not ARP at all (`arp off`): the kernel never resolves the host, so
    // only the scanner's own requests, read off the wire, can find it.
    let (_arp0, host_mac) = veth_pair(
        pid,
        ("arp0", "10.94.0.1/24", "arp off"),
        ("host0", "10.94.0.20/24"),
    );
    let config = ScanConfig {
        interfaces: vec!["arp0".into()],
        onvif: false,
        ..ScanConfig::default()
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(discovery::scan(&config, &|_| {}))
        .unwrap();
    assert!(
        !result
            .warnings
            .iter()
            .any(|w| w.contains("ARP sweep not used")),
        "root in the namespace may open the raw channel: {:?}",
        result.warnings
    );
    let target: Ipv4Addr = "10.94.0.20".parse().unwrap();
    let found = result
        .hosts
        .iter()
        .find(|h| h.ip == target)
        .unwrap_or_else(|| panic!("the host was not found: {result:?}"));
    assert!(found.found_by.arp, "{:?}", found.found_by);
    assert_eq!(found.mac.map(|m| m.to_string()), Some(host_mac));
    assert!(
        !sh("ip neigh show dev arp0").contains("10.94.0.20 lladdr"),
        "the kernel did not resolve it: our ARP sweep found it"
    );
}

/// The next control message from the client that is not an UPDATE (what a scan found
/// joins the table, so UPDATEs come between the answers).
async fn next_answer(peer: &mut crate::malicious::Peer) -> arrow_codec::ControlBody {
    loop {
        let message = peer.recv_control().await.expect("an answer");
        if !matches!(message.body, arrow_codec::ControlBody::Update(_)) {
            return message.body;
        }
    }
}

/// A camera that takes connections and never answers: a probe of it waits out its timeout,
/// so a scan that meets it lasts at least that long.
async fn silent(addr: SocketAddr) -> Guard<()> {
    let listener = TcpListener::bind(addr).await.unwrap();
    Guard(tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    }))
}

#[tokio::test]
async fn with_discovery_the_client_scans_sets_the_status_flag_and_reports_what_it_found() {
    use crate::malicious::Scripted;
    use crate::support::{Spawned, certs, client_config, wait_for};
    use arrow_client::client::ClientEvent;
    use arrow_codec::{ControlBody, ControlMessage, StatusFlags};

    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let _cams = [
        camera(at(2, rtsp_port), h264_camera).await,
        silent(at(3, rtsp_port)).await,
    ];
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.discovery = Some(ScanConfig {
        targets: vec!["127.0.0.2/31".parse().unwrap()],
        probe_timeout: Duration::from_secs(1),
        ..config_scan(rtsp_port, http_port)
    });
    let mut client = Spawned::start(config);
    let (mut peer, _) = scripted.accept().await;
    // The first scan runs at start; its findings answer GET_SCAN_REPORT.
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::ScanFinished { .. })
    })
    .await;
    peer.send(&ControlMessage::new(7, ControlBody::GetScanReport))
        .await;
    let report = match next_answer(&mut peer).await {
        ControlBody::ScanReport(report) => report,
        other => panic!("{other:?}"),
    };
    assert_eq!(report.request_id, 7);
    let found: Vec<(ServiceType, u16, &str)> = report
        .services
        .iter()
        .map(|s| (s.svc_type, s.port, s.path.as_str()))
        .collect();
    assert!(
        found.contains(&(ServiceType::Rtsp, rtsp_port, "/live.sdp")),
        "{found:?}"
    );
    assert_eq!(report.hosts.len(), 2, "{:?}", report.hosts);

    // SCAN_NETWORK starts another scan; STATUS says so while it runs, and not after.
    peer.send(&ControlMessage::new(8, ControlBody::ScanNetwork))
        .await;
    wait_for(&mut client.events, |e| *e == ClientEvent::ScanStarted).await;
    peer.send(&ControlMessage::new(9, ControlBody::GetStatus))
        .await;
    let flags = |body: ControlBody| match body {
        ControlBody::Status(status) => status.flags,
        other => panic!("{other:?}"),
    };
    let during = flags(next_answer(&mut peer).await);
    assert_eq!(during, StatusFlags::SCANNING);
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::ScanFinished { .. })
    })
    .await;
    peer.send(&ControlMessage::new(10, ControlBody::GetStatus))
        .await;
    let after = flags(next_answer(&mut peer).await);
    assert_eq!(after, StatusFlags::default());
    client.stop().await.unwrap();
}

#[tokio::test]
async fn the_development_service_asks_a_client_for_its_scan_and_status_on_request() {
    use crate::support::{Spawned, certs, client_config, start_service, wait_for};
    use arrow_client::client::ClientEvent;
    use arrow_client::dev_service::{ServiceEvent, ServiceRequest};

    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let _cam = camera(at(2, rtsp_port), h264_camera).await;
    let certs = certs();
    let mut service = start_service(&certs).await;
    let mut config = client_config(service.addr, &certs, &[]);
    config.discovery = Some(ScanConfig {
        targets: vec!["127.0.0.2/32".parse().unwrap()],
        ..config_scan(rtsp_port, http_port)
    });
    let mut client = Spawned::start(config);
    wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::ClientRegistered { .. })
    })
    .await;
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::ScanFinished { .. })
    })
    .await;
    let dev = service.service.as_ref().unwrap();

    dev.request(Some(1), ServiceRequest::GetScanReport);
    let report = wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::ScanReport { .. })
    })
    .await;
    let ServiceEvent::ScanReport {
        services, hosts, ..
    } = report
    else {
        unreachable!()
    };
    assert_eq!(hosts.len(), 1);
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(
        (services[0].svc_type, services[0].path.as_str()),
        (ServiceType::Rtsp, "/live.sdp")
    );

    dev.request(None, ServiceRequest::ScanNetwork);
    wait_for(&mut client.events, |e| *e == ClientEvent::ScanStarted).await;
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::ScanFinished { .. })
    })
    .await;
    dev.request(None, ServiceRequest::GetStatus);
    let status = wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::Status { .. })
    })
    .await;
    assert!(
        matches!(
            status,
            ServiceEvent::Status {
                scanning: false,
                active_sessions: 0,
                ..
            }
        ),
        "{status:?}"
    );
    // Another client number: nothing is sent.
    dev.request(Some(9), ServiceRequest::GetStatus);
    client.stop().await.unwrap();
    service.stop().await;
}

#[tokio::test]
async fn the_scanner_types_every_kind_of_fake_camera_as_the_reference_would() {
    use arrow_client::dev_camera::{CameraConfig, CameraKind, FakeCamera};

    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let cases = [
        (
            17,
            CameraKind::RtspH264,
            rtsp_port,
            ServiceType::Rtsp,
            "/live.sdp",
        ),
        (
            18,
            CameraKind::RtspAudioOnly,
            rtsp_port,
            ServiceType::UnsupportedRtsp,
            "/live.sdp",
        ),
        (
            19,
            CameraKind::RtspLocked,
            rtsp_port,
            ServiceType::LockedRtsp,
            "",
        ),
        (
            20,
            CameraKind::Mjpeg,
            http_port,
            ServiceType::Mjpeg,
            "/mjpg/video.mjpg",
        ),
        (
            21,
            CameraKind::MjpegLocked,
            http_port,
            ServiceType::LockedMjpeg,
            "/mjpg/video.mjpg",
        ),
        (22, CameraKind::Http, http_port, ServiceType::Http, ""),
    ];
    let mut cameras = Vec::new();
    for (host, kind, port, _, _) in cases {
        let listener = TcpListener::bind(at(host, port)).await.unwrap();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        cameras.push(FakeCamera::spawn(listener, CameraConfig::new(kind), tx).unwrap());
    }
    let config = ScanConfig {
        targets: vec!["127.0.0.16/28".parse().unwrap()],
        rtsp_ports: vec![rtsp_port],
        http_ports: vec![http_port],
        onvif: false,
        ..ScanConfig::default()
    };
    let result = discovery::scan(&config, &|_| {}).await.unwrap();
    for (host, kind, port, want_type, want_path) in cases {
        let got = service(&result.services, at(host, port));
        assert_eq!(got, Some((want_type, want_path.to_string())), "{kind:?}");
    }
    for camera in cameras {
        camera.stop().await;
    }
}

#[tokio::test]
async fn discovered_services_join_the_table_are_kept_and_reset_svc_table_drops_them() {
    use crate::malicious::Scripted;
    use crate::support::{Spawned, certs, client_config, wait_for};
    use arrow_client::client::ClientEvent;
    use arrow_codec::{ControlBody, ControlMessage, ErrorCode};

    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let camera_addr = at(2, rtsp_port);
    let _cam = camera(camera_addr, h264_camera).await;
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.state_dir = Some(state.path().to_path_buf());
    config.discovery = Some(ScanConfig {
        targets: vec!["127.0.0.2/32".parse().unwrap()],
        ..config_scan(rtsp_port, http_port)
    });
    let mut client = Spawned::start(config);
    let (mut peer, register) = scripted.accept_register().await;
    peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
    let has_camera = |services: &[arrow_codec::Service]| {
        services.iter().any(|s| {
            s.svc_type == ServiceType::Rtsp && s.port == rtsp_port && s.path == "/live.sdp"
        })
    };
    // The first scan runs at start: its camera is in REGISTER, or in an UPDATE right after.
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::ScanFinished { .. })
    })
    .await;
    if !has_camera(&register.services) {
        let update = peer.recv_control().await.expect("UPDATE");
        let ControlBody::Update(update) = update.body else {
            panic!("{update:?}")
        };
        assert!(has_camera(&update.services), "{:?}", update.services);
    }
    let kept = std::fs::read_to_string(state.path().join("discovered.json")).unwrap();
    assert!(
        kept.contains("/live.sdp"),
        "kept in the state directory: {kept}"
    );

    // RESET_SVC_TABLE: UPDATE at once, without what the scanner found.
    peer.send(&ControlMessage::new(5, ControlBody::ResetSvcTable))
        .await;
    let update = peer.recv_control().await.expect("UPDATE");
    let ControlBody::Update(update) = update.body else {
        panic!("{update:?}")
    };
    assert!(update.services.is_empty(), "{:?}", update.services);
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::TableSent { reset: true, .. })
    })
    .await;
    let kept = std::fs::read_to_string(state.path().join("discovered.json")).unwrap();
    assert!(!kept.contains("/live.sdp"), "forgotten: {kept}");
    client.stop().await.unwrap();
}

#[tokio::test]
async fn a_configured_stream_without_a_path_is_probed_once_for_its_path_and_type_and_a_reload_keeps_it()
 {
    use crate::malicious::Scripted;
    use crate::support::{Spawned, certs, client_config};
    use arrow_client::service_table::{ServiceKind, ServiceSpec};
    use arrow_codec::{ControlMessage, ErrorCode};

    let port = free_port().await;
    let _cams = [
        camera(at(2, port), h264_camera).await,
        camera(at(3, port), locked_camera).await,
    ];
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.services = vec![
        ServiceSpec::url(ServiceKind::Rtsp, &format!("rtsp://127.0.0.2:{port}")).unwrap(),
        ServiceSpec::url(ServiceKind::Rtsp, &format!("rtsp://127.0.0.3:{port}")).unwrap(),
        // A path given: announced as it is, never probed.
        ServiceSpec::url(ServiceKind::Rtsp, &format!("rtsp://127.0.0.2:{port}/given")).unwrap(),
    ];
    let services = config.services.clone();
    let client = Spawned::start(config);
    let (mut peer, register) = scripted.accept_register().await;
    peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
    let mut got: Vec<(String, ServiceType, String)> = register
        .services
        .iter()
        .map(|s| (s.ip.to_string(), s.svc_type, s.path.clone()))
        .collect();
    got.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    assert_eq!(
        got,
        [
            (
                "127.0.0.3".to_string(),
                ServiceType::LockedRtsp,
                String::new()
            ),
            (
                "127.0.0.2".to_string(),
                ServiceType::Rtsp,
                "/given".to_string()
            ),
            (
                "127.0.0.2".to_string(),
                ServiceType::Rtsp,
                "/live.sdp".to_string()
            ),
        ]
    );
    // The same services again (a SIGHUP that changed nothing): the paths found stay, and
    // so do the ids the service knows.
    let table = client.handle.update_services(services).await.unwrap();
    let mut again: Vec<(u16, String, ServiceType, String)> = table
        .services()
        .iter()
        .map(|s| (s.id, s.addr.ip().to_string(), s.wire_type, s.path.clone()))
        .collect();
    let mut registered: Vec<(u16, String, ServiceType, String)> = register
        .services
        .iter()
        .map(|s| (s.svc_id, s.ip.to_string(), s.svc_type, s.path.clone()))
        .collect();
    again.sort_by_key(|s| s.0);
    registered.sort_by_key(|s| s.0);
    assert_eq!(again, registered);
}

#[tokio::test]
async fn a_camera_that_stalls_the_probe_is_announced_with_path_slash_once_the_probe_timeout_passes()
{
    use crate::malicious::Scripted;
    use crate::support::{Spawned, certs, client_config};
    use arrow_client::service_table::{ServiceKind, ServiceSpec};

    let port = free_port().await;
    let _cams = [
        camera(at(2, port), h264_camera).await,
        camera(at(4, port), stalling_camera).await,
    ];
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.services = vec![
        ServiceSpec::url(ServiceKind::Rtsp, &format!("rtsp://127.0.0.2:{port}")).unwrap(),
        ServiceSpec::url(ServiceKind::Rtsp, &format!("rtsp://127.0.0.4:{port}")).unwrap(),
    ];
    // Far below one request's own timeout (2 s): only the probe's timeout can end it.
    // Without it the walk would ask every listed path, 2 s each, and end as Unknown RTSP.
    config.probe_timeout = Duration::from_millis(300);
    let _client = Spawned::start(config);
    let (_peer, register) = scripted.accept_register().await;
    let mut got: Vec<(String, ServiceType, String)> = register
        .services
        .iter()
        .map(|s| (s.ip.to_string(), s.svc_type, s.path.clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            (
                "127.0.0.2".to_string(),
                ServiceType::Rtsp,
                "/live.sdp".to_string()
            ),
            ("127.0.0.4".to_string(), ServiceType::Rtsp, "/".to_string()),
        ]
    );
}
