//! RTP packets for the RTSP camera (sans-IO): H.264 per RFC 6184 (single NAL unit
//! packets and FU-A fragments, packetization-mode 1), PCMA silence per RFC 3551, and the
//! `$` framing that carries them over the RTSP connection (RFC 2326 section 10.12).

/// The dynamic payload type the SDP maps to H264/90000.
pub(crate) const H264_PAYLOAD_TYPE: u8 = 96;

/// The static payload type of PCMA (G.711 A-law, 8 kHz).
pub(crate) const PCMA_PAYLOAD_TYPE: u8 = 8;

/// The largest RTP payload the packetizer makes: a NAL unit larger than this is sent as
/// FU-A fragments. Small enough for one TCP segment on an Ethernet path.
pub(crate) const MAX_PAYLOAD: usize = 1400;

/// The fixed RTP header (no CSRC, no extension).
const HEADER_LEN: usize = 12;

/// The FU-A payload type (RFC 6184 section 5.8).
const FU_A: u8 = 28;

/// Samples of PCMA in one packet: 20 ms at 8 kHz.
pub(crate) const PCMA_SAMPLES_PER_PACKET: u32 = 160;

/// A-law silence (the code for 0 with its even bits inverted).
const PCMA_SILENCE: u8 = 0xd5;

/// One RTP stream: its SSRC, payload type and next sequence number.
#[derive(Debug, Clone)]
pub(crate) struct RtpStream {
    ssrc: u32,
    payload_type: u8,
    next_sequence: u16,
}

impl RtpStream {
    /// A stream whose first packet has sequence number `first_sequence`.
    pub(crate) fn new(ssrc: u32, payload_type: u8, first_sequence: u16) -> Self {
        RtpStream {
            ssrc,
            payload_type,
            next_sequence: first_sequence,
        }
    }

