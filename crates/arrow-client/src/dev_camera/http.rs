//! One HTTP/1.1 request to an MJPEG or web camera (sans-IO): request bytes in, the
//! response head and what follows it out. Requests are parsed with `httparse`, bounded by
//! [`MAX_REQUEST`] bytes and [`MAX_HEADERS`] headers; every answer says
//! `Connection: close`, and the connection ends after it (after the stream, for MJPEG).
//!
//! | request | mjpeg | mjpeg-locked | http |
//! | --- | --- | --- | --- |
//! | GET the stream path | 200 `multipart/x-mixed-replace`, JPEG parts until the client goes | 401, `WWW-Authenticate: Basic` | (the page) |
//! | GET `/` | 200 `text/html` | 200 `text/html` | 200 `text/html` |
//! | GET another path | 404 | 404 | 404 |
//! | HEAD | as GET, without a body | same | same |
//! | another method | 405, `Allow: GET, HEAD` | same | same |
//! | not HTTP/1.x, too large | 400 / 431 | same | same |

use super::{CameraKind, REALM, SERVER, mjpeg};

/// The largest request head the camera reads.
pub(crate) const MAX_REQUEST: usize = 8 * 1024;

/// The most headers a request may have.
pub(crate) const MAX_HEADERS: usize = 32;

/// What [`answer`] found at the front of the input.
#[derive(Debug)]
pub(crate) enum HttpStep {
    /// No whole request head yet (the input is below [`MAX_REQUEST`]).
    NeedMore,
    /// A request and its answer.
    Answered(HttpExchange),
    /// Not an HTTP/1.x request the camera reads: send `response`, then close.
    Rejected {
        /// The status sent.
        status: u16,
        /// The bytes to send.
        response: Vec<u8>,
    },
}

/// A request and its answer.
#[derive(Debug)]
pub(crate) struct HttpExchange {
    /// The method as sent.
    pub(crate) method: String,
    /// The request target's path and query.
    pub(crate) path: String,
    /// The status answered.
    pub(crate) status: u16,
    /// The status line, headers and (unless streaming) the body.
    pub(crate) response: Vec<u8>,
    /// True when MJPEG parts follow the response (a GET of the stream).
    pub(crate) stream: bool,
}

