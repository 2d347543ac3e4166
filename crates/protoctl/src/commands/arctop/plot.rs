//! `protoctl arctop plot FILE.jsonl -o FILE.svg`: a recorded session drawn as SVG, one
//! panel per value key, the connection and QA events marked, start and end labelled.
//!
//! Reads what `arctop listen --record FILE` or `--json` writes. With `--json` it prints one
//! line saying what was drawn; otherwise a readable line.

use std::path::PathBuf;

use arctop::plot::{PlotOptions, render_svg};
use arctop::recording::{Clock, Recording};
use clap::Args;
use serde_json::json;

use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arctop plot`.
#[derive(Debug, Args)]
pub(crate) struct PlotArgs {
    /// The recorded session: JSON Lines from `arctop listen --record` or `--json`.
    #[arg(value_name = "FILE.jsonl")]
    file: PathBuf,
    /// Where to write the SVG.
    #[arg(short, long, value_name = "FILE.svg")]
    output: PathBuf,
    /// Draw only these keys, in this order (comma-separated) [default: every key, in the
    /// order they first appear].
    #[arg(long, value_name = "k1,k2", value_delimiter = ',')]
    keys: Vec<String>,
    /// The title at the top [default: Arctop session].
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// The width of the drawing in pixels.
    #[arg(long, value_name = "PX", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(300..=20_000))]
    width: u32,
}

pub(crate) async fn run(args: PlotArgs, out: &mut Output) -> Result<(), CliError> {
    let file = args.file.display();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| CliError::local(format!("cannot read {file}: {e}")))?;
    let mut recording =
        Recording::parse(&text).map_err(|e| CliError::local(format!("{file}: {e}")))?;
    let keys: Vec<String> = args
        .keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if !keys.is_empty() {
        let available = recording.keys().join(", ");
        recording.select(&keys).map_err(|missing| {
            CliError::local(format!(
                "{file} has no values for {} (it has: {available})",
                missing.join(", ")
            ))
        })?;
    }
    let options = PlotOptions {
        width: args.width,
        title: args.title,
        ..PlotOptions::default()
    };
    let svg =
        render_svg(&recording, &options).map_err(|e| CliError::local(format!("{file}: {e}")))?;
    std::fs::write(&args.output, svg)
        .map_err(|e| CliError::local(format!("cannot write {}: {e}", args.output.display())))?;
    let keys = recording.keys();
    let samples: usize = recording.series.iter().map(|s| s.samples.len()).sum();
    let seconds = match recording.clock {
        Clock::Timestamps { .. } => Some(recording.clock.span()),
        Clock::Order { .. } => None,
    };
    out.event(
        format_args!(
            "wrote {}: {} panels ({}), {samples} values, {} events{}",
            args.output.display(),
            keys.len(),
            keys.join(", "),
            recording.marks.len(),
            seconds.map(|s| format!(", {s:.1} s")).unwrap_or_default()
        ),
        &json!({
            "event": "plotted",
            "output": args.output.display().to_string(),
            "keys": keys,
            "values": samples,
            "marks": recording.marks.len(),
            "seconds": seconds,
            "complete": recording.is_complete(),
        }),
    )
}
