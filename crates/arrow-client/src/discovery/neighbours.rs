//! The kernel's neighbour table (`/proc/net/arp`): the MAC of every host on a local subnet
//! that answered ARP. The sweep's packets make the kernel ask (an ARP request for each
//! address it sends to on a local subnet), so reading the table afterwards gives the MACs
//! without privileges.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::identity::MacAddr;

/// Where Linux shows the table.
pub const PROC_NET_ARP: &str = "/proc/net/arp";

/// `ATF_COM`: the entry is complete (the host answered).
const COMPLETE: u32 = 0x2;

/// The complete entries of `/proc/net/arp` text: address to MAC. Incomplete entries (no
/// answer), all-zero MACs and lines that do not parse are left out.
pub fn parse(text: &str) -> HashMap<Ipv4Addr, MacAddr> {
    let mut table = HashMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [ip, _hw_type, flags, mac, ..] = fields.as_slice() else {
            continue;
        };
        let complete = u32::from_str_radix(flags.trim_start_matches("0x"), 16)
            .is_ok_and(|f| f & COMPLETE != 0);
        let (Ok(ip), Ok(mac)) = (ip.parse::<Ipv4Addr>(), mac.parse::<MacAddr>()) else {
            continue;
        };
        if complete && mac.0 != [0; 6] {
            table.insert(ip, mac);
        }
    }
    table
}

/// The table now; empty where there is none (not Linux, no `/proc`).
pub fn read() -> HashMap<Ipv4Addr, MacAddr> {
    std::fs::read_to_string(PROC_NET_ARP)
        .map(|text| parse(&text))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_entries_only() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
            10.99.0.10       0x1         0x2         02:00:0a:63:00:0a     *        br0\n\
            10.99.0.11       0x1         0x0         00:00:00:00:00:00     *        br0\n\
            10.99.0.12       0x1         0x6         02:00:0a:63:00:0c     *        br0\n\
            garbage\n\
            10.99.0.13       0x1         0x2         not-a-mac             *        br0\n";
        let table = parse(text);
        assert_eq!(table.len(), 2);
        assert_eq!(
            table[&"10.99.0.10".parse().unwrap()],
            MacAddr([2, 0, 0x0a, 0x63, 0, 0x0a])
        );
        assert!(table.contains_key(&"10.99.0.12".parse().unwrap()));
        assert!(parse("").is_empty());
    }
}
