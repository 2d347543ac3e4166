//! The C API of the Arrow client (`crates/arrow-client-ffi`, docs/c-api.md).
//!
//! - `cargo xtask ffi-header`: rewrites `include/arrow_client.h` (cbindgen) and the
//!   reference in docs/c-api.md from the crate. The generator is the crate's own
//!   `golden_*` tests, run with `PROTOCTL_UPDATE_FIXTURES` set, like the man pages; without
//!   it the same tests (so `cargo test --workspace`) fail when either file is not current.
//! - `cargo xtask ffi [--prefix DIR]`: builds the release libraries, links
//!   `target/release/libarrow_client_ffi.so.<API>` (the SONAME build.rs gives the shared
//!   library) to it, and writes `target/release/pkgconfig/arrow_client.pc` for this
//!   checkout; with `--prefix`, installs the libraries (the shared one under its SONAME,
//!   with `libarrow_client_ffi.so` linked to it), the header and the pkg-config file
//!   under DIR.
//! - `ci` (part of `cargo xtask ci`): the release libraries build, with exactly the system
//!   libraries for a static link that the docs name (what rustc prints); the C example
//!   compiles through pkg-config; and the example's tests run against the release
//!   libraries, the valgrind one included.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Result, cargo, root, run};

const CRATE: &str = "arrow-client-ffi";

pub(crate) fn regenerate_header() -> Result {
    run(
        "regenerate the C header and its reference",
        cargo()
            .args(["test", "-p", CRATE, "--test", "ffi", "golden_"])
            .env("PROTOCTL_UPDATE_FIXTURES", "1"),
    )
}

/// The crate's folder.
fn crate_dir() -> PathBuf {
    root().join("crates").join(CRATE)
}

/// Where cargo puts the release build.
fn release_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root().join(target)
    };
    target.join("release")
}

/// The pkg-config template's value of `native_static_libs`.
fn documented_static_libs() -> Result<String> {
    let template = crate_dir().join("arrow_client.pc.in");
    let text =
        std::fs::read_to_string(&template).map_err(|e| format!("{}: {e}", template.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("native_static_libs="))
        .map(str::to_string)
        .ok_or_else(|| format!("{}: no native_static_libs", template.display()))
}

/// Builds the release libraries; returns what rustc says a static link needs.
fn build_release() -> Result<String> {
    eprintln!("xtask: == {CRATE}: release libraries");
    // `--print native-static-libs` is passed to this crate only, so the dependencies are
    // the ordinary release build's.
    let output = cargo()
        .args(["rustc", "--release", "-p", CRATE, "--lib", "--"])
        .args(["--print", "native-static-libs"])
        .output()
        .map_err(|e| format!("cargo rustc: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("building {CRATE} in release failed:\n{stderr}"));
    }
    // Cargo replays the note when the build was up to date.
    stderr
        .lines()
        .find_map(|l| l.split("native-static-libs:").nth(1))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .ok_or_else(|| "rustc did not print the native static libraries".to_string())
}

/// The pkg-config file for libraries in `libdir` and the header in `includedir`.
fn pkg_config_file(prefix: &Path, libdir: &Path, includedir: &Path) -> Result<String> {
    let template = crate_dir().join("arrow_client.pc.in");
    let text =
        std::fs::read_to_string(&template).map_err(|e| format!("{}: {e}", template.display()))?;
    Ok(text
        .replace("@PREFIX@", &prefix.display().to_string())
        .replace("@LIBDIR@", &libdir.display().to_string())
        .replace("@INCLUDEDIR@", &includedir.display().to_string())
        .replace("@VERSION@", &crate_version()?))
}

/// The crate's version (the workspace's).
fn crate_version() -> Result<String> {
    let manifest = root().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    text.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_string)
        .ok_or_else(|| "no workspace version in Cargo.toml".into())
}

fn write(path: &Path, text: &str) -> Result {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}

/// Writes the in-tree pkg-config file; returns its folder.
fn in_tree_pkg_config() -> Result<PathBuf> {
    let release = release_dir();
    let dir = release.join("pkgconfig");
    let text = pkg_config_file(&release, &release, &crate_dir().join("include"))?;
    write(&dir.join("arrow_client.pc"), &text)?;
    Ok(dir)
}

/// The C API's version, as src/lib.rs defines it (build.rs reads the same line).
fn api_version() -> Result<u32> {
    let lib = crate_dir().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("pub const ARROW_API_VERSION: u32 = "))
        .and_then(|rest| rest.strip_suffix(';'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{}: no ARROW_API_VERSION", lib.display()))
}

/// The shared library's SONAME (build.rs sets it): `libarrow_client_ffi.so.<API version>`.
fn soname() -> Result<String> {
    Ok(format!("libarrow_client_ffi.so.{}", api_version()?))
}

/// Makes `link` a symbolic link to `target` (a name in the same folder), replacing what
/// was there.
fn symlink(target: &str, link: &Path) -> Result {
    match std::fs::remove_file(link) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", link.display())),
    }
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| format!("{} -> {target}: {e}", link.display()))
}

