//! RTSP probing, sans-IO: the requests, reading a response, and the walk over the path list
//! that decides what an RTSP port is.
//!
//! - A port is RTSP when `OPTIONS rtsp://ip:port/ RTSP/1.0` gets any RTSP answer.
//! - Its type comes from `DESCRIBE rtsp://ip:port/PATH` for each path of the list, in order
//!   ([`RtspWalk`]): 200 with a supported video stream in the SDP (H264, H264-RCDO, H264-SVC,
//!   MP4V-ES, MPEG4-GENERIC) is RTSP with that path, and the walk stops; 200 without one
//!   is Unsupported RTSP with that path, and the walk goes on (a later path may have
//!   video); 401 is Locked RTSP, and the walk stops; anything else is the next path. No
//!   path at all: Unknown RTSP, empty path.
//! - Some cheap cameras (Hipcam) answer 200 to any path: for them only `/11` and `/12`
//!   count ([`is_hipcam`]).
//!
//! Responses are parsed with `rtsp-types` and SDP with `sdp-types`, falling back to a
//! lenient line scan for the SDP that cameras write slightly wrong. A response is read up to
//! [`MAX_RESPONSE`] bytes; more is not an answer worth waiting for.

use std::net::SocketAddr;

use arrow_codec::ServiceType;

/// The most bytes of one response the prober reads.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// RTP encodings a camera's video must have to be announced as RTSP.
const SUPPORTED_VIDEO: [&str; 5] = ["H264", "H264-RCDO", "H264-SVC", "MP4V-ES", "MPEG4-GENERIC"];

/// `Server` headers of cameras that answer 200 to any path.
const HIPCAM_SERVERS: [&str; 2] = ["HiIpcam/V100R003 VodServer/1.0.0", "Hipcam RealServer/V1.0"];

/// The only paths that count on a Hipcam.
pub const HIPCAM_PATHS: [&str; 2] = ["/11", "/12"];

/// The request that tells whether a port speaks RTSP.
pub fn options_request(addr: SocketAddr, cseq: u32) -> Vec<u8> {
    format!(
        "OPTIONS {} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: protoctl-arrow-scanner\r\n\r\n",
        url(addr, "/")
    )
    .into_bytes()
}

/// The request for the stream description at `path`.
pub fn describe_request(addr: SocketAddr, path: &str, cseq: u32) -> Vec<u8> {
    format!(
        "DESCRIBE {} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\n\
         User-Agent: protoctl-arrow-scanner\r\n\r\n",
        url(addr, path)
    )
    .into_bytes()
}

fn url(addr: SocketAddr, path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    format!("rtsp://{addr}{path}")
}

/// What a response said, as far as probing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspAnswer {
    /// The status code.
    pub status: u16,
    /// The `Server` header, if any.
    pub server: Option<String>,
    /// The body (the SDP of a DESCRIBE).
    pub body: Vec<u8>,
}

/// Reading a response: more bytes are needed, here it is, or this is not RTSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<T> {
    /// Not enough bytes yet.
    More,
    /// A whole answer (and how many bytes it took).
    Done(T, usize),
    /// Not an answer of this protocol (or longer than [`MAX_RESPONSE`]).
    Invalid,
}

/// Reads one RTSP response from the start of `buf`.
pub fn read_response(buf: &[u8]) -> Read<RtspAnswer> {
    if !buf.is_empty() && !b"RTSP/".starts_with(&buf[..buf.len().min(5)]) {
        return Read::Invalid;
    }
    match rtsp_types::Message::<Vec<u8>>::parse(buf) {
        Ok((rtsp_types::Message::Response(response), used)) => {
            let server = response
                .header(&rtsp_types::headers::SERVER)
                .map(|v| v.as_str().to_string());
            Read::Done(
                RtspAnswer {
                    status: u16::from(response.status()),
                    server,
                    body: response.body().to_vec(),
                },
                used,
            )
        }
        Ok(_) => Read::Invalid,
        Err(rtsp_types::ParseError::Incomplete(_)) if buf.len() < MAX_RESPONSE => Read::More,
        Err(_) => Read::Invalid,
    }
}

