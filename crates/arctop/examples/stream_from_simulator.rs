//! The tokio client against the built-in simulator, started in-process on 127.0.0.1 (an
//! ephemeral port, not advertised): twenty values as fast as possible, then
//! `sessionComplete` ends the stream.
//!
//! ```sh
//! cargo run -p arctop --example stream_from_simulator --features simulator
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use arctop::simulator::{Simulator, SimulatorConfig};
use arctop::{ApiKey, ClientConfig, Event, Message, Target};
use futures::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), arctop::Error> {
    let mut sim = SimulatorConfig::new(ApiKey::new("demo-key"));
    sim.rate = 0.0; // as fast as the socket takes them
    sim.count = Some(20);
    let server = Simulator::bind("127.0.0.1:0", sim).await?.spawn()?;

    let config = ClientConfig::new(
        Target::Addr(server.addr().to_string()),
        ApiKey::new("demo-key"),
    );
    let mut events = arctop::connect(config);
    while let Some(event) = events.next().await {
        match event? {
            Event::Message(received) => match &received.message {
                Message::ValueChange { key, value, .. } => {
                    println!("{} = {value}", key.as_str());
                }
                other => println!("{}", other.command()),
            },
            other => println!("{other:?}"),
        }
    }
    Ok(())
}
