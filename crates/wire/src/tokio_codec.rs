//! The codecs as tokio-util [`Decoder`]s and [`Encoder`]s (feature `codec`), so a driver
//! wraps a socket in [`Framed`](tokio_util::codec::Framed). Each impl only forwards to the
//! codec's own sans-IO methods.

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::codec::{Decoder, Encoder};

use crate::{FrameCodec, FrameError, JsonCodec, JsonFrameError};

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.decode_frame(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.decode_frame_eof(src)
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_payload(payload, dst)
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_payload(&payload, dst)
    }
}

impl Encoder<Vec<u8>> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: Vec<u8>, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_payload(&payload, dst)
    }
}

impl<In: DeserializeOwned, Out> Decoder for JsonCodec<In, Out> {
    type Item = In;
    type Error = JsonFrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, JsonFrameError> {
        self.decode_message(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<In>, JsonFrameError> {
        self.decode_message_eof(src)
    }
}

impl<In, Out: Serialize> Encoder<Out> for JsonCodec<In, Out> {
    type Error = JsonFrameError;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), JsonFrameError> {
        self.encode_message(&item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrefixWidth;

    #[test]
    fn the_traits_and_the_methods_agree() {
        let mut codec = FrameCodec::new(PrefixWidth::U16);
        let mut by_trait = BytesMut::new();
        let mut by_method = BytesMut::new();
        Encoder::encode(&mut codec, &b"abc"[..], &mut by_trait).unwrap();
        codec.encode_payload(b"abc", &mut by_method).unwrap();
        assert_eq!(by_trait, by_method);
        assert_eq!(
            Decoder::decode(&mut codec, &mut by_trait).unwrap(),
            Some(Bytes::from_static(b"abc"))
        );
        assert!(
            Decoder::decode_eof(&mut codec, &mut by_trait)
                .unwrap()
                .is_none()
        );

        let mut json: JsonCodec<serde_json::Value> = JsonCodec::new(PrefixWidth::U32);
        let mut buf = BytesMut::new();
        Encoder::encode(&mut json, serde_json::json!({"a": 1}), &mut buf).unwrap();
        assert_eq!(
            Decoder::decode(&mut json, &mut buf).unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
    }
}
