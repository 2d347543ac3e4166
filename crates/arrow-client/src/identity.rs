//! The client's identity: a UUID v4 and a 16-byte key, made on first start and kept in the
//! state directory; and the MAC address sent in REGISTER.
//!
//! The file `identity.json` is written atomically (a temporary file in the same directory,
//! mode 0600, fsynced, then renamed over) so a crash never leaves half an identity. The key
//! is never logged: [`Identity`]'s `Debug` hides it.
//!
//! The state directory is created with mode 0700. An identity file that group or others
//! can read (copied in by hand, restored from a backup) is reported with a warning naming
//! the path and its mode, and its mode is set to 0600 when it is loaded.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

/// The file inside the state directory.
pub const IDENTITY_FILE: &str = "identity.json";

pub use arrow_codec::MacAddr;

/// The client's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The client's UUID (v4).
    pub uuid: Uuid,
    /// The secret key; never printed.
    pub key: [u8; 16],
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("uuid", &self.uuid)
            .field("key", &"<hidden>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    uuid: Uuid,
    key: String,
}

impl Identity {
    /// A fresh random identity.
    pub fn generate() -> Self {
        let mut key = [0u8; 16];
        rand::fill(&mut key);
        Identity {
            uuid: Uuid::new_v4(),
            key,
        }
    }

    /// Reads the identity from `state_dir`, or creates it (and the directory) on first start.
    ///
    /// Returns the identity and whether it was just created.
    pub fn load_or_create(state_dir: &Path) -> Result<(Self, bool), Error> {
        let path = state_dir.join(IDENTITY_FILE);
        match Self::load(state_dir)? {
            Some(identity) => Ok((identity, false)),
            None => {
                create_state_dir(state_dir)?;
                let identity = Self::generate();
                if identity.store_new(&path)? {
                    return Ok((identity, true));
                }
                // Another process (`arrow identity` and `arrow run` started together, say)
                // created it first: theirs is the one on disk, so it is ours too.
                match Self::load(state_dir)? {
                    Some(existing) => Ok((existing, false)),
                    None => Err(Error::State {
                        path,
                        source: io::Error::new(
                            io::ErrorKind::NotFound,
                            "the identity file vanished while it was being created",
                        ),
                    }),
                }
            }
        }
    }

