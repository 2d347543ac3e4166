//! A small LAN for the scanner's netns tests, built inside the namespace `cargo xtask ci`
//! made for the test binary: a "LAN" namespace with a bridge, and hosts, each in a
//! namespace of its own behind a veth pair on the bridge. Whatever scans or serves runs in
//! the LAN namespace ([`Lan::protoctl`]), so the test binary's own namespace keeps
//! loopback only for the other netns tests beside it.

use std::process::{Command, Stdio};

use crate::support::Reaped;

/// The LAN namespace, its bridge at `<prefix>.1/24` and the hosts on it.
pub(crate) struct Lan {
    pub(crate) pid: u32,
    bridge: &'static str,
    prefix: &'static str,
    hosts: Vec<Reaped>,
    _holder: Reaped,
}

/// A host on the LAN: its namespace (the holder's pid), address and the MAC of its link.
pub(crate) struct Host {
    pub(crate) pid: u32,
    pub(crate) ip: String,
    pub(crate) mac: String,
}

impl Lan {
    /// The LAN namespace with the bridge `bridge` at `<prefix>.1/24` (`prefix` as "10.95.0").
    pub(crate) fn new(bridge: &'static str, prefix: &'static str) -> Lan {
        let holder = namespace_holder();
        let pid = holder.0.id();
        sh(&format!(
            "nsenter -t {pid} -n sh -c 'ip link set lo up \
             && ip link add {bridge} type bridge && ip addr add {prefix}.1/24 dev {bridge} \
             && ip link set {bridge} up'"
        ));
        Lan {
            pid,
            bridge,
            prefix,
            hosts: Vec::new(),
            _holder: holder,
        }
    }

    /// One more host, at `<prefix>.<10 + n>` on its link `cam0`.
    pub(crate) fn add_host(&mut self) -> Host {
        let (lan, bridge, n) = (self.pid, self.bridge, self.hosts.len());
        let holder = namespace_holder();
        let pid = holder.0.id();
        self.hosts.push(holder);
        let ip = format!("{}.{}", self.prefix, 10 + n);
        sh(&format!(
            "nsenter -t {lan} -n sh -c 'ip link add {bridge}v{n} type veth peer name cam0 \
             netns {pid} && ip link set {bridge}v{n} master {bridge} \
             && ip link set {bridge}v{n} up'"
        ));
        sh(&format!(
            "nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add {ip}/24 dev cam0 \
             && ip link set cam0 up'"
        ));
        let mac = mac_of(pid, "cam0");
        Host { pid, ip, mac }
    }

    /// `protoctl` in the LAN namespace (nsenter execs it: signals reach protoctl itself).
    pub(crate) fn protoctl(&self) -> Command {
        in_namespace(self.pid)
    }
}

/// `protoctl` in the network namespace of `pid`.
pub(crate) fn in_namespace(pid: u32) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.env_remove("RUST_LOG")
        .args(["-t", &pid.to_string(), "-n", "--"])
        .arg(env!("CARGO_BIN_EXE_protoctl"));
    cmd
}

/// `cmd` must succeed; its stdout.
pub(crate) fn sh(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The MAC of `link` in the network namespace of `pid` (`ip` asks that namespace's
/// kernel; /sys shows the one sysfs was mounted in).
pub(crate) fn mac_of(pid: u32, link: &str) -> String {
    let line = sh(&format!("nsenter -t {pid} -n ip -o link show {link}"));
    line.split("link/ether ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no MAC in {line}"))
        .to_string()
}

/// A process (`sleep`) holding a new network namespace, returned once the namespace is
/// there (unshare has exec'd sleep); reaped on drop, which ends the namespace.
pub(crate) fn namespace_holder() -> Reaped {
    let holder = Reaped(
        Command::new("unshare")
            .args(["-n", "--", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = holder.0.id();
    let own = std::fs::read_link("/proc/self/ns/net").ok();
    for _ in 0..100 {
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if ns.is_some() && ns != own {
            return holder;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the namespace held by {pid} did not come up");
}
