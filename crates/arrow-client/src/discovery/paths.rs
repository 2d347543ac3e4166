//! The stream paths a scan asks each RTSP and HTTP port for: built in, or read from a file
//! the user gives (one path per line, `#` starts a comment).

use std::path::Path;

use crate::Error;

/// RTSP paths, in the order they are tried: common ones first, then vendors'.
pub const RTSP_PATHS: &[&str] = &[
    "/live.sdp",
    "/Streaming/Channels/101",
    "/Streaming/Channels/102",
    "/cam/realmonitor?channel=1&subtype=0",
    "/axis-media/media.amp",
    "/h264",
    "/11",
    "/12",
    "/videoMain",
    "/stream1",
    "/live",
    "/live/ch00_0",
    "/h264Preview_01_main",
    "/onvif1",
    "/media/video1",
    "/ch0_0.h264",
    "/",
];

/// MJPEG paths, in the order they are tried.
pub const MJPEG_PATHS: &[&str] = &[
    "/mjpg/video.mjpg",
    "/video.cgi",
    "/axis-cgi/mjpg/video.cgi",
    "/?action=stream",
    "/videostream.cgi",
    "/video.mjpg",
    "/mjpeg.cgi",
    "/cgi-bin/mjpg/video.cgi",
    "/stream.mjpg",
];

/// The most paths a file may list, and the longest a path may be.
const MAX_PATHS: usize = 1000;
const MAX_PATH_LEN: usize = 1024;

/// A built-in list as owned strings.
pub fn built_in(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| p.to_string()).collect()
}

/// The paths in `text` (a file's contents): one per line, blank lines and `#` comments
/// skipped, a leading `/` added where missing. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut paths = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line
            .split_once('#')
            .map_or(line, |(before, _)| before)
            .trim();
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_PATH_LEN || line.chars().any(char::is_control) {
            return Err(format!(
                "line {}: not a path (control characters, or over {MAX_PATH_LEN} bytes)",
                number + 1
            ));
        }
        if paths.len() == MAX_PATHS {
            return Err(format!("more than {MAX_PATHS} paths"));
        }
        paths.push(if line.starts_with('/') {
            line.to_string()
        } else {
            format!("/{line}")
        });
    }
    Ok(paths)
}

/// The paths in the file at `path`; a file that cannot be read or holds something else is
/// a configuration error naming it.
pub fn load(path: &Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("path list {}: cannot read it: {e}", path.display())))?;
    parse(&text).map_err(|why| Error::Config(format!("path list {}: {why}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_file_is_one_path_a_line_with_comments() {
        let text = "# my cameras\n/live.sdp\n\n  stream2   # the second one\n#/off\n";
        assert_eq!(parse(text).unwrap(), ["/live.sdp", "/stream2"]);
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert!(parse("/a\n/b\u{7}c\n").unwrap_err().starts_with("line 2:"));
        let many = "/p\n".repeat(MAX_PATHS + 1);
        assert!(parse(&many).unwrap_err().contains("more than"));
    }

    #[test]
    fn the_built_in_lists_hold_the_reference_paths_and_the_fake_cameras() {
        for want in [
            "/Streaming/Channels/101",
            "/11",
            "/12",
            "/live.sdp",
            "/axis-media/media.amp",
        ] {
            assert!(RTSP_PATHS.contains(&want), "{want}");
        }
        for want in [
            "/mjpg/video.mjpg",
            "/video.cgi",
            "/?action=stream",
            "/videostream.cgi",
        ] {
            assert!(MJPEG_PATHS.contains(&want), "{want}");
        }
        for list in [RTSP_PATHS, MJPEG_PATHS] {
            assert_eq!(parse(&list.join("\n")).unwrap(), built_in(list));
        }
    }

    #[test]
    fn an_unreadable_file_is_a_config_error_naming_it() {
        let err = load(Path::new("/nonexistent/paths.txt")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/paths.txt"), "{err}");
    }
}