    /// Reads the identity from `state_dir`; `None` when there is none yet.
    pub fn load(state_dir: &Path) -> Result<Option<Self>, Error> {
        let path = state_dir.join(IDENTITY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::State { path, source }),
        };
        make_private(&path)?;
        Self::from_json(&text)
            .map(Some)
            .map_err(|what| Error::State {
                path,
                source: io::Error::new(io::ErrorKind::InvalidData, what),
            })
    }

    /// The identity as `identity.json` holds it: `{"uuid": "…", "key": "<32 hex digits>"}`,
    /// pretty-printed. For a device that keeps the identity somewhere else than a state
    /// directory (the C API's storage callbacks); the text holds the key, so it is a secret.
    pub fn to_json(&self) -> String {
        let file = IdentityFile {
            uuid: self.uuid,
            key: self.key.iter().map(|b| format!("{b:02x}")).collect(),
        };
        serde_json::to_string_pretty(&file).expect("an identity always serializes")
    }

    /// Reads the text [`to_json`](Self::to_json) makes; the error says what is wrong
    /// (never the key).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: IdentityFile =
            serde_json::from_str(text).map_err(|e| format!("not an identity: {e}"))?;
        let key = decode_hex16(&file.key).ok_or("key is not 32 hex digits")?;
        Ok(Identity {
            uuid: file.uuid,
            key,
        })
    }

    /// Writes the identity to `path` unless a file is there already; false if one was.
    fn store_new(&self, path: &Path) -> Result<bool, Error> {
        write_private_new(path, self.to_json().as_bytes()).map_err(|source| Error::State {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Creates the state directory (and its parents) with mode 0700 when it is missing.
pub(crate) fn create_state_dir(state_dir: &Path) -> Result<(), Error> {
    let mut dir = fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        dir.mode(0o700);
    }
    dir.create(state_dir).map_err(|source| Error::State {
        path: state_dir.to_path_buf(),
        source,
    })
}

/// The MAC a client registers with when none is configured: the machine's first network
/// card's ([`first_interface_mac`]), else a locally administered address derived from the
/// UUID (stable across restarts, and never a real vendor's).
pub fn default_mac(identity: &Identity) -> MacAddr {
    first_interface_mac().unwrap_or_else(|| mac_from_uuid(identity.uuid))
}

/// `02:` and the UUID's first five bytes: locally administered, unicast.
fn mac_from_uuid(uuid: Uuid) -> MacAddr {
    let b = uuid.as_bytes();
    MacAddr([0x02, b[0], b[1], b[2], b[3], b[4]])
}

/// Reports and removes group/other permissions on the identity file (Unix).
#[cfg(unix)]
fn make_private(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let state = |source| Error::State {
        path: path.to_path_buf(),
        source,
    };
    let mode = fs::metadata(path).map_err(state)?.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    tracing::warn!(
        path = %path.display(),
        mode = %format_args!("{mode:04o}"),
        "the identity file (it holds the client's key) was readable by others; setting it to 0600"
    );
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(state)
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> Result<(), Error> {
    Ok(())
}

fn decode_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Writes `data` to `path` through a 0600 temporary file in the same directory, fsync and
/// rename, so readers see the old file or the new one, never a part.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    write_via_temporary(path, data, |tmp| fs::rename(tmp, path)).map(|_| ())
}

/// Like [`write_private`], but only if `path` does not exist yet (the file appears whole,
/// or not at all); false if it existed, which is then left as it was.
pub(crate) fn write_private_new(path: &Path, data: &[u8]) -> io::Result<bool> {
    write_via_temporary(path, data, |tmp| match fs::hard_link(tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    })
}

/// Writes `data` to a fresh 0600 temporary file beside `path`, syncs it, hands it to
/// `publish` and removes what is left of it.
fn write_via_temporary<T>(
    path: &Path,
    data: &[u8],
    publish: impl FnOnce(&Path) -> io::Result<T>,
) -> io::Result<T> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("identity"),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        let published = publish(&tmp)?;
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(published)
    })();
    // After a rename there is nothing left; after a link (or a failure), the temporary.
    let _ = fs::remove_file(&tmp);
    result
}

/// The MAC of the machine's first network card (by interface name, from
/// `/sys/class/net`), if any has a non-zero one; else of its first other non-loopback
/// interface.
///
/// Cards come first because virtual interfaces (`docker0`, bridges, `bond*`, `dummy*`)
/// often get a new random MAC on every boot, and the Arrow Service pairs a client by MAC.
pub fn first_interface_mac() -> Option<MacAddr> {
    first_interface_mac_in(Path::new("/sys/class/net"))
}

