//! One client per state directory: the file `lock` in it, locked (an advisory `flock` on
//! Unix) for as long as a client runs, and holding that client's PID.
//!
//! Two clients on one directory would share an identity, so the Arrow Service would see
//! one client connecting twice, each connection dropping the other, and both would
//! overwrite `status.json`. The second one therefore fails at once with
//! [`Error::StateLocked`], naming the directory and the PID of the one that runs. The
//! operating system releases the lock when the process ends however it ends (killed, power
//! cut), so a stale lock file never blocks a restart.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::Error;

/// The lock file inside the state directory.
pub const LOCK_FILE: &str = "lock";

/// The state directory's lock, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    dir: PathBuf,
    _file: fs::File,
}

impl StateLock {
    /// Locks `dir` (creating it, mode 0700, when missing) and writes our PID into the lock
    /// file. Fails with [`Error::StateLocked`] while another client holds it.
    pub fn acquire(dir: &Path) -> Result<Self, Error> {
        let state = |path: &Path, source| Error::State {
            path: path.to_path_buf(),
            source,
        };
        crate::identity::create_state_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(|e| state(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::StateLocked {
                    dir: dir.to_path_buf(),
                    pid: read_pid(&mut file),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(state(&path, e)),
        }
        let pid = format!("{}\n", std::process::id());
        let written = (|| -> io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(pid.as_bytes())?;
            file.flush()
        })();
        written.map_err(|e| state(&path, e))?;
        Ok(StateLock {
            dir: dir.to_path_buf(),
            _file: file,
        })
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The PID the holder wrote, if it did (it may be between locking and writing).
fn read_pid(file: &mut fs::File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_fails_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        let err = StateLock::acquire(dir.path()).unwrap_err();
        let Error::StateLocked { dir: locked, pid } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(locked, dir.path());
        assert_eq!(*pid, Some(std::process::id()));
        let text = err.to_string();
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(err.is_fatal());
        // Released when dropped: the next client gets it.
        drop(first);
        let again = StateLock::acquire(dir.path()).unwrap();
        assert_eq!(again.dir(), dir.path());
    }

    #[test]
    fn the_lock_file_holds_the_pid_and_a_missing_directory_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        let _lock = StateLock::acquire(&nested).unwrap();
        let text = fs::read_to_string(nested.join(LOCK_FILE)).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
    }

    #[test]
    fn other_directories_are_independent() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let _a = StateLock::acquire(a.path()).unwrap();
        let _b = StateLock::acquire(b.path()).unwrap();
    }
}
