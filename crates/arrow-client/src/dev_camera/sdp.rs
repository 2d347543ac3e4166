//! The session descriptions DESCRIBE answers (sans-IO), built with `sdp-types`.
//!
//! One stream per camera, controlled as `trackID=0` relative to the Content-Base:
//! - H.264 video, payload type 96, packetization-mode 1, with `profile-level-id` and
//!   `sprop-parameter-sets` taken from the clip's SPS and PPS: what a scanner looks for to
//!   call a camera RTSP.
//! - PCMA audio only (payload type 8): a stream a scanner must call Unsupported RTSP.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sdp_types::{Attribute, Connection, MediaType, Origin, Session, TransportProto};

use super::clip::{CLOCK_RATE, Clip, FRAME_RATE};
use super::rtp::{H264_PAYLOAD_TYPE, PCMA_PAYLOAD_TYPE};

/// The control URL of the one stream, relative to the Content-Base.
pub(crate) const TRACK_CONTROL: &str = "trackID=0";

/// The one stream a camera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Track {
    /// The built-in H.264 clip.
    H264Video,
    /// A-law silence.
    PcmaAudio,
}

/// The SDP of `track`; `origin` is the camera's address as the client reached it.
pub(crate) fn describe(track: Track, origin: IpAddr, session_id: u64) -> Vec<u8> {
    let mut session = Session::new(
        Origin::with_ip_addr(session_id, 1, origin),
        "protoctl fake camera",
    );
    session.connection = Some(Connection::from_ip_addr(match origin {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }));
    session.attributes = vec![
        Attribute::with_value("control", "*"),
        Attribute::with_value("range", "npt=0-"),
    ];
    let media = match track {
        Track::H264Video => {
            let clip = Clip::builtin();
            let mut media = sdp_types::Media::new(
                MediaType::Video,
                0,
                TransportProto::RtpAvp,
                H264_PAYLOAD_TYPE,
            );
            media.add_attribute_with_value(
                "rtpmap",
                format!("{H264_PAYLOAD_TYPE} H264/{CLOCK_RATE}"),
            );
            media.add_attribute_with_value("fmtp", h264_fmtp(clip.sps(), clip.pps()));
            media.add_attribute_with_value("framerate", FRAME_RATE);
            media.add_attribute_with_value("control", TRACK_CONTROL);
            media
        }
        Track::PcmaAudio => {
            let mut media = sdp_types::Media::new(
                MediaType::Audio,
                0,
                TransportProto::RtpAvp,
                PCMA_PAYLOAD_TYPE,
            );
            media.add_attribute_with_value("rtpmap", format!("{PCMA_PAYLOAD_TYPE} PCMA/8000"));
            media.add_attribute_with_value("control", TRACK_CONTROL);
            media
        }
    };
    session.medias = vec![media];
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = session.write(&mut out);
    out
}

/// The `a=fmtp` value of the H.264 stream (RFC 6184 section 8.1): profile and level from
/// the SPS's bytes 1 to 3, and both parameter sets in base64.
fn h264_fmtp(sps: &[u8], pps: &[u8]) -> String {
    let profile_level_id: String = sps
        .get(1..4)
        .unwrap_or(&[0x42, 0xc0, 0x1e])
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!(
        "{H264_PAYLOAD_TYPE} packetization-mode=1;profile-level-id={profile_level_id};\
         sprop-parameter-sets={},{}",
        BASE64.encode(sps),
        BASE64.encode(pps)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(track: Track) -> Session {
        let bytes = describe(track, "192.0.2.7".parse().unwrap(), 42);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("v=0\r\n"), "{text}");
        assert!(text.contains("o=- 42 1 IN IP4 192.0.2.7\r\n"), "{text}");
        Session::parse(&bytes).unwrap()
    }

    #[test]
    fn h264_sdp_has_one_video_stream_with_the_clips_parameter_sets() {
        let session = parsed(Track::H264Video);
        assert_eq!(session.medias.len(), 1);
        let video = &session.medias[0];
        assert_eq!(
            (
                video.media.as_str(),
                video.proto.as_str(),
                video.fmt.as_str()
            ),
            ("video", "RTP/AVP", "96")
        );
        assert_eq!(
            video.get_first_attribute_value("rtpmap"),
            Some(Some("96 H264/90000"))
        );
        assert_eq!(
            video.get_first_attribute_value("control"),
            Some(Some("trackID=0"))
        );
        let fmtp = video.get_first_attribute_value("fmtp").flatten().unwrap();
        let params = fmtp.strip_prefix("96 ").unwrap();
        let sprop = params
            .split(';')
            .find_map(|p| p.strip_prefix("sprop-parameter-sets="))
            .unwrap();
        let sets: Vec<Vec<u8>> = sprop
            .split(',')
            .map(|s| BASE64.decode(s).unwrap())
            .collect();
        let clip = Clip::builtin();
        assert_eq!(sets, [clip.sps().to_vec(), clip.pps().to_vec()]);
        assert!(params.contains("packetization-mode=1"), "{params}");
        assert!(params.contains("profile-level-id=42C01E"), "{params}");
    }

    #[test]
    fn audio_only_sdp_has_a_pcma_stream_and_no_video() {
        let session = parsed(Track::PcmaAudio);
        let kinds: Vec<(&str, &str)> = session
            .medias
            .iter()
            .map(|m| (m.media.as_str(), m.fmt.as_str()))
            .collect();
        assert_eq!(kinds, [("audio", "8")]);
        assert_eq!(
            session.medias[0].get_first_attribute_value("rtpmap"),
            Some(Some("8 PCMA/8000"))
        );
    }
}
