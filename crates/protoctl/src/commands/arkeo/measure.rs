//! `protoctl arkeo measure`: an All-in-One routine run to its end with the library's
//! workflow (`arkeo::workflow::measure`), a progress bar on stderr, the data as JSON, and
//! a plot of JV curves on request.
//!
//! Every failure after StartRoutine leaves the instrument free: the workflow stops the
//! measurement and closes the routine on the same connection, or, when that connection is
//! dead, this command does it on a fresh one. Its own timeouts (ready, measurement) exit 3
//! like any timeout. SIGINT and SIGTERM stop the measurement and close the routine (on a
//! fresh connection: the request in flight is abandoned with its connection), then exit 2.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use arkeo::all_in_one::{RoutineInfo, routine};
use arkeo::jv::JvData;
use arkeo::workflow::{WorkflowEvent, WorkflowOptions};
use arkeo::{Client, ClientOptions, Dialect};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::{print_reply, read_settings};
use crate::duration::{VALUE_NAME as DURATION, interval, run_length};
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arkeo measure`.
#[derive(Debug, Args)]
pub(crate) struct MeasureArgs {
    /// The All-in-One instrument: HOST or HOST:PORT [default port: 6360].
    #[arg(long, value_name = "HOST[:PORT]", default_value = "127.0.0.1")]
    addr: String,
    /// How long to wait for the connection and for each reply (seconds, or with a unit:
    /// 500ms, 2m).
    #[arg(long, value_name = DURATION, default_value = "10", value_parser = interval)]
    timeout: Duration,
    /// The routine, as GetAvailableRoutines names it (JV, Luminescence...).
    #[arg(long, value_name = "NAME")]
    routine: String,
    /// A JSON file with the settings object for ApplySettings.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Write the data here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Time between two status polls.
    #[arg(long, value_name = DURATION, default_value = "500ms", value_parser = interval)]
    poll: Duration,
    /// How long the routine may take to become Ready.
    #[arg(long, value_name = DURATION, default_value = "2m", value_parser = interval)]
    ready_timeout: Duration,
    /// How long the measurement may run (up to 365 days).
    #[arg(long, value_name = DURATION, default_value = "1h", value_parser = run_length)]
    measurement_timeout: Duration,
    /// The largest reply accepted, in bytes (GetTestData can be large) [default: the
    /// client's limit, 16 MiB].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    max_reply: Option<u64>,
    /// SetInfo before the measurement: `user_name=...,device_name=...,device_area=...`
    /// (any of them; the area in cm²).
    #[arg(long, value_name = "KEY=VALUE,...", value_parser = info)]
    info: Option<RoutineInfo>,
    /// Draw the JV curves (forward and reverse, with Voc, Jsc, FF and PCE) into this SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// `--info user_name=ada,device_name=cell-7,device_area=0.1`.
fn info(text: &str) -> Result<RoutineInfo, String> {
    let mut info = RoutineInfo::default();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?}: expected KEY=VALUE"))?;
        let value = value.trim();
        match key.trim() {
            "user_name" => info.user_name = Some(value.to_string()),
            "device_name" => info.device_name = Some(value.to_string()),
            "device_area" => {
                let area: f64 = value
                    .parse()
                    .ok()
                    .filter(|a: &f64| a.is_finite() && *a > 0.0)
                    .ok_or_else(|| {
                        format!("device_area {value:?}: expected a positive number of cm²")
                    })?;
                info.device_area = Some(area);
            }
            other => {
                return Err(format!(
                    "unknown key {other:?} (user_name, device_name, device_area)"
                ));
            }
        }
    }
    Ok(info)
}

fn progress_bar(routine: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(100), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:40.cyan/blue}] {pos:>3}% {msg} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(routine.to_string());
    bar
}

pub(crate) async fn run(args: MeasureArgs, out: &mut Output) -> Result<(), CliError> {
    let settings = args.settings.as_deref().map(read_settings).transpose()?;
    let client_options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let options = WorkflowOptions {
        poll_interval: args.poll,
        ready_timeout: args.ready_timeout,
        measurement_timeout: args.measurement_timeout,
        max_reply: args
            .max_reply
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        info: args.info.clone(),
    };
    let mut signals = Signals::new()?;
    let mut client = Client::connect_with(&args.addr, Dialect::AllInOne, client_options).await?;
    let bar = progress_bar(&args.routine);
    let opened = std::cell::Cell::new(false);
    let left_open = std::cell::Cell::new(false);
    let workflow =
        arkeo::workflow::measure(&mut client, &args.routine, settings, options, |event| {
            match event {
                WorkflowEvent::RoutineStarted { .. } => opened.set(true),
                WorkflowEvent::RoutineLeftOpen {
                    connection_lost: true,
                    ..
                } => left_open.set(true),
                _ => {}
            }
            match event {
                WorkflowEvent::Initializing { state } => {
                    bar.set_message(state.as_str().to_string())
                }
                WorkflowEvent::Progress { state, progress } => {
                    bar.set_message(state.as_str().to_string());
                    if let Some(p) = progress.filter(|p| p.is_finite()) {
                        bar.set_position(p.clamp(0.0, 100.0) as u64);
                    }
                }
                WorkflowEvent::MeasurementFinished => bar.set_position(100),
                other => {
                    // Log lines and the bar share stderr: hide the bar while logging.
                    bar.suspend(|| tracing::info!("{other}"));
                    bar.set_message(other.to_string());
                }
            }
        });
    tokio::pin!(workflow);
    let result = loop {
        tokio::select! {
            result = &mut workflow => break result.map_err(CliError::from),
            signal = signals.next() => match signal {
                Signal::Stop(name) => {
                    bar.finish_and_clear();
                    tracing::warn!(signal = name, "interrupted: stopping the measurement");
                    break Err(interrupted(&args.addr, client_options, opened.get()).await);
                }
                Signal::Reload => {}
            },
        }
    };
    bar.finish_and_clear();
    if left_open.get() {
        // The connection died mid-run: the workflow could not close the routine.
        match arkeo::workflow::close_routine_at(&args.addr, client_options).await {
            Ok(()) => {
                tracing::warn!("the connection was lost: the routine was closed on a fresh one")
            }
            Err(e) => {
                tracing::warn!("the connection was lost and the routine may still be open: {e}")
            }
        }
    }
    let measurement = result?;
    if let Some(path) = &args.plot {
        plot(&measurement.data, path)?;
    }
    let record = json!({
        "routine": measurement.routine,
        "status": measurement.status.state.as_str(),
        "data": measurement.data,
    });
    match args.out {
        Some(path) => {
            let text = serde_json::to_vec_pretty(&record)
                .map_err(|e| CliError::local(format!("cannot serialize the data: {e}")))?;
            std::fs::write(&path, &text)
                .map_err(|e| CliError::local(format!("cannot write {}: {e}", path.display())))?;
            out.event(
                format_args!("{} data written to {} ({} bytes)", args.routine, path.display(), text.len()),
                &json!({ "routine": args.routine, "out": path.display().to_string(), "bytes": text.len() }),
            )
        }
        None => print_reply(out, &record),
    }
}

/// `--plot`: the JV curves of a JV routine's data; data of another shape is a usage error
/// (exit 2) after the data was fetched.
fn plot(data: &serde_json::Value, path: &std::path::Path) -> Result<(), CliError> {
    let jv: JvData = serde_json::from_value(data.clone())
        .ok()
        .filter(|jv: &JvData| !jv.scans.is_empty())
        .ok_or_else(|| {
            CliError::local("--plot: the routine's data has no JV scans (is it a JV routine?)")
        })?;
    let svg = arkeo::plot::jv_svg(&jv).map_err(CliError::local)?;
    std::fs::write(path, svg)
        .map_err(|e| CliError::local(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(plot = %path.display(), "JV curves drawn");
    Ok(())
}

/// A signal during `measure`: the request in flight was abandoned with its connection, so a
/// fresh connection stops the measurement and closes the routine (best effort, as the
/// workflow does after a failure) to leave the instrument free for the next user.
async fn interrupted(addr: &str, options: ClientOptions, opened: bool) -> CliError {
    let routine = if !opened {
        "no routine was started"
    } else {
        match Client::connect_with(addr, Dialect::AllInOne, options).await {
            Ok(mut client) => {
                let _ = client.request(&routine::stop_measurement()).await;
                match client.request(&routine::close_routine()).await {
                    Ok(_) => "the routine was stopped and closed",
                    Err(e) => {
                        tracing::warn!("CloseRoutine after the interrupt: {e}");
                        "closing the routine failed"
                    }
                }
            }
            Err(e) => {
                tracing::warn!("cannot reconnect to close the routine: {e}");
                "the routine may still be open"
            }
        }
    };
    CliError::local(format!("interrupted: {routine}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_takes_any_of_the_three_keys() {
        let got = info("user_name=ada, device_name=cell-7,device_area=0.1").unwrap();
        assert_eq!(got.user_name.as_deref(), Some("ada"));
        assert_eq!(got.device_name.as_deref(), Some("cell-7"));
        assert_eq!(got.device_area, Some(0.1));
        assert!(info("").unwrap().is_empty());
        for bad in [
            "user",
            "color=red",
            "device_area=-1",
            "device_area=big",
            "device_area=NaN",
        ] {
            assert!(info(bad).is_err(), "{bad}");
        }
    }
}
