//! The man pages under `crates/protoctl/man/`, generated from the clap grammar with
//! clap_mangen: `protoctl.1` and one page per subcommand (`protoctl-arrow-run.1`, ...).
//!
//! They are checked in, like the golden fixtures, and checked the same way: the test here
//! renders every page from [`crate::cli::Cli`] and fails on any difference from the files
//! (a changed page, a missing one, one left over from a removed subcommand). With
//! `PROTOCTL_UPDATE_FIXTURES` set (`cargo xtask man`, or `cargo xtask fixtures`) it
//! rewrites the folder first. The pages hold no date; the version is Cargo.toml's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;

/// The checked-in folder.
fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Every page: file name to roff text. Hidden subcommands and `help` get none.
fn pages() -> BTreeMap<String, Vec<u8>> {
    fn walk(cmd: clap::Command, pages: &mut BTreeMap<String, Vec<u8>>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, pages);
        }
        let man = clap_mangen::Man::new(cmd)
            .date("")
            .source(format!("protoctl {}", env!("CARGO_PKG_VERSION")))
            .manual("protoctl manual");
        let mut text = Vec::new();
        man.render(&mut text).expect("render to memory");
        pages.insert(man.get_filename(), text);
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = BTreeMap::new();
    walk(cmd, &mut pages);
    pages
}

/// The `*.1` files in the folder.
fn on_disk(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") {
            let text = std::fs::read(entry.path()).expect("read a man page");
            files.insert(name, text);
        }
    }
    files
}

#[test]
fn golden_man_pages() {
    let dir = folder();
    let pages = pages();
    if golden::update_requested() {
        std::fs::create_dir_all(&dir).expect("create the man folder");
        for name in on_disk(&dir).keys() {
            if !pages.contains_key(name) {
                std::fs::remove_file(dir.join(name)).expect("remove a stale man page");
            }
        }
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).expect("write a man page");
        }
    }
    let files = on_disk(&dir);
    let missing: Vec<_> = pages.keys().filter(|n| !files.contains_key(*n)).collect();
    let stale: Vec<_> = files.keys().filter(|n| !pages.contains_key(*n)).collect();
    let changed: Vec<_> = pages
        .iter()
        .filter(|(n, text)| files.get(*n).is_some_and(|f| f != *text))
        .map(|(n, _)| n)
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty() && changed.is_empty(),
        "man pages in {} differ from the CLI (run `cargo xtask man`): \
         missing {missing:?}, stale {stale:?}, changed {changed:?}",
        dir.display()
    );
    assert!(pages.contains_key("protoctl.1") && pages.contains_key("protoctl-arrow-run.1"));
}
