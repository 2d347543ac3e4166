//! `protoctl arkeo track`: the Multichannel tracking workflow (`arkeo::workflow::track`):
//! the documented sequence (GetIV sanity check, SetChannelSettings with "Enable" true,
//! wait for "ready to start", StartMeasurement unless one runs, poll), each new JV object
//! and the periodic IV readings written to `--out DIR`, a live status line per channel on
//! a terminal, and StopChannel on every listed channel at the end: when `--duration` ends
//! (exit 0), on SIGINT or SIGTERM (exit 0, in order), or after a failure.
//!
//! # Output
//!
//! One line per event (`--json`: a JSON object tagged by `event`):
//!
//! ```text
//! {"event":"settings_applied","channels":[0,1]}
//! {"event":"measurement_started","already_running":false}
//! {"event":"channel","channel":0,"state":"running","measurement":"jv"}
//! {"event":"jv","channel":0,"elapsed_s":1.52,"acquisition_time":"2026-12-07T13:40:01.250Z","max_power":20.31}
//! {"event":"iv","elapsed_s":10.0,"points":[[0,0.99,0.0021],[1,0.99,0.0021]]}
//! {"event":"stopped","channels":[{"channel":0,"previous_state":"running","new_state":"stopped"}]}
//! {"event":"done","reason":"duration","jv_count":14,"iv_count":6}
//! ```
//!
//! Files in `--out DIR` (made when missing): `jv.jsonl` (one line per JV object:
//! `{"channel", "elapsed_s", "jv"}`) and `iv.jsonl` (`{"elapsed_s", "points", "reading"}`);
//! with `--format csv` also `jv.csv` (one row per scan with its figures of merit) and
//! `iv.csv` (one row per channel and reading).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use arkeo::jv::JvData;
use arkeo::multichannel::{ChannelStatus, SettingsEncoding};
use arkeo::plot::PowerSeries;
use arkeo::workflow::{StopReason, TrackEvent, TrackOptions};
use arkeo::{Client, ClientOptions, Dialect};
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::read_settings;
use crate::duration::{VALUE_NAME as DURATION, interval, run_length};
use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arkeo track`.
#[derive(Debug, Args)]
pub(crate) struct TrackArgs {
    /// The Multichannel instrument: HOST or HOST:PORT [default port: 6340].
    #[arg(long, value_name = "HOST[:PORT]", default_value = "127.0.0.1")]
    addr: String,
    /// How long to wait for the connection and for each reply.
    #[arg(long, value_name = DURATION, default_value = "10", value_parser = interval)]
    timeout: Duration,
    /// The channels to track, comma-separated, each once.
    #[arg(long, value_name = "0,1,2", value_delimiter = ',', required = true, value_parser = super::channel_index)]
    channels: Vec<u32>,
    /// A JSON file with one channel settings object in the vendor's schema, applied to every
    /// listed channel ("Enable" is set to true).
    #[arg(long, value_name = "FILE")]
    settings: PathBuf,
    /// How the settings travel: a JSON object, or the JSON-encoded string older firmware
    /// pages show.
    #[arg(long, value_enum, default_value_t = Encoding::Object)]
    settings_encoding: Encoding,
    /// How long to track once started (up to 365 days) [default: until SIGINT/SIGTERM or
    /// every channel stops by itself].
    #[arg(long, value_name = DURATION, value_parser = run_length)]
    duration: Option<Duration>,
    /// Time between two IV readings.
    #[arg(long, value_name = DURATION, default_value = "10", value_parser = interval)]
    iv_interval: Duration,
    /// Time between two channel state polls.
    #[arg(long, value_name = DURATION, default_value = "1", value_parser = interval)]
    poll: Duration,
    /// How long the channels may take to be ready to start.
    #[arg(long, value_name = DURATION, default_value = "1m", value_parser = interval)]
    ready_timeout: Duration,
    /// Write every JV object and IV reading into this directory (made when missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The files in --out: JSON Lines, or JSON Lines and CSV too.
    #[arg(long, value_enum, default_value_t = FileFormat::Json)]
    format: FileFormat,
    /// Draw the maximum power over time of each channel into this SVG at the end.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// `--settings-encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Encoding {
    /// `"settings": {...}`.
    Object,
    /// `"settings": "{...}"`.
    String,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FileFormat {
    /// JSON Lines (`jv.jsonl`, `iv.jsonl`).
    Json,
    /// JSON Lines and CSV (`jv.csv`, `iv.csv`).
    Csv,
}

/// One line of `arkeo track`'s output.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum TrackLine {
    /// The settings were applied to these channels.
    SettingsApplied { channels: Vec<u32> },
    /// The measurement runs.
    MeasurementStarted { already_running: bool },
    /// A channel's state changed.
    Channel {
        channel: u32,
        state: String,
        measurement: Option<String>,
    },
    /// A new JV object.
    Jv {
        channel: u32,
        elapsed_s: f64,
        acquisition_time: Option<String>,
        max_power: Option<f64>,
    },
    /// A periodic IV reading: `[channel, V, A]` per channel.
    Iv {
        elapsed_s: f64,
        points: Vec<(u32, Option<f64>, Option<f64>)>,
    },
    /// StopChannel answered.
    Stopped { channels: Vec<StoppedChannel> },
    /// The connection died while channels may run.
    ChannelsLeftRunning { channels: Vec<u32>, reason: String },
    /// The run ended.
    Done {
        reason: &'static str,
        jv_count: usize,
        iv_count: usize,
    },
}