    /// The sequence number the next packet gets.
    pub(crate) fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// The stream's SSRC.
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Starts a packet: writes the 12-byte header into `out` and counts the sequence.
    fn header(&mut self, marker: bool, timestamp: u32, out: &mut Vec<u8>) {
        out.push(0x80); // version 2, no padding, no extension, no CSRC
        out.push(self.payload_type | if marker { 0x80 } else { 0 });
        out.extend_from_slice(&self.next_sequence.to_be_bytes());
        out.extend_from_slice(&timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        self.next_sequence = self.next_sequence.wrapping_add(1);
    }

    /// The RTP packets of one H.264 access unit (one picture), all with `timestamp`: a
    /// NAL unit of at most `max_payload` bytes is a single NAL unit packet, a larger one
    /// FU-A fragments; the marker bit is set on the access unit's last packet only.
    /// Empty NAL units are skipped.
    pub(crate) fn h264_access_unit(
        &mut self,
        nal_units: &[&[u8]],
        timestamp: u32,
        max_payload: usize,
    ) -> Vec<Vec<u8>> {
        // At least one byte of NAL data beside the two FU bytes in each fragment.
        let max_payload = max_payload.max(3);
        let nal_units: Vec<&[u8]> = nal_units
            .iter()
            .copied()
            .filter(|n| !n.is_empty())
            .collect();
        let mut packets = Vec::new();
        for (index, nal) in nal_units.iter().enumerate() {
            let last_nal = index + 1 == nal_units.len();
            if nal.len() <= max_payload {
                let mut packet = Vec::with_capacity(HEADER_LEN + nal.len());
                self.header(last_nal, timestamp, &mut packet);
                packet.extend_from_slice(nal);
                packets.push(packet);
                continue;
            }
            // FU-A: the NAL header's F and NRI bits go to the FU indicator, its type to the
            // FU header; the header byte itself is not sent.
            let indicator = (nal[0] & 0xe0) | FU_A;
            let kind = nal[0] & 0x1f;
            let body = &nal[1..];
            let fragments = body.chunks(max_payload - 2);
            let count = fragments.len();
            for (i, fragment) in fragments.enumerate() {
                let start = i == 0;
                let end = i + 1 == count;
                let fu_header = kind | if start { 0x80 } else { 0 } | if end { 0x40 } else { 0 };
                let mut packet = Vec::with_capacity(HEADER_LEN + 2 + fragment.len());
                self.header(last_nal && end, timestamp, &mut packet);
                packet.push(indicator);
                packet.push(fu_header);
                packet.extend_from_slice(fragment);
                packets.push(packet);
            }
        }
        packets
    }

    /// One packet of 20 ms of A-law silence at `timestamp` (8 kHz clock).
    pub(crate) fn pcma_silence(&mut self, timestamp: u32) -> Vec<u8> {
        let mut packet = Vec::with_capacity(HEADER_LEN + PCMA_SAMPLES_PER_PACKET as usize);
        self.header(false, timestamp, &mut packet);
        packet.resize(HEADER_LEN + PCMA_SAMPLES_PER_PACKET as usize, PCMA_SILENCE);
        packet
    }
}

/// Appends `packet` to `out` framed for RTSP interleaving: `$`, the channel, the length
/// (16 bits, big endian), the packet. Packets are at most [`MAX_PAYLOAD`] plus headers,
/// far below the 64 KiB the length can say.
pub(crate) fn interleave(channel: u8, packet: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
    out.push(b'$');
    out.push(channel);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&packet[..usize::from(len)]);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What a receiver needs from an RTP packet.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct Parsed<'a> {
        pub(crate) marker: bool,
        pub(crate) payload_type: u8,
        pub(crate) sequence: u16,
        pub(crate) timestamp: u32,
        pub(crate) ssrc: u32,
        pub(crate) payload: &'a [u8],
    }

    pub(crate) fn parse(packet: &[u8]) -> Parsed<'_> {
        assert!(packet.len() >= HEADER_LEN, "short packet");
        assert_eq!(packet[0], 0x80, "version 2, no padding/extension/CSRC");
        Parsed {
            marker: packet[1] & 0x80 != 0,
            payload_type: packet[1] & 0x7f,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            payload: &packet[HEADER_LEN..],
        }
    }

    /// A receiver's depacketizer: single NAL unit packets and FU-A fragments back to NAL
    /// units.
    pub(crate) fn depacketize(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut nals = Vec::new();
        let mut partial: Option<Vec<u8>> = None;
        for payload in payloads {
            match payload[0] & 0x1f {
                FU_A => {
                    let (indicator, header) = (payload[0], payload[1]);
                    if header & 0x80 != 0 {
                        partial = Some(vec![(indicator & 0xe0) | (header & 0x1f)]);
                    }
                    let nal = partial.as_mut().expect("FU-A start before its middle");
                    nal.extend_from_slice(&payload[2..]);
                    if header & 0x40 != 0 {
                        nals.push(partial.take().unwrap());
                    }
                }
                1..=23 => nals.push(payload.to_vec()),
                other => panic!("unexpected payload type {other}"),
            }
        }
        assert!(partial.is_none(), "an FU-A without its end");
        nals
    }

    #[test]
    fn fu_a_fragments_reassemble_to_the_nal_and_only_the_last_packet_has_the_marker() {
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000).map(|i| i as u8))
            .collect();
        let sps: &[u8] = &[0x67, 0x42, 0xc0, 0x1e];
        let pps: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
        let cases: [(&str, Vec<&[u8]>, usize); 4] = [
            (
                "parameter sets and a fragmented IDR",
                vec![sps, pps, &idr],
                1400,
            ),
            ("one small slice", vec![&[0x41, 1, 2, 3]], 1400),
            ("a NAL exactly the payload size", vec![&idr[..1400]], 1400),
            ("tiny payloads", vec![&idr[..10]], 3),
        ];
        for (name, nals, max) in cases {
            let mut stream = RtpStream::new(0x1234_5678, H264_PAYLOAD_TYPE, 65_534);
            let packets = stream.h264_access_unit(&nals, 90_000, max);
            let parsed: Vec<Parsed<'_>> = packets.iter().map(|p| parse(p)).collect();
            for (i, p) in parsed.iter().enumerate() {
                assert_eq!(
                    p.marker,
                    i + 1 == parsed.len(),
                    "{name}: marker of packet {i}"
                );
                assert_eq!(p.timestamp, 90_000, "{name}");
                assert_eq!(p.ssrc, 0x1234_5678, "{name}");
                assert_eq!(p.payload_type, H264_PAYLOAD_TYPE, "{name}");
                assert_eq!(
                    p.sequence,
                    65_534u16.wrapping_add(i as u16),
                    "{name}: wraps"
                );
                assert!(p.payload.len() <= max, "{name}: payload of packet {i}");
            }
            let payloads: Vec<&[u8]> = parsed.iter().map(|p| p.payload).collect();
            let want: Vec<Vec<u8>> = nals.iter().map(|n| n.to_vec()).collect();
            assert_eq!(depacketize(&payloads), want, "{name}");
        }
    }

    #[test]
    fn a_large_nal_becomes_start_middle_end_fragments_keeping_its_nri() {
        let nal: Vec<u8> = std::iter::once(0x65)
            .chain(std::iter::repeat_n(7, 2500))
            .collect();
        let mut stream = RtpStream::new(1, H264_PAYLOAD_TYPE, 0);
        let packets = stream.h264_access_unit(&[&nal], 0, 1000);
        let headers: Vec<(u8, u8)> = packets
            .iter()
            .map(|p| (parse(p).payload[0], parse(p).payload[1]))
            .collect();
        // NRI 3 (0x60) | FU-A 28 = 0x7c; S|type 5 = 0x85, type 5, E|type 5 = 0x45.
        assert_eq!(headers, [(0x7c, 0x85), (0x7c, 0x05), (0x7c, 0x45)]);
    }

    #[test]
    fn pcma_silence_is_20_ms_of_a_law_zero() {
        let mut stream = RtpStream::new(9, PCMA_PAYLOAD_TYPE, 10);
        let packet = stream.pcma_silence(160);
        let p = parse(&packet);
        assert_eq!((p.payload_type, p.sequence, p.timestamp), (8, 10, 160));
        assert_eq!(p.payload, &[0xd5; 160][..]);
        assert_eq!(stream.next_sequence(), 11);
    }

    #[test]
    fn interleaved_frames_carry_channel_and_length() {
        let mut out = Vec::new();
        interleave(0, &[1, 2, 3], &mut out);
        interleave(1, &[], &mut out);
        assert_eq!(out, [b'$', 0, 0, 3, 1, 2, 3, b'$', 1, 0, 0]);
    }
}
