//! `cargo xtask bench`: runs every criterion benchmark and writes `docs/benchmarks.md`.
//!
//! Convention: in each criterion group, functions named `baseline-*` are the reference
//! (a plain copy, a raw socket ping-pong, ...) measured in the same run; every other function
//! in the group is reported with its ratio to the baseline. Benchmarks that measure
//! something criterion cannot (memory per session, say) write a markdown fragment into
//! `target/bench-notes/*.md`; those are appended as they are.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{Result, cargo, root, run as run_step};

/// The command documented in the output, and run here.
const COMMAND: &str = "cargo xtask bench";

/// Criterion flags: short runs, so the whole suite stays within a few minutes on 2 cores.
const CRITERION_ARGS: [&str; 5] = ["--warm-up-time", "1", "--measurement-time", "3", "--noplot"];

struct Measurement {
    function: String,
    /// Median time per iteration, nanoseconds.
    nanos: f64,
    throughput: Option<(String, f64)>,
}

pub(crate) fn run() -> Result {
    let target = root().join("target");
    let _ = std::fs::remove_dir_all(target.join("criterion"));
    let _ = std::fs::remove_dir_all(target.join("bench-notes"));
    run_step(
        "benchmarks",
        cargo()
            .args(["bench", "--workspace", "--bench", "*", "--"])
            .args(CRITERION_ARGS),
    )?;
    crate::scan_bench::run(false)?;
    crate::hostile::bench(60, false)?;
    let groups = collect(&target.join("criterion"))?;
    let notes = notes(&target.join("bench-notes"));
    let doc = render(&groups, &notes);
    let path = root().join("docs/benchmarks.md");
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

/// `cargo xtask bench arrow`: runs the Arrow tunnel benchmark alone (its criterion groups
/// and notes) and rewrites docs/benchmarks.md with it and the other results of the last
/// full run, still in `target/`; the page says which part was run again.
pub(crate) fn run_arrow() -> Result {
    let target = root().join("target");
    if !target.join("criterion").is_dir() {
        return Err("no earlier results in target/criterion: run `cargo xtask bench` first".into());
    }
    run_step(
        "the Arrow tunnel benchmark",
        cargo()
            .args(["bench", "-p", "arrow-client", "--bench", "tunnel", "--"])
            .args(CRITERION_ARGS),
    )?;
    let groups = collect(&target.join("criterion"))?;
    let notes = notes(&target.join("bench-notes"));
    let mut doc = render(&groups, &notes);
    let rerun = format!(
        "Written by `{COMMAND}` (criterion, `{}`); do not edit by hand.",
        CRITERION_ARGS.join(" ")
    );
    doc = doc.replacen(
        &rerun,
        &format!(
            "{rerun} The Arrow tunnel groups (`arrow/down-*`, `arrow/up-*`, `arrow/echo-64B`) \
             and the Arrow tunnel and client notes were then run again by `{COMMAND} arrow`, \
             the rest being the full run's."
        ),
        1,
    );
    let path = root().join("docs/benchmarks.md");
    std::fs::write(&path, doc).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {}", path.display());
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every `<...>/new/benchmark.json` under the criterion folder, grouped by group id.
fn collect(dir: &Path) -> Result<BTreeMap<String, Vec<Measurement>>> {
    let mut groups: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with("new/benchmark.json") {
                let info = read_json(&path)?;
                let estimates = read_json(&path.with_file_name("estimates.json"))?;
                let throughput = info["throughput"].as_object().and_then(|t| {
                    let (unit, amount) = t.iter().next()?;
                    Some((unit.clone(), amount.as_f64()?))
                });
                groups
                    .entry(info["group_id"].as_str().unwrap_or("?").to_string())
                    .or_default()
                    .push(Measurement {
                        function: info["function_id"].as_str().unwrap_or("").to_string(),
                        nanos: estimates["median"]["point_estimate"]
                            .as_f64()
                            .unwrap_or(f64::NAN),
                        throughput,
                    });
            }
        }
    }
    for list in groups.values_mut() {
        list.sort_by(|a, b| a.function.cmp(&b.function));
    }
    Ok(groups)
}

fn notes(dir: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

fn rate(m: &Measurement) -> String {
    let seconds = m.nanos / 1e9;
    match &m.throughput {
        Some((unit, amount)) if unit == "Bytes" || unit == "BytesDecimal" => {
            format!("{:.2} GB/s", amount / seconds / 1e9)
        }
        Some((_, amount)) => per_second(amount / seconds),
        None => per_second(1.0 / seconds),
    }
}

/// An element rate with an SI suffix: `13.57 M/s`.
fn per_second(rate: f64) -> String {
    match rate {
        r if r >= 1e9 => format!("{:.2} G/s", r / 1e9),
        r if r >= 1e6 => format!("{:.2} M/s", r / 1e6),
        r if r >= 1e3 => format!("{:.2} k/s", r / 1e3),
        r => format!("{r:.1} /s"),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores; {rustc}")
}

fn render(groups: &BTreeMap<String, Vec<Measurement>>, notes: &[String]) -> String {
    let mut doc = String::new();
    let _ = writeln!(doc, "# Benchmarks\n");
    let _ = writeln!(
        doc,
        "Written by `{COMMAND}` (criterion, `{}`); do not edit by hand.\n",
        CRITERION_ARGS.join(" ")
    );
    let _ = writeln!(doc, "Machine: {}.\n", machine());
    let _ = writeln!(
        doc,
        "Each group runs its subject beside a `baseline-*` reference on the same bytes in \
         the same run; *vs baseline* is subject rate / baseline rate. Rates count the group's \
         elements (frames, messages, round trips) or bytes. Times are medians per \
         iteration. Shared machines are noisy: compare ratios, not absolute times.\n"
    );
    for (group, list) in groups {
        let baseline = list.iter().find(|m| m.function.starts_with("baseline"));
        let _ = writeln!(doc, "## {group}\n");
        let _ = writeln!(doc, "| function | time / iteration | rate | vs baseline |");
        let _ = writeln!(doc, "| --- | ---: | ---: | ---: |");
        for m in list {
            let ratio = match baseline {
                Some(b) if !std::ptr::eq(b, m) => format!("{:.2}", b.nanos / m.nanos),
                _ => "1.00".to_string(),
            };
            let _ = writeln!(
                doc,
                "| {} | {} | {} | {} |",
                m.function,
                human_time(m.nanos),
                rate(m),
                if baseline.is_some() {
                    ratio
                } else {
                    "-".into()
                }
            );
        }
        let _ = writeln!(doc);
    }
    for note in notes {
        let _ = writeln!(doc, "{}\n", note.trim_end());
    }
    doc
}

fn human_time(nanos: f64) -> String {
    if nanos >= 1e9 {
        format!("{:.2} s", nanos / 1e9)
    } else if nanos >= 1e6 {
        format!("{:.2} ms", nanos / 1e6)
    } else if nanos >= 1e3 {
        format!("{:.2} µs", nanos / 1e3)
    } else {
        format!("{nanos:.0} ns")
    }
}
