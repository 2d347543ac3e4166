//! Advertising a server with mdns-sd (feature `mdns`), for the simulator.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use mdns_sd::{ServiceDaemon, ServiceInfo};

use super::SERVICE_TYPE;
use crate::Error;

/// A published service. Dropping it unregisters the service and stops the daemon.
pub struct Advertisement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Advertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertisement")
            .field("fullname", &self.fullname)
            .finish()
    }
}

impl Advertisement {
    /// Publishes `instance` under `_http._tcp.local.` at `port`. With no addresses, every
    /// address of the host is announced and kept up to date.
    pub fn publish(instance: &str, port: u16, addresses: &[IpAddr]) -> Result<Self, Error> {
        let daemon = ServiceDaemon::new()?;
        let host = format!("protoctl-simulator-{port}.local.");
        let ips: Vec<IpAddr> = addresses.to_vec();
        let mut info = ServiceInfo::new(
            SERVICE_TYPE,
            instance,
            &host,
            &ips[..],
            port,
            None::<HashMap<String, String>>,
        )?;
        if addresses.is_empty() {
            info = info.enable_addr_auto();
        }
        let fullname = info.get_fullname().to_string();
        daemon.register(info)?;
        Ok(Advertisement { daemon, fullname })
    }

    /// The full DNS-SD name published.
    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Advertisement {
    fn drop(&mut self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            // Sends the goodbye packets; bounded so a stuck daemon cannot hang a drop.
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
        let _ = self.daemon.shutdown();
    }
}