fn first_interface_mac_in(root: &Path) -> Option<MacAddr> {
    let mut names: Vec<_> = fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name != "lo")
        .collect();
    names.sort();
    let mac = |name: &std::ffi::OsStr| {
        let text = fs::read_to_string(root.join(name).join("address")).ok()?;
        let mac: MacAddr = text.trim().parse().ok()?;
        (mac.octets() != [0; 6]).then_some(mac)
    };
    // A card has a `device` link to its bus device; a virtual interface has none.
    let card = |name: &std::ffi::OsStr| root.join(name).join("device").exists();
    names
        .iter()
        .filter(|name| card(name))
        .find_map(|name| mac(name))
        .or_else(|| names.iter().find_map(|name| mac(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mac_made_from_the_uuid_is_locally_administered_and_stable() {
        let uuid = Uuid::from_bytes([0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        let mac = mac_from_uuid(uuid);
        assert_eq!(mac, MacAddr([0x02, 0xab, 1, 2, 3, 4]));
        assert_eq!(mac.0[0] & 0b11, 0b10, "locally administered, unicast");
        assert_eq!(mac_from_uuid(uuid), mac);
    }

    #[test]
    fn the_mac_comes_from_a_card_before_any_virtual_interface() {
        let root = tempfile::tempdir().unwrap();
        let iface = |name: &str, mac: &str, card: bool| {
            let dir = root.path().join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("address"), format!("{mac}\n")).unwrap();
            if card {
                fs::create_dir(dir.join("device")).unwrap();
            }
        };
        iface("lo", "00:00:00:00:00:00", false);
        iface("bond0", "02:00:00:00:00:01", false);
        iface("docker0", "02:42:00:00:00:02", false);
        iface("eth1", "00:00:00:00:00:00", true);
        iface("wlan0", "a4:00:00:00:00:03", true);
        let got = first_interface_mac_in(root.path()).map(|m| m.to_string());
        assert_eq!(got.as_deref(), Some("a4:00:00:00:00:03"), "a card wins");
        fs::remove_dir(root.path().join("wlan0/device")).unwrap();
        let got = first_interface_mac_in(root.path()).map(|m| m.to_string());
        assert_eq!(
            got.as_deref(),
            Some("02:00:00:00:00:01"),
            "no card with a MAC: the first other interface by name"
        );
    }

    #[test]
    fn processes_creating_the_identity_at_once_all_get_the_one_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let made: Vec<(Identity, bool)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| Identity::load_or_create(&state).unwrap()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let on_disk = Identity::load(&state).unwrap().unwrap();
        assert!(made.iter().all(|(identity, _)| *identity == on_disk));
        assert_eq!(made.iter().filter(|(_, created)| *created).count(), 1);
        // Nothing is left behind but the identity itself.
        let names: Vec<_> = fs::read_dir(&state)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(IDENTITY_FILE)]);
    }

    #[test]
    fn identity_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested/state");
        let (first, created) = Identity::load_or_create(&state).unwrap();
        assert!(created);
        assert_eq!(first.uuid.get_version_num(), 4);
        let (second, created) = Identity::load_or_create(&state).unwrap();
        assert!(!created);
        assert_eq!(first, second);
    }

    #[cfg(unix)]
    #[test]
    fn identity_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Identity::load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(IDENTITY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn state_dir_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a/b");
        Identity::load_or_create(&state).unwrap();
        for path in [dir.path().join("a"), state] {
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn identity_readable_by_others_is_fixed_on_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (made, _) = Identity::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        for loose in [0o644, 0o640, 0o604, 0o660, 0o666] {
            fs::set_permissions(&path, fs::Permissions::from_mode(loose)).unwrap();
            let loaded = Identity::load(dir.path()).unwrap();
            assert_eq!(loaded, Some(made.clone()), "{loose:o}");
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{loose:o} was not fixed");
        }
        // A private file is left alone (0400 stays 0400).
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        Identity::load(dir.path()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o400);
    }

    #[test]
    fn corrupt_identity_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(IDENTITY_FILE), "{\"uuid\":1}").unwrap();
        assert!(matches!(
            Identity::load_or_create(dir.path()),
            Err(Error::State { .. })
        ));
    }

    #[test]
    fn the_json_form_round_trips_and_is_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let (made, _) = Identity::load_or_create(dir.path()).unwrap();
        let on_disk = fs::read_to_string(dir.path().join(IDENTITY_FILE)).unwrap();
        assert_eq!(made.to_json(), on_disk);
        assert_eq!(Identity::from_json(&on_disk), Ok(made));
        let short = r#"{"uuid":"5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10","key":"abcd"}"#;
        assert_eq!(
            Identity::from_json(short),
            Err("key is not 32 hex digits".into())
        );
        assert!(
            Identity::from_json("[]")
                .unwrap_err()
                .starts_with("not an identity")
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let id = Identity {
            uuid: Uuid::nil(),
            key: [0xab; 16],
        };
        assert!(!format!("{id:?}").contains("ab"));
    }
}
