//! The tokio client against the built-in All-in-One simulator, started in-process on
//! 127.0.0.1 (an ephemeral port) and shut down at the end.
//!
//! ```sh
//! cargo run -p arkeo --example simulator_client --features simulator
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use arkeo::{Client, Dialect, all_in_one};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SimulatorConfig::new(Dialect::AllInOne).timing(Timing::fast());
    let sim = Simulator::start("127.0.0.1:0".parse()?, config).await?;

    let mut client = Client::connect(&sim.local_addr().to_string(), Dialect::AllInOne).await?;
    let reply = client
        .request(&all_in_one::main::get_available_routines())
        .await?;
    println!(
        "routines: {}",
        reply.data().map(ToString::to_string).unwrap_or_default()
    );

    // No routine is open, so the instrument says no, with its documented code.
    match client
        .request(&all_in_one::routine::get_test_status())
        .await
    {
        Ok(reply) => println!("test status: {}", reply.as_object().len()),
        Err(e) => println!("refused: {e}"),
    }
    drop(client);
    sim.shutdown().await;
    Ok(())
}
