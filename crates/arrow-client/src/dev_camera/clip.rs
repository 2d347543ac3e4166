//! The H.264 clip the RTSP camera streams: `fixtures/arrow/camera/clip.h264`, built into
//! the binary, split into NAL units and access units (sans-IO).
//!
//! The clip is Annex B (start codes between NAL units), 320x240 constrained baseline,
//! 10 frames per second, 2 seconds, a key frame every second, each frame one slice and no
//! SEI (the README next to it has the ffmpeg command). It starts with SPS, PPS and an IDR
//! picture, so looping it from the start is a clean restart for a decoder.

use std::sync::OnceLock;

/// The clip's bytes, as committed.
const CLIP: &[u8] = include_bytes!("../../../../fixtures/arrow/camera/clip.h264");

/// Frames per second of the clip (`testsrc=...:rate=10` in the README's command).
pub(crate) const FRAME_RATE: u32 = 10;

/// The RTP clock of H.264 (RFC 6184): 90 kHz.
pub(crate) const CLOCK_RATE: u32 = 90_000;

/// NAL unit types this module looks at (H.264 table 7-1).
pub(crate) mod nal_type {
    /// A coded slice of a non-IDR picture.
    pub(crate) const SLICE: u8 = 1;
    /// A coded slice of an IDR picture.
    pub(crate) const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub(crate) const SEI: u8 = 6;
    /// Sequence parameter set.
    pub(crate) const SPS: u8 = 7;
    /// Picture parameter set.
    pub(crate) const PPS: u8 = 8;
    /// Access unit delimiter.
    pub(crate) const AUD: u8 = 9;
}

/// The type of a NAL unit (the low 5 bits of its first byte); 0 for an empty one.
pub(crate) fn nal_unit_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// The clip as NAL units grouped into access units (one picture each).
#[derive(Debug)]
pub(crate) struct Clip {
    /// Each access unit's NAL units, in decoding order, without start codes.
    access_units: Vec<Vec<&'static [u8]>>,
    sps: &'static [u8],
    pps: &'static [u8],
}

impl Clip {
    /// The built-in clip, parsed once.
    pub(crate) fn builtin() -> &'static Clip {
        static PARSED: OnceLock<Clip> = OnceLock::new();
        PARSED.get_or_init(|| Clip::parse(CLIP))
    }

    /// Splits Annex B bytes into access units. A stream without SPS or PPS gives empty
    /// parameter sets (the built-in clip has both: a unit test says so).
    pub(crate) fn parse(annex_b: &'static [u8]) -> Clip {
        let mut access_units: Vec<Vec<&'static [u8]>> = Vec::new();
        let mut current: Vec<&'static [u8]> = Vec::new();
        let mut sps: &'static [u8] = &[];
        let mut pps: &'static [u8] = &[];
        for nal in split_annex_b(annex_b) {
            let kind = nal_unit_type(nal);
            let has_picture = current
                .iter()
                .any(|n| matches!(nal_unit_type(n), nal_type::SLICE | nal_type::IDR));
            let starts_unit = match kind {
                nal_type::SPS | nal_type::PPS | nal_type::AUD | nal_type::SEI => has_picture,
                nal_type::SLICE | nal_type::IDR => has_picture && first_slice_of_picture(nal),
                _ => false,
            };
            if starts_unit {
                access_units.push(std::mem::take(&mut current));
            }
            match kind {
                nal_type::SPS if sps.is_empty() => sps = nal,
                nal_type::PPS if pps.is_empty() => pps = nal,
                _ => {}
            }
            current.push(nal);
        }
        if !current.is_empty() {
            access_units.push(current);
        }
        Clip {
            access_units,
            sps,
            pps,
        }
    }

    /// The access units, in order; each is one frame.
    pub(crate) fn access_units(&self) -> &[Vec<&'static [u8]>] {
        &self.access_units
    }

    /// The first sequence parameter set.
    pub(crate) fn sps(&self) -> &'static [u8] {
        self.sps
    }

    /// The first picture parameter set.
    pub(crate) fn pps(&self) -> &'static [u8] {
        self.pps
    }
}

/// The NAL units of an Annex B stream: the bytes between start codes (`00 00 01`, or
/// `00 00 00 01`), without trailing zero bytes.
pub(crate) fn split_annex_b(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    // Skip to the first start code.
    rest = match find_start_code(rest) {
        Some((_, after)) => &rest[after..],
        None => &[],
    };
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (nal, next) = match find_start_code(rest) {
            Some((at, after)) => (&rest[..at], &rest[after..]),
            None => (rest, &[][..]),
        };
        rest = next;
        let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        Some(&nal[..end])
    })
    .filter(|nal| !nal.is_empty())
}

/// Where the first `00 00 01` is: its offset and the offset just after it.
fn find_start_code(data: &[u8]) -> Option<(usize, usize)> {
    data.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|at| (at, at + 3))
}

/// A slice whose `first_mb_in_slice` is 0 begins a new picture: that field is the first
/// exp-Golomb number after the one-byte header, and 0 is coded as a single 1 bit.
fn first_slice_of_picture(nal: &[u8]) -> bool {
    nal.get(1).is_some_and(|b| b & 0x80 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_clip_is_two_seconds_of_frames_opening_with_sps_pps_idr() {
        let clip = Clip::builtin();
        let units = clip.access_units();
        assert_eq!(units.len() as u32, 2 * FRAME_RATE, "two seconds of frames");
        let first: Vec<u8> = units[0].iter().map(|n| nal_unit_type(n)).collect();
        assert_eq!(first, [nal_type::SPS, nal_type::PPS, nal_type::IDR]);
        for (i, unit) in units.iter().enumerate() {
            let pictures = unit
                .iter()
                .filter(|n| matches!(nal_unit_type(n), nal_type::SLICE | nal_type::IDR))
                .count();
            assert_eq!(pictures, 1, "access unit {i} holds one slice");
        }
        assert_eq!(nal_unit_type(clip.sps()), nal_type::SPS);
        assert_eq!(nal_unit_type(clip.pps()), nal_type::PPS);
        // Constrained baseline (profile_idc 66, constraint_set1), level 3.0.
        assert_eq!(clip.sps()[1], 66);
        assert_eq!(clip.sps()[3], 30);
    }

    #[test]
    fn annex_b_splits_on_three_and_four_byte_start_codes() {
        let cases: [(&[u8], Vec<&[u8]>); 5] = [
            (
                &[0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2],
                vec![&[0x67, 1], &[0x68, 2]],
            ),
            (
                &[0, 0, 1, 0x65, 0, 0, 0, 0, 1, 0x41],
                vec![&[0x65], &[0x41]],
            ),
            (&[9, 9, 0, 0, 1, 0x41, 7], vec![&[0x41, 7]]),
            (&[0, 0, 1, 0, 0, 1], vec![]),
            (&[1, 2, 3], vec![]),
        ];
        for (input, want) in cases {
            let got: Vec<&[u8]> = split_annex_b(input).collect();
            assert_eq!(got, want, "{input:?}");
        }
    }
}
