//! A scripted Arrow Service that acknowledges every DATA message the moment it arrives (a
//! plausible service, and the one that brings out silly-window syndrome in a sender), and
//! sends downstream as fast as the client's DATA_ACKs allow.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

use arrow_client::dev_service::DevCertificates;
use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, DataMessage, ErrorCode, Message};

/// What one Arrow session may have in flight.
const WINDOW: u32 = 65_536;
/// Largest DATA message sent down (what the development service reads at once).
const MAX_DATA: u32 = 64 * 1024;
/// The service's own silly-window rule: a message smaller than this only to finish.
const MIN_DATA: u32 = 16 * 1024;
static ZEROS: [u8; MAX_DATA as usize] = [0; MAX_DATA as usize];

type Conn = Framed<tokio_rustls::server::TlsStream<TcpStream>, ArrowCodec>;

/// One registered client.
pub(crate) struct AckEach {
    conn: Conn,
    msg_id: u16,
    session: u32,
}

/// DATA messages and bytes seen by the service in one transfer.
pub(crate) struct Upstream {
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
}

impl AckEach {
    /// Accepts the client's connection and its REGISTER.
    pub(crate) async fn accept(listener: &TcpListener, certs: &DevCertificates) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config().unwrap());
        let (tcp, _) = listener.accept().await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let mut conn = Framed::new(tls, ArrowCodec::new());
        match conn.next().await {
            Some(Ok(Message::Control(c))) if matches!(c.body, ControlBody::Register(_)) => {}
            other => panic!("expected REGISTER, got {other:?}"),
        }
        conn.send(Message::Control(ControlMessage::ack(0, ErrorCode::NoError)))
            .await
            .unwrap();
        AckEach {
            conn,
            msg_id: 1,
            session: 0,
        }
    }

    fn next_id(&mut self) -> u16 {
        self.msg_id = self.msg_id.wrapping_add(1);
        self.msg_id
    }

    async fn open(&mut self, svc_id: u16) -> u32 {
        self.session += 1;
        let id = self.next_id();
        let connect = ControlMessage::connect(id, svc_id, self.session);
        self.conn.send(Message::Control(connect)).await.unwrap();
        self.session
    }

    async fn close(&mut self, session: u32) {
        let id = self.next_id();
        let hup = ControlMessage::hup(id, session, ErrorCode::NoError);
        self.conn.send(Message::Control(hup)).await.unwrap();
    }

    /// Answers what is not DATA: PINGs get their ACK, the rest is dropped.
    async fn control(&mut self, message: ControlMessage) -> Option<(u32, u32)> {
        match message.body {
            ControlBody::Ping => {
                let ack = ControlMessage::ack(message.msg_id, ErrorCode::NoError);
                self.conn.send(Message::Control(ack)).await.unwrap();
                None
            }
            ControlBody::DataAck(ack) => Some((ack.session_id, ack.length)),
            _ => None,
        }
    }

    /// Acknowledges `data` at once (its own TLS write).
    async fn ack(&mut self, data: &DataMessage) {
        let id = self.next_id();
        let len = data.body.len() as u32;
        let ack = ControlMessage::data_ack(id, data.session_id, len);
        self.conn.send(Message::Control(ack)).await.unwrap();
    }

    /// Opens a session to `svc_id` (the bench's source: each request byte k asks for k
    /// 64 KiB blocks), asks for `bytes` and acknowledges every DATA message as it arrives.
    pub(crate) async fn upstream(&mut self, svc_id: u16, bytes: u64) -> Upstream {
        let session = self.open(svc_id).await;
        let requests = (bytes / (64 * 64 * 1024)) as usize;
        let request = DataMessage::new(svc_id, session, Bytes::from(vec![64u8; requests]));
        self.conn.send(Message::Data(request)).await.unwrap();
        let mut seen = Upstream {
            messages: 0,
            bytes: 0,
        };
        while seen.bytes < bytes {
            match self.conn.next().await {
                Some(Ok(Message::Data(data))) => {
                    if data.session_id == session {
                        seen.messages += 1;
                        seen.bytes += data.body.len() as u64;
                    }
                    self.ack(&data).await;
                }
                Some(Ok(Message::Control(c))) => {
                    self.control(c).await;
                }
                other => panic!("the client went away: {other:?}"),
            }
        }
        self.close(session).await;
        seen
    }

    /// Opens a session to `svc_id` and sends it `bytes` as fast as the client's DATA_ACKs
    /// allow (at most 64 KiB a message); returns once all of it was acknowledged, i.e.
    /// written to the local service. DATA from the local service is acknowledged at once.
    pub(crate) async fn downstream(&mut self, svc_id: u16, bytes: u64) {
        let session = self.open(svc_id).await;
        let (mut sent, mut acked, mut credit) = (0u64, 0u64, WINDOW);
        while acked < bytes {
            let mut wrote = false;
            while sent < bytes && (credit >= MIN_DATA || (credit == WINDOW && credit > 0)) {
                let n = credit.min(MAX_DATA).min((bytes - sent) as u32);
                let body = Bytes::from_static(&ZEROS[..n as usize]);
                self.conn
                    .feed(Message::Data(DataMessage::new(svc_id, session, body)))
                    .await
                    .unwrap();
                credit -= n;
                sent += u64::from(n);
                wrote = true;
            }
            if wrote {
                SinkExt::<Message>::flush(&mut self.conn).await.unwrap();
            }
            match self.conn.next().await {
                Some(Ok(Message::Data(data))) => self.ack(&data).await,
                Some(Ok(Message::Control(c))) => {
                    if let Some((s, len)) = self.control(c).await
                        && s == session
                    {
                        credit += len;
                        acked += u64::from(len);
                    }
                }
                other => panic!("the client went away: {other:?}"),
            }
        }
        self.close(session).await;
    }
}
