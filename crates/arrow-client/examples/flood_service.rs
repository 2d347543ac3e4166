//! A hostile Arrow Service on 127.0.0.1 that floods the client connecting to it with one
//! kind of message, then checks that the tunnel still echoes (see
//! `arrow_client::dev_service::flood`). `cargo xtask bench hostile` runs `protoctl arrow run`
//! against it and measures the client's memory and descriptors.
//!
//! ```sh
//! cargo run -p arrow-client --features dev-service --example flood_service -- \
//!     --kind refused_connect --seconds 10 --dir /tmp/flood &
//! # it prints {"addr":"127.0.0.1:PORT","ca":"/tmp/flood/ca.pem"}; then, with an echo
//! # server on 127.0.0.1:7 as the client's first service:
//! protoctl arrow run --server 127.0.0.1:PORT --ca /tmp/flood/ca.pem --state-dir /tmp/flood/state \
//!     --tcp 127.0.0.1:7
//! ```
//!
//! When the first client's flood and check are over it prints
//! `{"sent":N,"echoed":true,"hups":N,"acks":N}` and exits. Kinds: unknown_control,
//! refused_connect, unknown_session_data, connect_hup_churn.

#![allow(clippy::print_stdout)] // its output is the report

use std::path::PathBuf;
use std::time::Duration;

use arrow_client::dev_service::DevCertificates;
use arrow_client::dev_service::flood::{FloodKind, FloodPlan, FloodService};

const USAGE: &str = "usage: flood_service --kind KIND --seconds N --dir DIR";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .ok_or_else(|| format!("{flag} missing; {USAGE}"))
    };
    let kind_name = value("--kind")?;
    let kind = FloodKind::ALL
        .into_iter()
        .find(|k| k.name() == kind_name.as_str())
        .ok_or_else(|| format!("unknown kind; {USAGE}"))?;
    let seconds: u64 = value("--seconds")?.parse()?;
    let dir = PathBuf::from(value("--dir")?);
    let names = ["localhost".to_string(), "127.0.0.1".to_string()];
    let (certificates, _) = DevCertificates::load_or_create_in(&dir, &names)?;
    let plan = FloodPlan {
        duration: Duration::from_secs(seconds),
        messages: u64::MAX,
        ..FloodPlan::new(kind)
    };
    let mut service = FloodService::bind(certificates.server_config()?, plan).await?;
    println!(
        "{}",
        serde_json::json!({
            "addr": service.local_addr().to_string(),
            "ca": dir.join("ca.pem"),
        })
    );
    // The flood, the check, and slack for a slow machine; never forever.
    let bound = Duration::from_secs(seconds + 120);
    let report = tokio::time::timeout(bound, service.next_report())
        .await
        .map_err(|_| "no client finished its flood in time")?
        .ok_or("the service stopped")?;
    println!(
        "{}",
        serde_json::json!({
            "sent": report.sent,
            "echoed": report.echoed,
            "hups": report.hups,
            "acks": report.acks,
        })
    );
    service.stop().await;
    Ok(())
}