/// The server is one of the cameras that answer 200 to any path.
pub fn is_hipcam(server: Option<&str>) -> bool {
    server.is_some_and(|s| HIPCAM_SERVERS.iter().any(|h| s.trim() == *h))
}

/// The SDP describes a video stream in an encoding the Arrow Service can show.
pub fn has_supported_video(sdp: &[u8]) -> bool {
    match sdp_types::Session::parse(sdp) {
        Ok(session) => session.medias.iter().any(|media| {
            media.media == "video"
                && media
                    .attributes
                    .iter()
                    .filter(|a| a.attribute == "rtpmap")
                    .filter_map(|a| a.value.as_deref())
                    .any(is_supported_rtpmap)
        }),
        Err(_) => lenient_has_supported_video(sdp),
    }
}

/// `96 H264/90000` names a supported encoding.
fn is_supported_rtpmap(value: &str) -> bool {
    let encoding = value
        .split_whitespace()
        .nth(1)
        .and_then(|e| e.split('/').next())
        .unwrap_or("");
    SUPPORTED_VIDEO
        .iter()
        .any(|s| s.eq_ignore_ascii_case(encoding))
}

/// The same check over the lines of an SDP `sdp-types` refuses (a missing `t=` line, a
/// stray space): inside an `m=video` section, an `a=rtpmap:` with a supported encoding.
fn lenient_has_supported_video(sdp: &[u8]) -> bool {
    let text = String::from_utf8_lossy(sdp);
    let mut in_video = false;
    for line in text.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            in_video = media.starts_with("video");
        } else if in_video
            && let Some(map) = line.strip_prefix("a=rtpmap:")
            && is_supported_rtpmap(map)
        {
            return true;
        }
    }
    false
}

/// The type of an RTSP port once its walk ended, with the path when one was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspFinding {
    /// RTSP, Locked RTSP, Unknown RTSP or Unsupported RTSP.
    pub service_type: ServiceType,
    /// The stream's path (empty for Locked and Unknown RTSP).
    pub path: String,
}

/// The walk over the path list for one RTSP port: ask [`next_path`](Self::next_path),
/// send DESCRIBE for it, hand the answer (or `None` when the request failed or timed out)
/// to [`answer`](Self::answer), until [`finding`](Self::finding) says what the port is.
#[derive(Debug, Clone)]
pub struct RtspWalk {
    paths: Vec<String>,
    next: usize,
    unsupported: Option<String>,
    done: Option<RtspFinding>,
}

impl RtspWalk {
    /// A walk over `paths`, in order. `server` is the `Server` header of the OPTIONS
    /// answer: a Hipcam is asked only for `/11` and `/12`.
    pub fn new(paths: &[String], server: Option<&str>) -> Self {
        let paths = if is_hipcam(server) {
            HIPCAM_PATHS.iter().map(|p| p.to_string()).collect()
        } else {
            paths.to_vec()
        };
        RtspWalk {
            paths,
            next: 0,
            unsupported: None,
            done: None,
        }
    }

    /// The path to DESCRIBE next; `None` once the walk has ended.
    pub fn next_path(&self) -> Option<&str> {
        if self.done.is_some() {
            return None;
        }
        self.paths.get(self.next).map(String::as_str)
    }

    /// The answer to DESCRIBE of the current path.
    pub fn answer(&mut self, answer: Option<&RtspAnswer>) {
        let Some(path) = self.paths.get(self.next).cloned() else {
            return;
        };
        self.next += 1;
        match answer.map(|a| a.status) {
            Some(200) if has_supported_video(answer.map_or(&[][..], |a| &a.body)) => {
                self.done = Some(RtspFinding {
                    service_type: ServiceType::Rtsp,
                    path,
                });
            }
            Some(200) => {
                self.unsupported.get_or_insert(path);
            }
            Some(401) => {
                self.done = Some(RtspFinding {
                    service_type: ServiceType::LockedRtsp,
                    path: String::new(),
                });
            }
            _ => {}
        }
    }