#[derive(Debug, Serialize)]
struct StoppedChannel {
    channel: u32,
    previous_state: String,
    new_state: String,
}

fn state_name(state: &ChannelStatus) -> String {
    state.as_str().to_string()
}

/// A number for JSON: NaN and infinities are `null`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl std::fmt::Display for TrackLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackLine::SettingsApplied { channels } => {
                write!(f, "settings applied to channel(s) {channels:?}")
            }
            TrackLine::MeasurementStarted { already_running } => write!(
                f,
                "measurement {}",
                if *already_running {
                    "already running"
                } else {
                    "started"
                }
            ),
            TrackLine::Channel {
                channel,
                state,
                measurement,
            } => write!(
                f,
                "channel {channel}: {state}{}",
                measurement
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            TrackLine::Jv {
                channel,
                elapsed_s,
                max_power,
                ..
            } => write!(
                f,
                "channel {channel}: JV at {elapsed_s:.1} s, max power {}",
                max_power.map_or("-".into(), |p| format!("{p:.2} mW/cm²"))
            ),
            TrackLine::Iv { elapsed_s, points } => {
                write!(f, "IV at {elapsed_s:.1} s:")?;
                for (channel, v, a) in points {
                    let show = |x: &Option<f64>| x.map_or("NaN".into(), |x| format!("{x:.4}"));
                    write!(f, " ch{channel} {} V {} A", show(v), show(a))?;
                }
                Ok(())
            }
            TrackLine::Stopped { channels } => {
                let list: Vec<String> = channels
                    .iter()
                    .map(|c| format!("{}: {}", c.channel, c.new_state))
                    .collect();
                write!(f, "StopChannel: {}", list.join(", "))
            }
            TrackLine::ChannelsLeftRunning { channels, reason } => write!(
                f,
                "the connection was lost with channel(s) {channels:?} running: {reason}"
            ),
            TrackLine::Done {
                reason,
                jv_count,
                iv_count,
            } => write!(
                f,
                "done ({reason}): {jv_count} JV object(s), {iv_count} IV reading(s)"
            ),
        }
    }
}