/// The answer to the request at the front of `input`, for a camera of `kind` whose
/// stream (or, for `http`, page) is at `stream_path`.
pub(crate) fn answer(kind: CameraKind, stream_path: &str, input: &[u8]) -> HttpStep {
    let bounded = &input[..input.len().min(MAX_REQUEST)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bounded) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) if bounded.len() < MAX_REQUEST => {
            return HttpStep::NeedMore;
        }
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return reject(431, "Request Header Fields Too Large");
        }
        Err(_) => return reject(400, "Bad Request"),
    }
    let method = request.method.unwrap_or_default().to_string();
    let path = origin_form(request.path.unwrap_or_default()).to_string();
    let head_only = method == "HEAD";
    let (status, reason, extra, body, stream) = if method != "GET" && !head_only {
        (
            405,
            "Method Not Allowed",
            "Allow: GET, HEAD\r\n".to_string(),
            page(kind, stream_path, "405 Method Not Allowed"),
            false,
        )
    } else {
        route(kind, stream_path, &path)
    };
    let mut response = format!("HTTP/1.1 {status} {reason}\r\nServer: {SERVER}\r\n{extra}");
    if stream {
        response.push_str(&format!(
            "Content-Type: {}\r\nCache-Control: no-cache, no-store\r\nPragma: no-cache\r\n",
            mjpeg::content_type()
        ));
    } else {
        response.push_str(&format!(
            "Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    response.push_str("Connection: close\r\n\r\n");
    let mut response = response.into_bytes();
    if !head_only {
        response.extend_from_slice(body.as_bytes());
    }
    HttpStep::Answered(HttpExchange {
        method,
        path,
        status,
        response,
        stream: stream && !head_only,
    })
}

/// Status, reason, extra headers, body and whether MJPEG follows, for a GET of `path`.
fn route(
    kind: CameraKind,
    stream_path: &str,
    path: &str,
) -> (u16, &'static str, String, String, bool) {
    let ok = |body| (200, "OK", String::new(), body, false);
    let is_stream = path == stream_path;
    match kind {
        CameraKind::Mjpeg if is_stream => (200, "OK", String::new(), String::new(), true),
        CameraKind::MjpegLocked if is_stream => (
            401,
            "Unauthorized",
            format!("WWW-Authenticate: Basic realm=\"{REALM}\"\r\n"),
            page(kind, stream_path, "401 Unauthorized"),
            false,
        ),
        CameraKind::Http if is_stream => ok(page(kind, stream_path, "")),
        _ if path == "/" => ok(page(kind, stream_path, "")),
        _ => (
            404,
            "Not Found",
            String::new(),
            page(kind, stream_path, "404 Not Found"),
            false,
        ),
    }
}

/// A small HTML page: the camera's home page, or an error page when `error` is not empty.
fn page(kind: CameraKind, stream_path: &str, error: &str) -> String {
    let title = if error.is_empty() {
        format!("protoctl fake camera ({})", kind.name())
    } else {
        error.to_string()
    };
    let content = if !error.is_empty() {
        String::new()
    } else if kind == CameraKind::Mjpeg {
        format!("<img src=\"{}\" alt=\"live\">", html_escape(stream_path))
    } else if kind == CameraKind::MjpegLocked {
        format!(
            "<p>The stream at {} needs a login.</p>",
            html_escape(stream_path)
        )
    } else {
        "<p>A plain web server: no stream here.</p>".to_string()
    };
    format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\
         <body><h1>{title}</h1>{content}</body></html>\n"
    )
}

/// `path?query` of a request target: origin-form as is, absolute-form without scheme and
/// authority.
fn origin_form(target: &str) -> &str {
    let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    else {
        return target;
    };
    match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => &rest[at..],
        _ => "/",
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn reject(status: u16, reason: &str) -> HttpStep {
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: {SERVER}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    HttpStep::Rejected {
        status,
        response: response.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(kind: CameraKind, request: &str) -> (u16, String, bool) {
        match answer(kind, kind.default_path(), request.as_bytes()) {
            HttpStep::Answered(exchange) => (
                exchange.status,
                String::from_utf8(exchange.response).unwrap(),
                exchange.stream,
            ),
            HttpStep::Rejected { status, response } => {
                (status, String::from_utf8(response).unwrap(), false)
            }
            HttpStep::NeedMore => panic!("{request}: wants more"),
        }
    }

    /// Kind, request line, status, MJPEG follows, what the answer contains.
    type Case = (CameraKind, &'static str, u16, bool, &'static [&'static str]);

    #[test]
    fn each_http_kind_answers_the_scanners_requests_as_a_real_camera_would() {
        use CameraKind::*;
        const MULTIPART: &str = "Content-Type: multipart/x-mixed-replace; boundary=protoctlframe";
        const HTML: &str = "Content-Type: text/html";
        let cases: [Case; 13] = [
            (Mjpeg, "GET /mjpg/video.mjpg", 200, true, &[MULTIPART]),
            (
                Mjpeg,
                "GET /",
                200,
                false,
                &[HTML, "<img src=\"/mjpg/video.mjpg\""],
            ),
            (Mjpeg, "GET /video.cgi", 404, false, &[HTML]),
            (
                Mjpeg,
                "GET http://127.0.0.1:8080/mjpg/video.mjpg",
                200,
                true,
                &[MULTIPART],
            ),
            (Mjpeg, "HEAD /mjpg/video.mjpg", 200, false, &[MULTIPART]),
            (
                Mjpeg,
                "POST /mjpg/video.mjpg",
                405,
                false,
                &["Allow: GET, HEAD"],
            ),
            (
                MjpegLocked,
                "GET /mjpg/video.mjpg",
                401,
                false,
                &["WWW-Authenticate: Basic realm="],
            ),
            (MjpegLocked, "GET /", 200, false, &[HTML]),
            (MjpegLocked, "GET /axis-cgi/mjpg/video.cgi", 404, false, &[]),
            (Http, "GET /", 200, false, &[HTML, "plain web server"]),
            (Http, "GET /mjpg/video.mjpg", 404, false, &[]),
            (Http, "GET /?action=stream", 404, false, &[]),
            (Http, "OPTIONS /", 405, false, &[]),
        ];
        for (kind, line, status, stream, wanted) in cases {
            let request = format!("{line} HTTP/1.1\r\nHost: cam\r\n\r\n");
            let (got, text, streams) = get(kind, &request);
            assert_eq!(got, status, "{kind:?} {line}: {text}");
            assert_eq!(streams, stream, "{kind:?} {line}");
            assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
            assert!(text.contains("Connection: close\r\n"), "{text}");
            assert!(text.contains("Server: protoctl-fake-camera"), "{text}");
            for want in wanted {
                assert!(
                    text.contains(want),
                    "{kind:?} {line}: no {want:?} in {text}"
                );
            }
            if line.starts_with("HEAD") || stream {
                assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
            }
        }
    }

    #[test]
    fn a_page_body_matches_its_content_length() {
        let (_, text, _) = get(CameraKind::Http, "GET / HTTP/1.0\r\n\r\n");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
    }

    #[test]
    fn a_configured_path_with_a_query_is_the_stream() {
        let step = answer(
            CameraKind::Mjpeg,
            "/?action=stream",
            b"GET /?action=stream HTTP/1.1\r\n\r\n",
        );
        assert!(matches!(
            step,
            HttpStep::Answered(HttpExchange {
                status: 200,
                stream: true,
                ..
            })
        ));
    }

    #[test]
    fn partial_oversized_and_foreign_input_is_bounded() {
        let many_headers: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        let cases: [(&str, Vec<u8>, &str); 6] = [
            ("half a request", b"GET / HT".to_vec(), "more"),
            (
                "no blank line yet",
                b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec(),
                "more",
            ),
            (
                "RTSP",
                b"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".to_vec(),
                "400",
            ),
            (
                "endless header",
                [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_REQUEST]].concat(),
                "431",
            ),
            (
                "too many headers",
                format!("GET / HTTP/1.1\r\n{many_headers}\r\n").into_bytes(),
                "431",
            ),
            ("binary", vec![0u8, 0xff, 0x13, 0x10], "400"),
        ];
        for (name, input, want) in cases {
            let got = match answer(CameraKind::Mjpeg, "/mjpg/video.mjpg", &input) {
                HttpStep::NeedMore => "more".to_string(),
                HttpStep::Rejected { status, response } => {
                    assert!(response.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
                    status.to_string()
                }
                HttpStep::Answered(exchange) => exchange.status.to_string(),
            };
            assert_eq!(got, want, "{name}");
        }
    }
}