    /// What the port is: `None` while paths are left to try.
    pub fn finding(&self) -> Option<RtspFinding> {
        if let Some(done) = &self.done {
            return Some(done.clone());
        }
        if self.next < self.paths.len() {
            return None;
        }
        Some(match &self.unsupported {
            Some(path) => RtspFinding {
                service_type: ServiceType::UnsupportedRtsp,
                path: path.clone(),
            },
            None => RtspFinding {
                service_type: ServiceType::UnknownRtsp,
                path: String::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H264_SDP: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=cam\r\nt=0 0\r\n\
        m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n";
    const AUDIO_SDP: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=cam\r\nt=0 0\r\n\
        m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    const MPEG4_SDP: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=cam\r\nt=0 0\r\n\
        m=audio 0 RTP/AVP 0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 MP4V-ES/90000\r\n";
    /// No `t=` line and an H264 in the audio section only: lenient scan, not supported.
    const SLOPPY_SDP: &str = "v=0\r\ns=cam\r\nm=audio 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
    const SLOPPY_VIDEO_SDP: &str = "v=0\nm=video 0 RTP/AVP 96\na=rtpmap:96 h264/90000\n";

    fn answer(status: u16, body: &str) -> RtspAnswer {
        RtspAnswer {
            status,
            server: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn requests_name_the_url_and_a_cseq() {
        let addr: SocketAddr = "10.0.0.5:554".parse().unwrap();
        assert_eq!(
            options_request(addr, 1),
            b"OPTIONS rtsp://10.0.0.5:554/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: protoctl-arrow-scanner\r\n\r\n"
        );
        let describe = String::from_utf8(describe_request(addr, "live.sdp", 2)).unwrap();
        assert!(
            describe.starts_with("DESCRIBE rtsp://10.0.0.5:554/live.sdp RTSP/1.0\r\nCSeq: 2\r\n")
        );
        let v6: SocketAddr = "[fe80::1]:8554".parse().unwrap();
        assert!(
            String::from_utf8(options_request(v6, 1))
                .unwrap()
                .contains("rtsp://[fe80::1]:8554/")
        );
    }

    #[test]
    fn responses_are_read_whole_or_asked_for_more_or_refused() {
        let ok = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Hipcam RealServer/V1.0\r\nContent-Length: 4\r\n\r\nv=0\nNEXT";
        let Read::Done(a, used) = read_response(ok) else {
            panic!()
        };
        assert_eq!(
            (a.status, a.body.as_slice(), used),
            (200, &b"v=0\n"[..], ok.len() - 4)
        );
        assert!(is_hipcam(a.server.as_deref()));
        let cases: [(&[u8], Read<()>); 6] = [
            (b"", Read::More),
            (b"RTS", Read::More),
            (b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n", Read::More),
            (b"HTTP/1.1 200 OK\r\n\r\n", Read::Invalid),
            (b"SSH-2.0-OpenSSH_9.6\r\n", Read::Invalid),
            (
                b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n",
                Read::More,
            ),
        ];
        for (bytes, want) in cases {
            let got = match read_response(bytes) {
                Read::More => Read::More,
                Read::Invalid => Read::Invalid,
                Read::Done(..) => Read::Done((), 0),
            };
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(bytes));
        }
        // More than the limit and still incomplete: not worth waiting for.
        let mut huge = b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n".to_vec();
        huge.resize(MAX_RESPONSE, b'x');
        assert_eq!(read_response(&huge), Read::Invalid);
    }

    #[test]
    fn supported_video_is_h264_or_mpeg4_in_a_video_section() {
        let cases = [
            (H264_SDP, true),
            (AUDIO_SDP, false),
            (MPEG4_SDP, true),
            (SLOPPY_SDP, false),
            (SLOPPY_VIDEO_SDP, true),
            ("", false),
            ("\u{0}garbage", false),
            ("m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n", false),
            (
                "m=video 0 RTP/AVP 96\r\na=rtpmap:96 MPEG4-GENERIC/90000\r\n",
                true,
            ),
        ];
        for (sdp, want) in cases {
            assert_eq!(has_supported_video(sdp.as_bytes()), want, "{sdp:?}");
        }
    }

    /// One row per branch of the reference's rules: the answers to each DESCRIBE in turn,
    /// and what the port is then.
    #[test]
    fn the_walk_classifies_like_the_reference() {
        type Row = (
            &'static str,
            Vec<Option<RtspAnswer>>,
            ServiceType,
            &'static str,
            usize,
        );
        let list = paths(&["/a", "/b", "/c"]);
        let rows: Vec<Row> = vec![
            (
                "video at the first path",
                vec![Some(answer(200, H264_SDP))],
                ServiceType::Rtsp,
                "/a",
                1,
            ),
            (
                "404s, then video",
                vec![
                    Some(answer(404, "")),
                    Some(answer(404, "")),
                    Some(answer(200, H264_SDP)),
                ],
                ServiceType::Rtsp,
                "/c",
                3,
            ),
            (
                "401 stops the walk",
                vec![Some(answer(401, ""))],
                ServiceType::LockedRtsp,
                "",
                1,
            ),
            (
                "audio only everywhere",
                vec![
                    Some(answer(200, AUDIO_SDP)),
                    Some(answer(404, "")),
                    Some(answer(200, AUDIO_SDP)),
                ],
                ServiceType::UnsupportedRtsp,
                "/a",
                3,
            ),
            (
                "audio first, video later wins",
                vec![Some(answer(200, AUDIO_SDP)), Some(answer(200, H264_SDP))],
                ServiceType::Rtsp,
                "/b",
                2,
            ),
            (
                "nothing answers",
                vec![None, Some(answer(500, "")), Some(answer(404, ""))],
                ServiceType::UnknownRtsp,
                "",
                3,
            ),
        ];
        for (name, answers, want_type, want_path, asked) in rows {
            let mut walk = RtspWalk::new(&list, None);
            let mut count = 0;
            for answer in &answers {
                assert!(walk.next_path().is_some(), "{name}: ended early");
                walk.answer(answer.as_ref());
                count += 1;
                if walk.finding().is_some() {
                    break;
                }
            }
            let finding = walk
                .finding()
                .unwrap_or_else(|| panic!("{name}: no finding"));
            assert_eq!(finding.service_type, want_type, "{name}");
            assert_eq!(finding.path, want_path, "{name}");
            assert_eq!(count, asked, "{name}: DESCRIBEs sent");
            assert_eq!(walk.next_path(), None, "{name}: ended");
        }
    }

    #[test]
    fn a_hipcam_is_asked_only_for_11_and_12() {
        let list = paths(&["/live.sdp", "/h264", "/11", "/12"]);
        let mut walk = RtspWalk::new(&list, Some("HiIpcam/V100R003 VodServer/1.0.0"));
        assert_eq!(walk.next_path(), Some("/11"));
        walk.answer(Some(&answer(200, AUDIO_SDP)));
        assert_eq!(walk.next_path(), Some("/12"));
        walk.answer(Some(&answer(200, H264_SDP)));
        let finding = walk.finding().unwrap();
        assert_eq!(
            (finding.service_type, finding.path.as_str()),
            (ServiceType::Rtsp, "/12")
        );
        // Another server: the whole list.
        let walk = RtspWalk::new(&list, Some("GStreamer RTSP server"));
        assert_eq!(walk.next_path(), Some("/live.sdp"));
    }

    #[test]
    fn an_empty_path_list_is_unknown_rtsp_at_once() {
        let walk = RtspWalk::new(&[], None);
        assert_eq!(walk.next_path(), None);
        assert_eq!(
            walk.finding().unwrap().service_type,
            ServiceType::UnknownRtsp
        );
    }
}
