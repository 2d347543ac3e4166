//! `protoctl arrow scan`: one scan for cameras, as the Arrow client's discovery does it
//! (`arrow_client::discovery`).
//!
//! Human output: a table of hosts, then one of services. `--json`: one line per host, then
//! one per service:
//!
//! ```text
//! {"kind":"host","ip":"10.99.0.10","mac":"02:00:0a:63:00:0a","flags":["arp","tcp","onvif"],"ports":[80,554]}
//! {"kind":"service","type":"rtsp","ip":"10.99.0.10","port":554,"path":"/live.sdp","mac":"02:00:0a:63:00:0a"}
//! ```
//!
//! A progress bar on stderr when it is a terminal. Exit 0 even when nothing is found; a
//! method that cannot run is a warning; a scope over the limit, an unknown interface or an
//! unreadable path list is exit 2.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use arrow_client::discovery::{self, ScanConfig, ScanLine, ScanProgress, ScanResult, paths};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipnet::Ipv4Net;

use crate::duration::{VALUE_NAME as DURATION, interval};
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arrow scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Sweep this interface's IPv4 subnet; repeatable [default: every non-loopback one].
    #[arg(long, value_name = "IF")]
    discovery_interface: Vec<String>,
    /// Sweep this address or network instead of the interfaces' subnets; repeatable.
    #[arg(long, value_name = "IP|CIDR", value_parser = target)]
    target: Vec<Ipv4Net>,
    /// The most addresses one scan may sweep, 1 to 65536 (a /16) [default: 1024, a /22].
    #[arg(long, value_name = "N", default_value_t = discovery::scope::DEFAULT_MAX_HOSTS, value_parser = max_hosts)]
    discovery_max_hosts: usize,
    /// RTSP paths to try, one per line (`#` comments) [default: the built-in list].
    #[arg(long, value_name = "FILE")]
    rtsp_paths: Option<PathBuf>,
    /// MJPEG paths to try, one per line (`#` comments) [default: the built-in list].
    #[arg(long, value_name = "FILE")]
    mjpeg_paths: Option<PathBuf>,
    /// The whole scan's deadline; what was found by then is printed.
    #[arg(long, value_name = DURATION, default_value = "2m", value_parser = interval)]
    timeout: Duration,
}

/// `10.0.0.5` or `10.0.0.0/24`.
fn target(text: &str) -> Result<Ipv4Net, String> {
    text.parse::<Ipv4Net>()
        .or_else(|_| text.parse::<std::net::Ipv4Addr>().map(Ipv4Net::from))
        .map_err(|_| {
            format!("{text:?} is not an IPv4 address or network (e.g. 10.0.0.5, 10.0.0.0/24)")
        })
}

impl ScanArgs {
    fn config(&self) -> Result<ScanConfig, CliError> {
        let mut config = ScanConfig {
            interfaces: self.discovery_interface.clone(),
            targets: self.target.clone(),
            max_hosts: self.discovery_max_hosts,
            deadline: self.timeout,
            ..ScanConfig::default()
        };
        if let Some(file) = &self.rtsp_paths {
            config.rtsp_paths = paths::load(file)?;
        }
        if let Some(file) = &self.mjpeg_paths {
            config.mjpeg_paths = paths::load(file)?;
        }
        Ok(config)
    }
}

fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>9} [{bar:40.cyan/blue}] {pos}/{len} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub(crate) async fn run(args: ScanArgs, out: &mut Output) -> Result<(), CliError> {
    let config = args.config()?;
    let bar = progress_bar();
    // SIGINT or SIGTERM ends the scan in order: what was found by then is printed, exit 0.
    let mut signals = Signals::new()?;
    let stopped_by = std::sync::Mutex::new(None);
    let stop = async {
        loop {
            if let Signal::Stop(name) = signals.next().await {
                *stopped_by.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
                return;
            }
        }
    };
    let result = discovery::scan_until(
        &config,
        &|progress| {
            let (prefix, done, total) = match progress {
                ScanProgress::Sweeping { done, total } => ("sweeping", done, total),
                ScanProgress::Probing { done, total } => ("probing", done, total),
            };
            bar.set_prefix(prefix);
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
        stop,
    )
    .await?;
    bar.finish_and_clear();
    let stopped_by = stopped_by.into_inner().unwrap_or_else(|p| p.into_inner());
    for warning in &result.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(signal) = stopped_by {
        tracing::warn!("{signal}: the scan stopped early; what was found by then is printed");
    } else if result.cut_short {
        tracing::warn!(
            deadline = %humantime::format_duration(config.deadline),
            "the scan's deadline ended it: what was found by then is printed (raise --timeout)"
        );
    }
    if out.is_json() {
        for line in result.lines() {
            out.json_line(&line)?;
        }
        Ok(())
    } else {
        out.text_line(table(&result))
    }
}

/// The human output: hosts, then services.
fn table(result: &ScanResult) -> String {
    let mut text = String::new();
    let hosts = result.lines();
    let (host_lines, service_lines): (Vec<_>, Vec<_>) = hosts
        .iter()
        .partition(|l| matches!(l, ScanLine::Host { .. }));
    text.push_str(&format!("{} host(s)\n", host_lines.len()));
    if !host_lines.is_empty() {
        text.push_str(&format!(
            "  {:<15} {:<17} {:<18} {}\n",
            "IP", "MAC", "FOUND BY", "PORTS"
        ));
    }
    for line in host_lines {
        if let ScanLine::Host {
            ip,
            mac,
            flags,
            ports,
        } = line
        {
            let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
            text.push_str(&format!(
                "  {:<15} {:<17} {:<18} {}\n",
                ip.to_string(),
                mac.as_deref().unwrap_or("-"),
                flags.join(","),
                ports.join(",")
            ));
        }
    }
    text.push_str(&format!("{} service(s)\n", service_lines.len()));
    if !service_lines.is_empty() {
        text.push_str(&format!("  {:<16} {:<21} {}\n", "TYPE", "ADDRESS", "PATH"));
    }
    for line in service_lines {
        if let ScanLine::Service {
            service_type,
            ip,
            port,
            path,
            ..
        } = line
        {
            text.push_str(&format!(
                "  {:<16} {:<21} {}\n",
                service_type,
                std::net::SocketAddr::new(*ip, *port).to_string(),
                // Paths can come from the devices (ONVIF): escaped.
                if path.is_empty() {
                    std::borrow::Cow::Borrowed("-")
                } else {
                    crate::escape::escape_controls(path)
                }
            ));
        }
    }
    text.trim_end().to_string()
}

/// `--discovery-max-hosts`: 1 to 65,536 addresses (a /16; a sweep past that is not a LAN).
pub(super) fn max_hosts(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=65_536) => Ok(n),
        _ => Err(format!(
            "{text:?}: the most addresses to sweep is 1 to 65536"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_addresses_or_networks() {
        assert_eq!(target("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(target("10.0.0.0/24").unwrap().to_string(), "10.0.0.0/24");
        for bad in ["10.0.0", "::1", "cam.lan", "10.0.0.0/33"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_scan_is_a_short_table() {
        assert_eq!(table(&ScanResult::default()), "0 host(s)\n0 service(s)");
    }
}
