//! Many Arrow clients in one process registering with one Arrow Service, each announcing
//! a few TCP services: the load `cargo xtask bench hostile` puts on `protoctl arrow serve`
//! (which opens a listening port per service) to measure its memory and descriptors.
//!
//! ```sh
//! protoctl --json arrow serve --bind 127.0.0.1:8900 --self-signed /tmp/storm &
//! cargo run -p arrow-client --example register_storm -- \
//!     --server 127.0.0.1:8900 --ca /tmp/storm/ca.pem --dir /tmp/storm/clients \
//!     --clients 200 --services 8 --seconds 10
//! ```
//!
//! Each client has its own state directory (identity, lock, status) under `--dir` and a
//! MAC of its own; they retry with the usual backoff when the service turns them away.
//! After `--seconds` every client is shut down in order, and one line says how many had
//! registered at least once: `{"clients":200,"registered":64}`.

#![allow(clippy::print_stdout)] // its output is the report

use std::path::PathBuf;
use std::time::Duration;

use arrow_client::client::{Client, ClientConfig, ClientEvent, event_queue};
use arrow_client::identity::MacAddr;
use arrow_client::service_table::{ServiceKind, ServiceSpec};
use arrow_client::tls;

const USAGE: &str = "usage: register_storm --server HOST:PORT --ca FILE --dir DIR --clients N --services N --seconds N";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .ok_or_else(|| format!("{flag} missing; {USAGE}"))
    };
    let server = value("--server")?.clone();
    let tls = tls::client_config(&[PathBuf::from(value("--ca")?)])?;
    let dir = PathBuf::from(value("--dir")?);
    let clients: u16 = value("--clients")?.parse()?;
    let services: u16 = value("--services")?.parse()?;
    let seconds: u64 = value("--seconds")?.parse()?;

    let (events, mut rx) = event_queue(4096);
    let mut running = Vec::new();
    for n in 0..clients {
        let mut config = ClientConfig::new(server.as_str(), tls.clone());
        config.state_dir = Some(dir.join(format!("client-{n}")));
        let [hi, lo] = n.to_be_bytes();
        config.mac = Some(MacAddr([0x02, 0x00, 0x5e, 0x10, hi, lo]));
        config.services = (0..services)
            .map(|s| ServiceSpec::host_port(ServiceKind::Tcp, &format!("127.0.0.1:{}", 10_000 + s)))
            .collect::<Result<_, _>>()?;
        running.push(Client::spawn(config, events.clone())?);
    }
    drop(events);
    // Count the clients that registered (each client's events carry no client id, so
    // registrations are counted, capped at the number of clients).
    let counter = tokio::spawn(async move {
        let mut registered = 0u32;
        while let Some(event) = rx.recv().await {
            if matches!(event, ClientEvent::Registered) {
                registered += 1;
            }
        }
        registered
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await; // the length of the load itself
    let handles: Vec<_> = running.iter().map(Client::handle).collect();
    for handle in &handles {
        handle.shutdown();
    }
    for client in running {
        let _ = tokio::time::timeout(Duration::from_secs(30), client.join()).await;
    }
    let registered = counter.await?.min(u32::from(clients));
    println!(
        "{}",
        serde_json::json!({ "clients": clients, "registered": registered })
    );
    Ok(())
}
