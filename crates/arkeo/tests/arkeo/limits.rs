//! The simulator's bounds over TCP: an over-limit request costs only its own connection,
//! hostile index lists and settings are refused.

use arkeo::multichannel::{self, SettingsEncoding};
use arkeo::simulator::MAX_REQUEST;
use arkeo::{Dialect, Request};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{client, simulator, within};

#[tokio::test]
async fn an_over_limit_request_is_answered_with_an_error_and_its_connection_closed() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut other = client(&sim, Dialect::Multichannel).await;
        let mut socket = tokio::net::TcpStream::connect(sim.local_addr())
            .await
            .unwrap();
        // Only the prefix: the simulator must not wait for (or allocate) 2 MiB.
        let announced = (2 * MAX_REQUEST) as u32;
        socket.write_all(&announced.to_be_bytes()).await.unwrap();
        let mut head = [0u8; 4];
        socket.read_exact(&mut head).await.unwrap();
        let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
        socket.read_exact(&mut payload).await.unwrap();
        let reply: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(reply["status"], "error");
        assert_eq!(reply["error"]["code"], 101);
        assert!(
            reply["error"]["message"]
                .as_str()
                .unwrap()
                .contains("over the limit")
        );
        let mut rest = Vec::new();
        assert_eq!(socket.read_to_end(&mut rest).await.unwrap(), 0, "closed");
        // Everyone else is still served.
        other
            .request(&multichannel::get_environments())
            .await
            .unwrap();
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn repeated_or_hostile_indices_never_multiply_the_reply() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let lists: [Vec<u32>; 3] = [vec![0, 0, 0, 0], vec![0; 100_000], vec![1, 2, 1]];
        for indices in lists {
            let err = c
                .request(&multichannel::get_channel_state(&indices))
                .await
                .unwrap_err();
            assert_eq!(err.rejection().unwrap().code.map(|c| c.0), Some(101));
        }
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stored_settings_are_bounded() {
    within(async {
        let sim = simulator(Dialect::Multichannel).await;
        let mut c = client(&sim, Dialect::Multichannel).await;
        let blob = "x".repeat(100 * 1024);
        let cases = [
            json!({"Note": blob.clone()}),
            json!({"Extra key kept": blob}),
        ];
        for settings in cases {
            let err = c
                .request(&multichannel::set_channel_settings(
                    &[0],
                    &settings,
                    SettingsEncoding::Object,
                ))
                .await
                .unwrap_err();
            assert_eq!(err.rejection().unwrap().code.map(|c| c.0), Some(101));
        }
        // The channel kept its settings.
        let reply = c
            .request(&multichannel::get_channel_settings(&[0]))
            .await
            .unwrap();
        assert_eq!(reply.get("channels").unwrap()[0]["settings"]["Note"], "");
        let big_all_in_one = Request::command("GetChannelState").indices([0]);
        c.request(&big_all_in_one).await.unwrap();
        sim.shutdown().await;
    })
    .await;
}
