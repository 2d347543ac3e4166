//! HTTP probing, sans-IO: the requests, reading a response head, and the walk over the
//! MJPEG path list that decides what an HTTP port is.
//!
//! - A port is HTTP when `GET /` gets any HTTP answer.
//! - Then `GET PATH` for each path of the MJPEG list ([`MjpegWalk`]): 200 with Content-Type
//!   `multipart/x-mixed-replace`, `image/jpeg` or `image/jpg` is MJPEG with that path; 401
//!   is Locked MJPEG; otherwise the next path, and with none left the port is plain HTTP.
//! - A Hipcam (see [`super::rtsp_probe::is_hipcam`]) answers 200 to any path: only `/11`
//!   and `/12` count there.
//!
//! Only the head is read ([`read_head`], with `httparse`): an MJPEG answer never ends, and
//! its Content-Type is all that matters. A head longer than [`MAX_HEAD`] is not an answer.

use std::net::SocketAddr;

use arrow_codec::ServiceType;

use super::rtsp_probe::{HIPCAM_PATHS, Read, is_hipcam};

/// The most bytes of a response head the prober reads.
pub const MAX_HEAD: usize = 16 * 1024;

/// Content types of a Motion JPEG endpoint.
const MJPEG_TYPES: [&str; 3] = ["multipart/x-mixed-replace", "image/jpeg", "image/jpg"];

/// `GET path` to `addr`, closing the connection after the answer.
pub fn get_request(addr: SocketAddr, path: &str) -> Vec<u8> {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: protoctl-arrow-scanner\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// What a response head said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The `Server` header, if any.
    pub server: Option<String>,
}

/// Reads a response head from the start of `buf`.
pub fn read_head(buf: &[u8]) -> Read<HttpAnswer> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(used)) => {
            let header = |name: &str| {
                response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
            };
            match response.code {
                Some(status) => Read::Done(
                    HttpAnswer {
                        status,
                        content_type: header("content-type"),
                        server: header("server"),
                    },
                    used,
                ),
                None => Read::Invalid,
            }
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Read::More,
        _ => Read::Invalid,
    }
}

/// The answer is a Motion JPEG stream (or a JPEG image).
pub fn is_mjpeg(answer: &HttpAnswer) -> bool {
    answer.content_type.as_deref().is_some_and(|ct| {
        let mime = ct.split(';').next().unwrap_or("").trim();
        MJPEG_TYPES.iter().any(|t| mime.eq_ignore_ascii_case(t))
    })
}

/// The type of an HTTP port once its walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFinding {
    /// MJPEG, Locked MJPEG or HTTP.
    pub service_type: ServiceType,
    /// The stream's path (MJPEG), else empty.
    pub path: String,
}

/// The walk over the MJPEG path list for one HTTP port, driven like
/// [`super::rtsp_probe::RtspWalk`].
#[derive(Debug, Clone)]
pub struct MjpegWalk {
    paths: Vec<String>,
    next: usize,
    done: Option<HttpFinding>,
}

impl MjpegWalk {
    /// A walk over `paths`; `server` is the `Server` header of the answer to `GET /`.
    pub fn new(paths: &[String], server: Option<&str>) -> Self {
        let paths = if is_hipcam(server) {
            HIPCAM_PATHS.iter().map(|p| p.to_string()).collect()
        } else {
            paths.to_vec()
        };
        MjpegWalk {
            paths,
            next: 0,
            done: None,
        }
    }

    /// The path to GET next; `None` once the walk has ended.
    pub fn next_path(&self) -> Option<&str> {
        if self.done.is_some() {
            return None;
        }
        self.paths.get(self.next).map(String::as_str)
    }

    /// The answer to GET of the current path (`None`: failed or timed out).
    pub fn answer(&mut self, answer: Option<&HttpAnswer>) {
        let Some(path) = self.paths.get(self.next).cloned() else {
            return;
        };
        self.next += 1;
        match answer {
            Some(a) if a.status == 200 && is_mjpeg(a) => {
                self.done = Some(HttpFinding {
                    service_type: ServiceType::Mjpeg,
                    path,
                });
            }
            Some(a) if a.status == 401 => {
                self.done = Some(HttpFinding {
                    service_type: ServiceType::LockedMjpeg,
                    path,
                });
            }
            _ => {}
        }
    }

