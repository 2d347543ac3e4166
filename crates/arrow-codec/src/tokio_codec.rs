//! [`ArrowCodec`] as tokio-util's [`Decoder`] and [`Encoder`] (feature `codec`), so a driver
//! wraps a stream in `Framed`. Each impl is one call to the codec's own method.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::ArrowCodec;
use crate::control::ControlMessage;
use crate::error::Error;
use crate::message::{DataMessage, Message};

impl Decoder for ArrowCodec {
    type Item = Message;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        self.decode_message(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        self.decode_message_eof(src)
    }
}

impl Encoder<&Message> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: &Message, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_message(msg, dst)
    }
}

impl Encoder<Message> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: Message, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_message(&msg, dst)
    }
}

impl Encoder<&ControlMessage> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: &ControlMessage, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_control(msg, dst)
    }
}

impl Encoder<ControlMessage> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: ControlMessage, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_control(&msg, dst)
    }
}

impl Encoder<&DataMessage> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: &DataMessage, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(msg.svc_id, msg.session_id, &msg.body, dst)
    }
}

impl Encoder<DataMessage> for ArrowCodec {
    type Error = Error;

    fn encode(&mut self, msg: DataMessage, dst: &mut BytesMut) -> Result<(), Error> {
        self.encode_data(msg.svc_id, msg.session_id, &msg.body, dst)
    }
}
