//! Project chores as code: `cargo xtask <task>`.
//!
//! - `ci`: what CI checks, in the order a failure is cheapest to see: formatting, clippy on
//!   every target with warnings denied, every test (network-namespace tests inside a
//!   namespace made here), docs with warnings denied. Golden fixtures are checked by the
//!   tests themselves.
//! - `fixtures`: rewrite the golden vectors under `fixtures/` from the code's test tables
//!   (and the man pages, whose test is a golden one too).
//! - `man`: rewrite protoctl's man pages (`crates/protoctl/man/`) from its clap grammar;
//!   `ci` checks them through protoctl's tests.
//! - `dist`: the Debian package, `<target>/debian/protoctl_*.deb` (cargo-deb, installed
//!   when missing): binary, man pages, completions, the `arrow run` systemd unit, its
//!   account and an example config.
//! - `fuzz [--seconds N]`: install cargo-fuzz when missing, run every fuzz target N seconds.
//! - `bench`: run the criterion benchmarks and the Arrow scanner's (inside a network
//!   namespace made for it) and the hostile-peer floods, and write `docs/benchmarks.md`;
//!   `bench scan`: the scanner's part alone, printed; `bench hostile [--seconds N]`: the
//!   floods alone (60 s each unless told), printed.
//! - `hostile`: the floods' short form alone, as `ci` runs it (debug binary, 2 s each,
//!   bounds checked).
//! - `ffi [--prefix DIR]`: the C API's release libraries and pkg-config file (installed
//!   under DIR with `--prefix`); `ffi-header`: rewrite its header and reference from the
//!   crate. `ci` checks both, builds the C example and runs it under valgrind (`ffi.rs`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a chore runner talks to its user

mod bench;
mod dist;
mod ffi;
mod hostile;
mod man;
mod netns;
mod scan_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <ci | fixtures | man | dist | fuzz [--seconds N] | bench [scan | arrow | hostile [--seconds N]] | hostile | ffi [--prefix DIR] | ffi-header>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fixtures") => fixtures(),
        Some("man") => man::regenerate(),
        Some("dist") => dist::run_dist(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "scan") => scan_bench::run(true),
        Some("bench") if args.get(1).is_some_and(|a| a == "arrow") => bench::run_arrow(),
        Some("bench") if args.get(1).is_some_and(|a| a == "hostile") => {
            seconds(&args[2..], 60).and_then(|s| hostile::bench(s, true))
        }
        Some("bench") => bench::run(),
        Some("hostile") => hostile::short(),
        Some("ffi") => ffi::run_ffi(&args[1..]),
        Some("ffi-header") => ffi::regenerate_header(),
        // Run by `bench` inside the network namespace it makes; not for users.
        Some("scan-bench-inside") => match args.get(1) {
            Some(protoctl) => scan_bench::inside(Path::new(protoctl)),
            None => Err("scan-bench-inside needs the protoctl binary".into()),
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a command to completion; a non-zero exit is an error naming the step.
fn run(step: &str, cmd: &mut Command) -> Result {
    eprintln!("xtask: == {step}");
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn ci() -> Result {
    run("format", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    feature_matrix()?;
    run("tests", cargo().args(["test", "--workspace"]))?;
    netns::run_namespace_tests()?;
    hostile::short()?;
    ffi::ci()?;
    run(
        "docs",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// The features of the library crates, which stand alone (each crate's docs say what they
/// gate): arrow-client without any is what a device embeds.
const FEATURES: [(&str, &[&str]); 6] = [
    ("wire", &["codec"]),
    ("arctop", &["client", "mdns", "simulator", "plot", "lsl"]),
    ("arkeo", &["client", "simulator", "plot"]),
    ("arrow-codec", &["codec"]),
    ("arrow-client", &["config-file", "dev-service"]),
    ("arrow-client-ffi", &[]),
];

/// Each crate alone with no default features, with each feature alone, and with all of
/// them and every target (the workspace build above unifies features, so a combination
/// could break unseen); and the runtime-free builds really are free of the runtime.
fn feature_matrix() -> Result {
    for (krate, features) in FEATURES {
        let mut combos = vec![vec!["--no-default-features".to_string()]];
        for feature in features {
            combos.push(vec![
                "--no-default-features".into(),
                "--features".into(),
                (*feature).into(),
            ]);
        }
        for combo in combos {
            run(
                &format!("clippy {krate} {}", combo.join(" ")),
                cargo()
                    .args(["clippy", "-q", "-p", krate])
                    .args(&combo)
                    .args(["--", "-D", "warnings"]),
            )?;
        }
        run(
            &format!("clippy {krate} --all-features --all-targets"),
            cargo()
                .args([
                    "clippy",
                    "-q",
                    "-p",
                    krate,
                    "--all-features",
                    "--all-targets",
                ])
                .args(["--", "-D", "warnings"]),
        )?;
    }
    for (krate, forbidden) in [
        ("wire", &["tokio-util"][..]),
        ("arctop", &["tokio", "mdns-sd"][..]),
        ("arkeo", &["tokio"][..]),
        ("arrow-codec", &["tokio-util", "tokio"][..]),
    ] {
        let tree = cargo()
            .args(["tree", "-p", krate, "--no-default-features", "-e", "normal"])
            .args(["--prefix", "none", "--format", "{p}"])
            .output()
            .map_err(|e| format!("cargo tree: {e}"))?;
        let tree = String::from_utf8_lossy(&tree.stdout);
        for dep in forbidden {
            if tree
                .lines()
                .any(|l| l.split_whitespace().next() == Some(dep))
            {
                return Err(format!("{krate} without default features depends on {dep}"));
            }
        }
    }
    Ok(())
}

fn fixtures() -> Result {
    run(
        "regenerate fixtures",
        cargo()
            .args(["test", "--workspace", "golden"])
            .env("PROTOCTL_UPDATE_FIXTURES", "1"),
    )
}

/// `[--seconds N]`, with its default.
fn seconds(args: &[String], default: u64) -> Result<u64> {
    match args {
        [] => Ok(default),
        [flag, n] if flag == "--seconds" => match n.parse() {
            Ok(s) if s > 0 => Ok(s),
            _ => Err(format!(
                "--seconds {n}: a whole number of seconds, at least 1"
            )),
        },
        _ => Err(USAGE.to_string()),
    }
}

fn fuzz(args: &[String]) -> Result {
    let seconds = seconds(args, 60)?;
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run(
            "install cargo-fuzz",
            cargo().args(["install", "cargo-fuzz", "--locked"]),
        )?;
    }
    let targets = fuzz_targets()?;
    for target in &targets {
        // New inputs go to a scratch folder (ignored by git); the committed corpus is only
        // read. Crashes land in fuzz/artifacts/<target>/: commit a minimised one under
        // fuzz/corpus/<target>/ so `cargo test` replays it from then on.
        let scratch = root().join("fuzz/target/new-corpus").join(target);
        std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        let corpus = root().join("fuzz/corpus").join(target);
        run(
            &format!("fuzz {target} for {seconds}s"),
            cargo()
                .args(["fuzz", "run", "-s", "none", target])
                .arg(&scratch)
                .arg(&corpus)
                .arg("--")
                .arg(format!("-max_total_time={seconds}")),
        )?;
    }
    eprintln!(
        "xtask: fuzzed {} targets for {seconds}s each",
        targets.len()
    );
    Ok(())
}

fn fuzz_targets() -> Result<Vec<String>> {
    let dir = root().join("fuzz/fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    targets.sort();
    Ok(targets)
}
