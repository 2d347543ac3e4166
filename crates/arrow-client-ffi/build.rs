//! Names the shared library after the C API's version: on ELF targets its SONAME is
//! `libarrow_client_ffi.so.<ARROW_API_VERSION>`, so a program linked against it is bound
//! to that API and the loader refuses a library of another one (docs/c-api.md, *Version
//! policy*).

#![allow(clippy::print_stdout)] // a build script talks to cargo on stdout

use std::path::Path;

fn main() {
    let lib = Path::new("src/lib.rs");
    println!("cargo:rerun-if-changed={}", lib.display());
    let source = std::fs::read_to_string(lib).expect("src/lib.rs");
    let version = source
        .lines()
        .find_map(|l| l.trim().strip_prefix("pub const ARROW_API_VERSION: u32 = "))
        .and_then(|rest| rest.strip_suffix(';'))
        .and_then(|n| n.parse::<u32>().ok())
        .expect("src/lib.rs defines `pub const ARROW_API_VERSION: u32 = <number>;`");
    let elf = matches!(
        std::env::var("CARGO_CFG_TARGET_OS").as_deref(),
        Ok("linux"
            | "android"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "dragonfly"
            | "illumos"
            | "solaris")
    );
    if elf {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libarrow_client_ffi.so.{version}");
    }
}
