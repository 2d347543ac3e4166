//! The candidate ports a scan tries on every host, in the reference client's order: when a
//! host answers on several, the earlier port in its list wins.

/// Ports where a camera's RTSP server may listen.
pub const RTSP_PORTS: [u16; 10] = [554, 88, 81, 555, 7447, 8554, 7070, 10554, 80, 6667];

/// Ports where a camera's web server (and MJPEG stream) may listen.
pub const HTTP_PORTS: [u16; 5] = [80, 81, 8080, 8081, 8090];

/// Every candidate port once: RTSP's order, then HTTP's new ones.
pub fn all() -> Vec<u16> {
    let mut ports = RTSP_PORTS.to_vec();
    for port in HTTP_PORTS {
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    ports
}

/// `open` (any order) sorted by the candidate order of `list`; ports not in `list` dropped.
pub fn in_order(list: &[u16], open: &[u16]) -> Vec<u16> {
    list.iter().copied().filter(|p| open.contains(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_candidate_once_in_the_reference_order() {
        assert_eq!(
            all(),
            [
                554, 88, 81, 555, 7447, 8554, 7070, 10554, 80, 6667, 8080, 8081, 8090
            ]
        );
        assert_eq!(in_order(&RTSP_PORTS, &[8554, 80, 554, 22]), [554, 8554, 80]);
        assert_eq!(in_order(&HTTP_PORTS, &[8080, 80]), [80, 8080]);
    }
}
