//! `cargo xtask dist`: the Debian package of protoctl, built with cargo-deb (installed with
//! `cargo install cargo-deb --locked` when missing) into `<target>/debian/`.
//!
//! What goes in is protoctl's `[package.metadata.deb]` (crates/protoctl/Cargo.toml): the
//! binary, the checked-in man pages (gzipped by cargo-deb), the shell completions, the
//! `protoctl-arrow.service` unit of docs/operations.md with its account (sysusers.d) and the
//! commented example config `/etc/protoctl/arrow.toml` (a conffile, being under /etc); the
//! files are under crates/protoctl/packaging/debian/. The completions are not checked in:
//! the release binary writes them here with `protoctl completions SHELL`. The package is
//! then checked: every expected path is in `dpkg-deb -c`, and the binary extracted with
//! `dpkg-deb -x` into a throw-away directory answers `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, cargo, run};

/// The completion scripts: shell, file name under `<target>/release/completions/`.
const COMPLETIONS: [(&str, &str); 3] = [
    ("bash", "protoctl.bash"),
    ("zsh", "_protoctl"),
    ("fish", "protoctl.fish"),
];

/// Paths the package must hold (as `dpkg-deb -c` prints them, without the leading `.`).
const EXPECTED: [&str; 11] = [
    "/usr/bin/protoctl",
    "/usr/share/man/man1/protoctl.1.gz",
    "/usr/share/man/man1/protoctl-arrow-run.1.gz",
    "/usr/share/bash-completion/completions/protoctl",
    "/usr/share/zsh/vendor-completions/_protoctl",
    "/usr/share/fish/vendor_completions.d/protoctl.fish",
    "/usr/lib/systemd/system/protoctl-arrow.service",
    "/usr/lib/sysusers.d/protoctl.conf",
    "/etc/protoctl/arrow.toml",
    "/usr/share/doc/protoctl/copyright",
    "/usr/share/doc/protoctl/operations.md",
];

pub(crate) fn run_dist() -> Result {
    ensure_cargo_deb()?;
    run(
        "protoctl (release)",
        cargo().args(["build", "--release", "--locked", "-p", "protoctl"]),
    )?;
    let target = target_dir()?;
    let protoctl = target.join("release/protoctl");
    write_completions(&protoctl, &target.join("release/completions"))?;
    eprintln!("xtask: == cargo deb");
    let output = cargo()
        .args(["deb", "-p", "protoctl", "--no-build", "--locked"])
        .output()
        .map_err(|e| format!("cargo deb: {e}"))?;
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        return Err(format!("cargo deb failed ({})", output.status));
    }
    // cargo-deb prints the package's path, alone, on stdout.
    let deb = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    check(&deb)?;
    println!("{}", deb.display());
    Ok(())
}

fn ensure_cargo_deb() -> Result {
    let present = cargo()
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    run(
        "install cargo-deb",
        cargo().args(["install", "cargo-deb", "--locked"]),
    )
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or configuration included).
fn target_dir() -> Result<PathBuf> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata: no target_directory".to_string())
}

fn write_completions(protoctl: &Path, dir: &Path) -> Result {
    eprintln!("xtask: == shell completions");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (shell, file) in COMPLETIONS {
        let output = Command::new(protoctl)
            .args(["completions", shell])
            .output()
            .map_err(|e| format!("{}: {e}", protoctl.display()))?;
        if !output.status.success() || output.stdout.is_empty() {
            return Err(format!(
                "protoctl completions {shell} failed ({})",
                output.status
            ));
        }
        let path = dir.join(file);
        std::fs::write(&path, &output.stdout).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The package lists every expected path, and its binary runs.
fn check(deb: &Path) -> Result {
    eprintln!("xtask: == check {}", deb.display());
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .map_err(|e| format!("dpkg-deb -c: {e}"))?;
    let listing = String::from_utf8_lossy(&listing.stdout);
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.'))
        .collect();
    let missing: Vec<_> = EXPECTED.iter().filter(|p| !paths.contains(p)).collect();
    if !missing.is_empty() {
        return Err(format!("{} lacks {missing:?}", deb.display()));
    }
    let scratch = std::env::temp_dir().join(format!("protoctl-dist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let result = extract_and_run(deb, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn extract_and_run(deb: &Path, scratch: &Path) -> Result {
    run(
        "dpkg-deb -x",
        Command::new("dpkg-deb").arg("-x").arg(deb).arg(scratch),
    )?;
    let output = Command::new(scratch.join("usr/bin/protoctl"))
        .arg("--version")
        .output()
        .map_err(|e| format!("the packaged protoctl: {e}"))?;
    let version = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !version.starts_with("protoctl ") {
        return Err(format!("the packaged protoctl --version: {version:?}"));
    }
    eprintln!("xtask: packaged binary: {}", version.trim());
    Ok(())
}