    /// What the port is: `None` while paths are left to try.
    pub fn finding(&self) -> Option<HttpFinding> {
        if let Some(done) = &self.done {
            return Some(done.clone());
        }
        (self.next >= self.paths.len()).then(|| HttpFinding {
            service_type: ServiceType::Http,
            path: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: Option<&str>) -> HttpAnswer {
        HttpAnswer {
            status,
            content_type: content_type.map(String::from),
            server: None,
        }
    }

    #[test]
    fn heads_are_read_whole_or_asked_for_more_or_refused() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\
            Server: Hipcam RealServer/V1.0\r\n\r\n--f\r\n";
        let Read::Done(a, used) = read_head(head) else {
            panic!()
        };
        assert_eq!(a.status, 200);
        assert!(is_mjpeg(&a) && is_hipcam(a.server.as_deref()));
        assert_eq!(&head[used..], b"--f\r\n");
        assert_eq!(read_head(b"HTTP/1.1 200 OK\r\nServer: x"), Read::More);
        assert_eq!(read_head(b""), Read::More);
        assert_eq!(read_head(b"RTSP/1.0 200 OK\r\n\r\n"), Read::Invalid);
        assert_eq!(read_head(b"\x16\x03\x01\x02\x00"), Read::Invalid);
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        while endless.len() < MAX_HEAD {
            endless.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(read_head(&endless), Read::Invalid);
    }

    #[test]
    fn mjpeg_is_told_by_its_content_type() {
        let cases = [
            (
                Some("multipart/x-mixed-replace; boundary=--myboundary"),
                true,
            ),
            (Some("Multipart/X-Mixed-Replace;boundary=x"), true),
            (Some("image/jpeg"), true),
            (Some("image/jpg"), true),
            (Some("text/html; charset=utf-8"), false),
            (Some("video/mp4"), false),
            (None, false),
        ];
        for (ct, want) in cases {
            assert_eq!(is_mjpeg(&answer(200, ct)), want, "{ct:?}");
        }
    }

    #[test]
    fn the_walk_classifies_like_the_reference() {
        let list: Vec<String> = ["/a", "/b"].iter().map(|p| p.to_string()).collect();
        type Row = (
            &'static str,
            Vec<Option<HttpAnswer>>,
            ServiceType,
            &'static str,
        );
        let rows: Vec<Row> = vec![
            (
                "mjpeg at once",
                vec![Some(answer(200, Some("image/jpeg")))],
                ServiceType::Mjpeg,
                "/a",
            ),
            (
                "404 then mjpeg",
                vec![
                    Some(answer(404, None)),
                    Some(answer(200, Some("multipart/x-mixed-replace"))),
                ],
                ServiceType::Mjpeg,
                "/b",
            ),
            (
                "401 is locked",
                vec![Some(answer(401, None))],
                ServiceType::LockedMjpeg,
                "/a",
            ),
            (
                "html everywhere is plain http",
                vec![Some(answer(200, Some("text/html"))), None],
                ServiceType::Http,
                "",
            ),
        ];
        for (name, answers, want_type, want_path) in rows {
            let mut walk = MjpegWalk::new(&list, None);
            for a in &answers {
                walk.answer(a.as_ref());
                if walk.finding().is_some() {
                    break;
                }
            }
            let finding = walk.finding().unwrap_or_else(|| panic!("{name}"));
            assert_eq!(
                (finding.service_type, finding.path.as_str()),
                (want_type, want_path),
                "{name}"
            );
        }
    }

    #[test]
    fn on_a_hipcam_only_11_and_12_count() {
        let list: Vec<String> = ["/video.cgi"].iter().map(|p| p.to_string()).collect();
        let mut walk = MjpegWalk::new(&list, Some("Hipcam RealServer/V1.0"));
        assert_eq!(walk.next_path(), Some("/11"));
        walk.answer(Some(&answer(200, Some("text/html"))));
        assert_eq!(walk.next_path(), Some("/12"));
        walk.answer(Some(&answer(200, Some("image/jpeg"))));
        assert_eq!(walk.finding().unwrap().path, "/12");
    }

    #[test]
    fn get_asks_for_the_path_and_closes() {
        let addr: SocketAddr = "10.0.0.5:8080".parse().unwrap();
        let text = String::from_utf8(get_request(addr, "video.cgi")).unwrap();
        assert!(
            text.starts_with("GET /video.cgi HTTP/1.1\r\nHost: 10.0.0.5:8080\r\n"),
            "{text}"
        );
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }
}
