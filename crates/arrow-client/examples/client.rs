//! An Arrow client exposing one local TCP service, with its identity, lock and status file
//! in a state directory: what a device embeds.
//!
//! ```sh
//! protoctl arrow serve --bind 127.0.0.1:8900 --self-signed dev &   # a development service
//! cargo run -p arrow-client --example client -- 127.0.0.1:8900 dev/ca.pem state 127.0.0.1:22
//! cat state/status.json                                              # where it stands
//! ```
//!
//! Ctrl-C stops it in order (open sessions finish, TLS closes, the status says `stopped`).

#![allow(clippy::print_stdout)] // an example talks to its user

use arrow_client::client::{Client, ClientConfig, DEFAULT_EVENT_QUEUE, event_queue};
use arrow_client::service_table::{ServiceKind, ServiceSpec};
use arrow_client::tls;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, ca, state_dir, service] = args.as_slice() else {
        return Err("usage: client SERVER_HOST:PORT CA_FILE STATE_DIR TCP_HOST:PORT".into());
    };
    let mut config = ClientConfig::new(server.as_str(), tls::client_config(&[ca.into()])?);
    config.state_dir = Some(state_dir.into());
    config.services = vec![ServiceSpec::host_port(ServiceKind::Tcp, service)?];

    // A bounded queue: if the printer falls behind, events are dropped and counted (an
    // `events_dropped` event says how many), the client never waits for it.
    let (events, mut rx) = event_queue(DEFAULT_EVENT_QUEUE);
    let client = Client::spawn(config, events)?;
    println!("client {} (mac {})", client.uuid(), client.mac());
    let handle = client.handle();
    tokio::spawn(async move {
        tokio::signal::ctrl_c().await.ok();
        handle.shutdown();
    });
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            println!("{event}");
        }
    });
    client.join().await?;
    printer.await?;
    Ok(())
}
