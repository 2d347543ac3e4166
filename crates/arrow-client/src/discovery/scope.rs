//! What a scan may touch: the IPv4 subnets of the allowed interfaces, or explicit targets,
//! never more hosts than the limit.
//!
//! A subnet larger than the limit (1,024 addresses by default, a /22) is refused with an
//! error that names it and the option that raises the limit, rather than swept for minutes:
//! an office's /16 is not a camera LAN. Loopback interfaces are never taken implicitly, and
//! the network and broadcast addresses of a subnet and the machine's own addresses are
//! left out.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::Error;

/// The default limit on the addresses of one scan: a /22.
pub const DEFAULT_MAX_HOSTS: usize = 1024;

/// One IPv4 network of an interface of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceNet {
    /// The interface's name.
    pub name: String,
    /// Its address and prefix.
    pub net: Ipv4Net,
    /// A loopback interface.
    pub loopback: bool,
}

/// This machine's IPv4 interface networks.
pub fn interfaces() -> Vec<InterfaceNet> {
    let Ok(list) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|iface| {
            let loopback = iface.is_loopback();
            match iface.addr {
                if_addrs::IfAddr::V4(v4) => {
                    let prefix = u32::from(v4.netmask).leading_ones() as u8;
                    Some(InterfaceNet {
                        loopback,
                        name: iface.name,
                        net: Ipv4Net::new(v4.ip, prefix).ok()?,
                    })
                }
                if_addrs::IfAddr::V6(_) => None,
            }
        })
        .collect()
}

/// The addresses to sweep and the interfaces they were taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Every address, once, in order.
    pub hosts: Vec<Ipv4Addr>,
    /// The interface networks swept, or holding the targets (ONVIF's multicast goes out on
    /// these only, one probe each).
    pub interfaces: Vec<InterfaceNet>,
}

/// The plan for a scan of `targets` (explicit networks or single addresses), or when there
/// are none, of the subnets of `allowed` interfaces (every non-loopback one when `allowed`
/// is empty) among `machine`'s. More than `max_hosts` addresses in one network, or in all,
/// is an error naming it.
pub fn plan(
    machine: &[InterfaceNet],
    allowed: &[String],
    targets: &[Ipv4Net],
    max_hosts: usize,
) -> Result<Plan, Error> {
    for name in allowed {
        if !machine.iter().any(|i| &i.name == name) {
            return Err(Error::Config(format!(
                "--discovery-interface {name}: no such interface with an IPv4 address"
            )));
        }
    }
    let chosen: Vec<InterfaceNet> = machine
        .iter()
        .filter(|i| {
            if allowed.is_empty() {
                !i.loopback
            } else {
                allowed.contains(&i.name)
            }
        })
        .cloned()
        .collect();
    let own: BTreeSet<Ipv4Addr> = machine.iter().map(|i| i.net.addr()).collect();
    let (nets, interfaces): (Vec<(String, Ipv4Net)>, Vec<InterfaceNet>) = if targets.is_empty() {
        (
            chosen
                .iter()
                .map(|i| {
                    (
                        format!("subnet {} of {}", i.net.trunc(), i.name),
                        i.net.trunc(),
                    )
                })
                .collect(),
            chosen,
        )
    } else {
        (
            targets
                .iter()
                .map(|t| (format!("target {t}"), *t))
                .collect(),
            // The interfaces on whose subnets the targets are (multicast goes out there
            // only, loopback included when a target is on it).
            machine
                .iter()
                .filter(|i| targets.iter().any(|t| i.net.contains(&t.network())))
                .cloned()
                .collect(),
        )
    };
    let too_many = |what: &str, count: u64| {
        Error::Config(format!(
            "{what} has {count} addresses, over the limit of {max_hosts} (a /22 by default): \
             raise --discovery-max-hosts or give narrower --target networks"
        ))
    };
    let mut hosts = BTreeSet::new();
    for (what, net) in &nets {
        let count = addresses(net);
        if count > max_hosts as u64 {
            return Err(too_many(what, count));
        }
        for host in sweepable(net) {
            if !own.contains(&host) || net.prefix_len() == 32 {
                hosts.insert(host);
            }
        }
        if hosts.len() > max_hosts {
            return Err(too_many("the targets together", hosts.len() as u64));
        }
    }
    Ok(Plan {
        hosts: hosts.into_iter().collect(),
        interfaces,
    })
}