/// `--out DIR`: the JV objects and IV readings as they come, as JSON Lines (`jv.jsonl`,
/// `iv.jsonl`) and, with `--format csv`, as CSV too (`jv.csv`, `iv.csv`).
struct Files {
    jv: BufWriter<File>,
    iv: BufWriter<File>,
    csv: Option<(BufWriter<File>, BufWriter<File>)>,
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>, CliError> {
    let path = dir.join(name);
    File::create(&path)
        .map(BufWriter::new)
        .map_err(|e| CliError::local(format!("cannot write {}: {e}", path.display())))
}

fn line(file: &mut BufWriter<File>, line: &str) -> Result<(), CliError> {
    writeln!(file, "{line}")
        .and_then(|()| file.flush())
        .map_err(|e| CliError::local(format!("cannot write to --out: {e}")))
}

impl Files {
    fn create(dir: &Path, format: FileFormat) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::local(format!("cannot make {}: {e}", dir.display())))?;
        let csv = match format {
            FileFormat::Json => None,
            FileFormat::Csv => {
                let mut jv = create(dir, "jv.csv")?;
                let mut iv = create(dir, "iv.csv")?;
                line(
                    &mut jv,
                    "elapsed_s,channel,acquisition_time,scan,voc_V,jsc_mA_cm2,ff_pct,pce_pct,pmax_mW_cm2",
                )?;
                line(&mut iv, "elapsed_s,timestamp,channel,voltage_V,current_A")?;
                Some((jv, iv))
            }
        };
        Ok(Files {
            jv: create(dir, "jv.jsonl")?,
            iv: create(dir, "iv.jsonl")?,
            csv,
        })
    }

    fn jv(&mut self, channel: u32, elapsed_s: f64, jv: &JvData) -> Result<(), CliError> {
        let record = serde_json::json!({"channel": channel, "elapsed_s": elapsed_s, "jv": jv});
        line(&mut self.jv, &record.to_string())?;
        let Some((csv, _)) = &mut self.csv else {
            return Ok(());
        };
        let value = |q: &Option<arkeo::jv::Quantity>| {
            q.as_ref()
                .and_then(|q| finite(q.value))
                .map_or(String::new(), |v| v.to_string())
        };
        for scan in &jv.scans {
            let p = &scan.parameters;
            let row = format!(
                "{elapsed_s:.3},{channel},{},{},{},{},{},{},{}",
                jv.acquisition_time.as_deref().unwrap_or(""),
                scan.name,
                value(&p.voc),
                value(&p.jsc),
                value(&p.fill_factor),
                value(&p.efficiency),
                value(&p.p_mpp)
            );
            line(csv, &row)?;
        }
        Ok(())
    }

    fn iv(
        &mut self,
        elapsed_s: f64,
        reading: &arkeo::multichannel::IvReading,
        points: &[(u32, f64, f64)],
    ) -> Result<(), CliError> {
        let record = serde_json::json!({
            "elapsed_s": elapsed_s,
            "points": points.iter().map(|(c, v, a)| (c, finite(*v), finite(*a))).collect::<Vec<_>>(),
            "reading": reading,
        });
        line(&mut self.iv, &record.to_string())?;
        let Some((_, csv)) = &mut self.csv else {
            return Ok(());
        };
        for (channel, v, a) in points {
            let show = |x: f64| finite(x).map_or(String::new(), |x| x.to_string());
            let row = format!(
                "{elapsed_s:.3},{},{channel},{},{}",
                reading.timestamp,
                show(*v),
                show(*a)
            );
            line(csv, &row)?;
        }
        Ok(())
    }
}

/// The live status lines on stderr (hidden when it is not a terminal).
struct StatusLines {
    bars: BTreeMap<u32, ProgressBar>,
}

impl StatusLines {
    fn new(channels: &[u32]) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{spinner} {prefix:>10} {msg}").ok();
        let bars = channels
            .iter()
            .map(|c| {
                let bar = multi.add(ProgressBar::new_spinner());
                if let Some(style) = &style {
                    bar.set_style(style.clone());
                }
                bar.set_prefix(format!("channel {c}"));
                bar.set_message("waiting");
                bar.enable_steady_tick(Duration::from_millis(200));
                (*c, bar)
            })
            .collect();
        StatusLines { bars }
    }

    fn set(&self, channel: u32, message: String) {
        if let Some(bar) = self.bars.get(&channel) {
            bar.set_message(message);
        }
    }

    fn finish(&self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}

