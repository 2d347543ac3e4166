//! Motion JPEG made on the fly (sans-IO): each frame a picture with a moving bar and its
//! frame number, encoded with `jpeg-encoder`, sent as one part of a
//! `multipart/x-mixed-replace` body.

use std::time::Duration;

/// The multipart boundary (without the leading `--`).
pub(crate) const BOUNDARY: &str = "protoctlframe";

/// Frames per second of the MJPEG stream.
pub(crate) const FRAME_RATE: u32 = 5;

/// Picture width in pixels.
pub(crate) const WIDTH: u16 = 320;

/// Picture height in pixels.
pub(crate) const HEIGHT: u16 = 240;

/// JPEG quality (1-100).
const QUALITY: u8 = 70;

/// The time between two frames.
pub(crate) fn frame_interval() -> Duration {
    Duration::from_millis(1000 / u64::from(FRAME_RATE))
}

/// The `Content-Type` of the stream.
pub(crate) fn content_type() -> String {
    format!("multipart/x-mixed-replace; boundary={BOUNDARY}")
}

/// Frame `index` as a JPEG file (SOI ... EOI); empty if the encoder fails, which it does
/// not for these fixed dimensions.
pub(crate) fn jpeg_frame(index: u64) -> Vec<u8> {
    let pixels = render(index);
    let mut jpeg = Vec::with_capacity(16 * 1024);
    let encoder = jpeg_encoder::Encoder::new(&mut jpeg, QUALITY);
    match encoder.encode(&pixels, WIDTH, HEIGHT, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => jpeg,
        Err(e) => {
            tracing::warn!(error = %e, "fake camera: JPEG encoding failed");
            Vec::new()
        }
    }
}

/// One part of the multipart body: the boundary, the part's headers, the JPEG, CRLF.
pub(crate) fn part(jpeg: &[u8]) -> Vec<u8> {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    );
    let mut out = Vec::with_capacity(head.len() + jpeg.len() + 2);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(jpeg);
    out.extend_from_slice(b"\r\n");
    out
}

/// The RGB pixels of frame `index`: a vertical gradient, a bar that crosses the picture in
/// about three seconds, and the frame number in large digits.
fn render(index: u64) -> Vec<u8> {
    let (width, height) = (usize::from(WIDTH), usize::from(HEIGHT));
    let mut pixels = vec![0u8; width * height * 3];
    let bar_width = 24;
    let bar_x = (index as usize * 20) % (width + bar_width);
    for y in 0..height {
        for x in 0..width {
            let at = (y * width + x) * 3;
            let shade = (40 + y * 100 / height) as u8;
            let on_bar = x + bar_width >= bar_x && x < bar_x;
            let rgb = if on_bar {
                [240, 170, 30]
            } else {
                [10, 30, shade]
            };
            pixels[at..at + 3].copy_from_slice(&rgb);
        }
    }
    draw_number(&mut pixels, width, index, 12, 12, 6);
    pixels
}

/// 3x5 bitmaps of the digits 0-9, one row per 3 low bits.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Draws `number` in white at (`left`, `top`), each font pixel `scale` pixels wide;
/// digits that would fall outside the picture are left out.
fn draw_number(
    pixels: &mut [u8],
    width: usize,
    number: u64,
    left: usize,
    top: usize,
    scale: usize,
) {
    let height = pixels.len() / 3 / width;
    for (i, digit) in number.to_string().bytes().enumerate() {
        let glyph = DIGITS[usize::from(digit - b'0')];
        let x0 = left + i * 4 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (x, y) = (x0 + col * scale + dx, top + row * scale + dy);
                        if x < width && y < height {
                            let at = (y * width + x) * 3;
                            pixels[at..at + 3].copy_from_slice(&[255, 255, 255]);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_whole_jpegs_that_change_from_frame_to_frame() {
        let frames: Vec<Vec<u8>> = [0, 1, 123_456_789].into_iter().map(jpeg_frame).collect();
        for (i, jpeg) in frames.iter().enumerate() {
            assert_eq!(&jpeg[..2], [0xff, 0xd8], "frame {i} starts with SOI");
            assert_eq!(
                &jpeg[jpeg.len() - 2..],
                [0xff, 0xd9],
                "frame {i} ends with EOI"
            );
            assert!(jpeg.len() < 64 * 1024, "frame {i} is small: {}", jpeg.len());
        }
        assert_ne!(frames[0], frames[1]);
    }

    #[test]
    fn a_part_is_boundary_headers_jpeg_crlf() {
        let part = part(&[0xff, 0xd8, 0xff, 0xd9]);
        assert_eq!(
            part,
            b"--protoctlframe\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n"
        );
        assert_eq!(
            content_type(),
            "multipart/x-mixed-replace; boundary=protoctlframe"
        );
    }
}