/// Addresses in `net`, all of them.
fn addresses(net: &Ipv4Net) -> u64 {
    1u64 << (32 - u32::from(net.prefix_len()))
}

/// The hosts of `net`: without network and broadcast addresses up to /30, every address
/// of a /31 or /32.
fn sweepable(net: &Ipv4Net) -> impl Iterator<Item = Ipv4Addr> {
    net.trunc().hosts()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, net: &str, loopback: bool) -> InterfaceNet {
        InterfaceNet {
            name: name.into(),
            net: net.parse().unwrap(),
            loopback,
        }
    }

    fn machine() -> Vec<InterfaceNet> {
        vec![
            iface("lo", "127.0.0.1/8", true),
            iface("br0", "10.99.0.1/24", false),
            iface("wan", "192.0.2.10/20", false),
        ]
    }

    #[test]
    fn interfaces_give_their_subnets_without_our_own_address() {
        let br0 = plan(&machine(), &["br0".into()], &[], DEFAULT_MAX_HOSTS).unwrap();
        assert_eq!(br0.hosts.len(), 253, "254 hosts of a /24 but ours");
        assert_eq!(br0.hosts[0], Ipv4Addr::new(10, 99, 0, 2));
        assert_eq!(*br0.hosts.last().unwrap(), Ipv4Addr::new(10, 99, 0, 254));
        assert_eq!(br0.interfaces, vec![iface("br0", "10.99.0.1/24", false)]);
    }

    #[test]
    fn no_interface_named_means_every_non_loopback_one_within_the_limit() {
        // 10.99.0.0/24 and 192.0.0.0/20 (4,096): over the default /22 limit.
        let err = plan(&machine(), &[], &[], DEFAULT_MAX_HOSTS).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("subnet 192.0.0.0/20 of wan has 4096 addresses"),
            "{text}"
        );
        assert!(text.contains("--discovery-max-hosts"), "{text}");
        let wide = plan(&machine(), &[], &[], 8192).unwrap();
        assert_eq!(wide.hosts.len(), 253 + 4093);
        assert!(
            !wide.hosts.contains(&Ipv4Addr::new(127, 0, 0, 2)),
            "never loopback"
        );
    }

    #[test]
    fn explicit_targets_replace_the_interfaces() {
        let targets: Vec<Ipv4Net> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.99.0.8/30".parse().unwrap(),
        ];
        let explicit = plan(&machine(), &[], &targets, DEFAULT_MAX_HOSTS).unwrap();
        assert_eq!(
            explicit.hosts,
            [
                Ipv4Addr::new(10, 99, 0, 9),
                Ipv4Addr::new(10, 99, 0, 10),
                Ipv4Addr::new(127, 0, 0, 1),
            ]
        );
        let names: Vec<&str> = explicit
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["lo", "br0"], "multicast only where the targets are");
        let big: Vec<Ipv4Net> = vec!["10.0.0.0/21".parse().unwrap()];
        assert!(plan(&machine(), &[], &big, DEFAULT_MAX_HOSTS).is_err());
        assert!(plan(&machine(), &[], &big, 2048).is_ok());
    }

    #[test]
    fn an_unknown_interface_is_named() {
        let err = plan(&machine(), &["eth9".into()], &[], DEFAULT_MAX_HOSTS).unwrap_err();
        assert!(err.to_string().contains("eth9"), "{err}");
    }

    #[test]
    fn tiny_networks_keep_every_address() {
        let targets: Vec<Ipv4Net> = vec!["10.1.0.0/31".parse().unwrap()];
        let tiny = plan(&[], &[], &targets, DEFAULT_MAX_HOSTS).unwrap();
        assert_eq!(
            tiny.hosts,
            [Ipv4Addr::new(10, 1, 0, 0), Ipv4Addr::new(10, 1, 0, 1)]
        );
    }
}