pub(crate) async fn run(args: TrackArgs, out: &mut Output) -> Result<(), CliError> {
    let settings = read_settings(&args.settings)?;
    let mut options = TrackOptions::new(args.channels.clone(), settings);
    options.encoding = match args.settings_encoding {
        Encoding::Object => SettingsEncoding::Object,
        Encoding::String => SettingsEncoding::String,
    };
    options.poll_interval = args.poll;
    options.ready_timeout = args.ready_timeout;
    options.iv_interval = args.iv_interval;
    options.duration = args.duration;
    let client_options = ClientOptions {
        connect_timeout: args.timeout,
        request_timeout: args.timeout,
        ..ClientOptions::default()
    };
    let mut files = match &args.out {
        Some(dir) => Some(Files::create(dir, args.format)?),
        None => None,
    };
    let mut signals = Signals::new()?;
    let mut client =
        Client::connect_with(&args.addr, Dialect::Multichannel, client_options).await?;
    let status = StatusLines::new(&args.channels);
    let started = tokio::time::Instant::now();
    let mut power: BTreeMap<u32, Vec<(f64, f64)>> = BTreeMap::new();
    let mut jv_counts: BTreeMap<u32, usize> = BTreeMap::new();
    let mut left_running: Option<Vec<u32>> = None;
    let mut failure: Option<CliError> = None;
    let stop = async {
        loop {
            if let Signal::Stop(name) = signals.next().await {
                tracing::info!(signal = name, "stopping every channel");
                return;
            }
        }
    };
    let result = arkeo::workflow::track(&mut client, options, stop, |event| {
        let elapsed_s = started.elapsed().as_secs_f64();
        let line = match event {
            TrackEvent::IvChecked { .. } => return,
            TrackEvent::SettingsApplied { settings } => TrackLine::SettingsApplied {
                channels: settings.iter().map(|s| s.index).collect(),
            },
            TrackEvent::ChannelChanged { state } => {
                status.set(state.index, state_name(&state.state));
                TrackLine::Channel {
                    channel: state.index,
                    state: state_name(&state.state),
                    measurement: state.measurement.clone(),
                }
            }
            TrackEvent::MeasurementStarted { already_running } => TrackLine::MeasurementStarted {
                already_running: *already_running,
            },
            TrackEvent::Jv { channel, jv } => {
                let max_power = finite(jv.max_power());
                if let Some(p) = max_power {
                    power.entry(*channel).or_default().push((elapsed_s, p));
                }
                let count = jv_counts.entry(*channel).or_default();
                *count += 1;
                status.set(
                    *channel,
                    format!(
                        "tracking, {count} JV, max power {}",
                        max_power.map_or("-".into(), |p| format!("{p:.2} mW/cm²"))
                    ),
                );
                if let Some(files) = &mut files
                    && let Err(e) = files.jv(*channel, elapsed_s, jv)
                {
                    failure.get_or_insert(e);
                }
                TrackLine::Jv {
                    channel: *channel,
                    elapsed_s,
                    acquisition_time: jv.acquisition_time.clone(),
                    max_power,
                }
            }
            TrackEvent::Iv { reading, points } => {
                if let Some(files) = &mut files
                    && let Err(e) = files.iv(elapsed_s, reading, points)
                {
                    failure.get_or_insert(e);
                }
                TrackLine::Iv {
                    elapsed_s,
                    points: points
                        .iter()
                        .map(|(c, v, a)| (*c, finite(*v), finite(*a)))
                        .collect(),
                }
            }
            TrackEvent::Stopped { channels } => TrackLine::Stopped {
                channels: channels
                    .iter()
                    .map(|t| StoppedChannel {
                        channel: t.index,
                        previous_state: state_name(&t.previous_state),
                        new_state: state_name(&t.new_state),
                    })
                    .collect(),
            },
            TrackEvent::ChannelsLeftRunning { channels, reason } => {
                left_running = Some(channels.clone());
                TrackLine::ChannelsLeftRunning {
                    channels: channels.clone(),
                    reason: reason.clone(),
                }
            }
            _ => return,
        };
        if let Err(e) = out.event(&line, &line)
            && !e.is_stdout_closed()
        {
            failure.get_or_insert(e);
        }
    })
    .await;
    status.finish();
    if let Some(channels) = left_running {
        match arkeo::workflow::stop_channels_at(&args.addr, &channels, client_options).await {
            Ok(_) => {
                tracing::warn!("the connection was lost: the channels were stopped on a fresh one")
            }
            Err(e) => tracing::warn!("the connection was lost and the channels may still run: {e}"),
        }
    }
    let summary = result?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(path) = &args.plot {
        let series: Vec<PowerSeries> = power
            .into_iter()
            .map(|(channel, points)| PowerSeries { channel, points })
            .collect();
        let svg = arkeo::plot::max_power_svg(&series).map_err(CliError::local)?;
        std::fs::write(path, svg)
            .map_err(|e| CliError::local(format!("cannot write {}: {e}", path.display())))?;
    }
    let reason = match summary.reason {
        StopReason::Duration => "duration",
        StopReason::Requested => "stopped",
        StopReason::ChannelsDone => "channels_done",
        StopReason::Failed => "failed",
    };
    let done = TrackLine::Done {
        reason,
        jv_count: summary.jv_count,
        iv_count: summary.iv_count,
    };
    out.event(&done, &done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_by_event_and_nan_is_null() {
        let iv = TrackLine::Iv {
            elapsed_s: 10.0,
            points: vec![(0, finite(0.99), finite(f64::NAN))],
        };
        assert_eq!(
            serde_json::to_string(&iv).unwrap(),
            r#"{"event":"iv","elapsed_s":10.0,"points":[[0,0.99,null]]}"#
        );
        assert_eq!(iv.to_string(), "IV at 10.0 s: ch0 0.9900 V NaN A");
        let done = TrackLine::Done {
            reason: "duration",
            jv_count: 2,
            iv_count: 1,
        };
        assert_eq!(
            serde_json::to_string(&done).unwrap(),
            r#"{"event":"done","reason":"duration","jv_count":2,"iv_count":1}"#
        );
    }
}
