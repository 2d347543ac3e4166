//! A typed JSON layer over [`FrameCodec`].

use std::fmt;
use std::marker::PhantomData;

use bytes::BytesMut;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{FrameCodec, JsonFrameError, PrefixWidth};

/// Frames carrying one JSON value each: decodes `In`, encodes `Out`.
///
/// A client typically decodes replies and encodes requests, so the two types differ; use
/// [`serde_json::Value`] for either when the shape is open.
///
/// A payload that is not the JSON expected is reported as [`JsonFrameError::Decode`]; the
/// frame has been consumed by then, so the caller may skip it and go on decoding.
pub struct JsonCodec<In, Out = In> {
    frames: FrameCodec,
    _types: PhantomData<fn(Out) -> In>,
}

impl<In, Out> JsonCodec<In, Out> {
    /// A JSON codec over frames with this prefix width and its default maximum.
    pub fn new(width: PrefixWidth) -> Self {
        Self::from_frames(FrameCodec::new(width))
    }

    /// A JSON codec over a configured frame codec.
    pub fn from_frames(frames: FrameCodec) -> Self {
        JsonCodec {
            frames,
            _types: PhantomData,
        }
    }

    /// The frame codec underneath.
    pub fn frames(&self) -> &FrameCodec {
        &self.frames
    }
}

impl<In, Out> Clone for JsonCodec<In, Out> {
    fn clone(&self) -> Self {
        Self::from_frames(self.frames.clone())
    }
}

impl<In, Out> fmt::Debug for JsonCodec<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonCodec")
            .field("frames", &self.frames)
            .finish()
    }
}

impl<In: DeserializeOwned, Out> JsonCodec<In, Out> {
    /// Takes one frame off the front of `src` and parses it as `In`; `Ok(None)` when more
    /// bytes are needed (as [`FrameCodec::decode_frame`]).
    pub fn decode_message(&mut self, src: &mut BytesMut) -> Result<Option<In>, JsonFrameError> {
        Self::parse(self.frames.decode_frame(src)?)
    }

    /// [`decode_message`](Self::decode_message) once the stream has ended (as
    /// [`FrameCodec::decode_frame_eof`]).
    pub fn decode_message_eof(&mut self, src: &mut BytesMut) -> Result<Option<In>, JsonFrameError> {
        Self::parse(self.frames.decode_frame_eof(src)?)
    }

    fn parse(frame: Option<bytes::Bytes>) -> Result<Option<In>, JsonFrameError> {
        let Some(frame) = frame else { return Ok(None) };
        serde_json::from_slice(&frame)
            .map(Some)
            .map_err(|source| JsonFrameError::Decode {
                len: frame.len(),
                source,
            })
    }
}

impl<In, Out: Serialize> JsonCodec<In, Out> {
    /// Serializes `item` and appends it to `dst` as one frame; nothing is written when it
    /// fails.
    pub fn encode_message(&self, item: &Out, dst: &mut BytesMut) -> Result<(), JsonFrameError> {
        let payload = serde_json::to_vec(item).map_err(JsonFrameError::Encode)?;
        Ok(self.frames.encode_payload(&payload, dst)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Reply {
        status: String,
    }

    #[test]
    fn json_round_trip_through_frames() {
        let mut codec: JsonCodec<Reply> = JsonCodec::new(PrefixWidth::U32);
        let mut buf = BytesMut::new();
        codec
            .encode_message(
                &Reply {
                    status: "OK".into(),
                },
                &mut buf,
            )
            .unwrap();
        assert_eq!(&buf[..4], &[0, 0, 0, 15]);
        assert_eq!(
            codec.decode_message(&mut buf).unwrap(),
            Some(Reply {
                status: "OK".into()
            })
        );
    }

    #[test]
    fn non_json_frame_is_consumed_and_reported() {
        let frames = FrameCodec::new(PrefixWidth::U16);
        let mut buf = BytesMut::new();
        frames.encode_payload(b"not json", &mut buf).unwrap();
        frames
            .encode_payload(br#"{"status":"ok"}"#, &mut buf)
            .unwrap();
        let mut codec: JsonCodec<Reply> = JsonCodec::from_frames(frames);
        let err = codec.decode_message(&mut buf).unwrap_err();
        assert!(
            matches!(err, JsonFrameError::Decode { len: 8, .. }),
            "{err}"
        );
        assert_eq!(
            codec.decode_message(&mut buf).unwrap().unwrap().status,
            "ok"
        );
    }
}