/// The release build's `libarrow_client_ffi.so.<API>` link, the name a program linked
/// against the in-tree library asks the loader for.
fn in_tree_soname_link() -> Result {
    symlink("libarrow_client_ffi.so", &release_dir().join(soname()?))
}

/// `cargo xtask ffi [--prefix DIR]`.
pub(crate) fn run_ffi(args: &[String]) -> Result {
    build_release()?;
    in_tree_soname_link()?;
    let dir = in_tree_pkg_config()?;
    eprintln!(
        "xtask: {}/libarrow_client_ffi.{{a,so}} and {}; PKG_CONFIG_PATH={} pkg-config --cflags --libs arrow_client",
        release_dir().display(),
        soname()?,
        dir.display()
    );
    let prefix = match args {
        [] => return Ok(()),
        [flag, prefix] if flag == "--prefix" => PathBuf::from(prefix),
        _ => return Err("usage: cargo xtask ffi [--prefix DIR]".into()),
    };
    let (lib, include) = (prefix.join("lib"), prefix.join("include"));
    // The shared library under its SONAME, and the name the linker's -l finds as a link.
    let soname = soname()?;
    copy(
        &release_dir().join("libarrow_client_ffi.a"),
        &lib.join("libarrow_client_ffi.a"),
    )?;
    copy(
        &release_dir().join("libarrow_client_ffi.so"),
        &lib.join(&soname),
    )?;
    symlink(&soname, &lib.join("libarrow_client_ffi.so"))?;
    copy(
        &crate_dir().join("include/arrow_client.h"),
        &include.join("arrow_client.h"),
    )?;
    let pc = lib.join("pkgconfig/arrow_client.pc");
    write(&pc, &pkg_config_file(&prefix, &lib, &include)?)?;
    eprintln!("xtask: installed under {}", prefix.display());
    Ok(())
}

/// `cargo xtask ci`'s part: see the module's docs.
pub(crate) fn ci() -> Result {
    let started = Instant::now();
    let printed = build_release()?;
    let documented = documented_static_libs()?;
    if printed != documented {
        return Err(format!(
            "a static link of {CRATE} needs `{printed}` (rustc), the docs say `{documented}`: \
             update arrow_client.pc.in, STATIC_LINK_LIBS in src/lib.rs and docs/c-api.md"
        ));
    }
    let release = release_dir();
    for name in ["libarrow_client_ffi.a", "libarrow_client_ffi.so"] {
        if !release.join(name).is_file() {
            return Err(format!("{} was not built", release.join(name).display()));
        }
    }
    in_tree_soname_link()?;
    // The example through pkg-config, as a user builds it (shared).
    let pkg_config_dir = in_tree_pkg_config()?;
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "arrow_client"])
        .env("PKG_CONFIG_PATH", &pkg_config_dir)
        .output();
    match flags {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8_lossy(&out.stdout).to_string();
            let program = release.join("tunnel-pkg-config");
            run(
                "the C example through pkg-config",
                Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
                    .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
                    .arg(crate_dir().join("examples/tunnel.c"))
                    .args(flags.split_whitespace())
                    .arg("-o")
                    .arg(&program),
            )?;
        }
        other => {
            let why = format!("pkg-config arrow_client: {other:?}");
            if std::env::var_os("CI").is_some() {
                return Err(why);
            }
            eprintln!("xtask: warning: the example was NOT built through pkg-config ({why})");
        }
    }
    // The example's tests (valgrind's included) against the release libraries.
    run(
        "the C example against the release libraries, and under valgrind",
        cargo()
            .args(["test", "-p", CRATE, "--test", "ffi", "tunnel::"])
            .args(["--", "--include-ignored"])
            .env("ARROW_CLIENT_FFI_LIB_DIR", &release),
    )?;
    eprintln!(
        "xtask: {CRATE} checked in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
