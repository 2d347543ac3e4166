//! The C functions called the way C calls them: misuse is refused with a code and a
//! message, a configuration that cannot run fails the start at once, and a client started
//! through them registers, answers for its state and services, keeps its identity and
//! status in the caller's storage, and calls back on its one callback thread only.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Condvar, Mutex};

use arrow_client_ffi::*;

use crate::support::{Peers, WAIT};

/// The message of this thread's last failure.
fn last_error() -> String {
    let mut buf = [0 as c_char; 1024];
    unsafe { arrow_last_error_message(buf.as_mut_ptr(), buf.len()) };
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

/// Fails the test with the library's message unless `code` is `ARROW_OK`.
#[track_caller]
fn ok(code: ArrowResult) {
    assert_eq!(code, ARROW_OK, "{}", last_error());
}

/// A configuration, freed when dropped.
struct Config(*mut ArrowConfig);

impl Config {
    fn new(server: &str) -> Config {
        let mut config = null_mut();
        ok(unsafe { arrow_config_new(c(server).as_ptr(), &mut config) });
        Config(config)
    }

    /// With the peers' service as server and CA (as PEM), and their echo server as a TCP
    /// service.
    fn for_peers(peers: &Peers) -> Config {
        let config = Config::new(&peers.server());
        let pem = peers.ca_pem.as_bytes();
        ok(unsafe { arrow_config_add_ca_pem(config.0, pem.as_ptr(), pem.len()) });
        let echo = c(&peers.echo.to_string());
        ok(unsafe { arrow_config_add_service(config.0, ARROW_SERVICE_KIND_TCP, echo.as_ptr()) });
        config
    }

    fn state_dir(self, dir: &std::path::Path) -> Config {
        let dir = c(dir.to_str().unwrap());
        ok(unsafe { arrow_config_set_state_dir(self.0, dir.as_ptr()) });
        self
    }

    fn start(&self) -> Result<Client, (ArrowResult, String)> {
        let mut client = null_mut();
        match unsafe { arrow_client_start(self.0, &mut client) } {
            ARROW_OK => Ok(Client(client)),
            code => {
                assert!(client.is_null(), "no client on failure");
                Err((code, last_error()))
            }
        }
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { arrow_config_free(self.0) };
    }
}

/// A started client, stopped and freed when dropped.
struct Client(*mut ArrowClient);

impl Client {
    fn uuid(&self) -> String {
        let mut buf = [0 as c_char; ARROW_UUID_SIZE];
        ok(unsafe { arrow_client_uuid(self.0, buf.as_mut_ptr(), buf.len()) });
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap()
            .to_string()
    }

    fn status(&self) -> ArrowStatus {
        let mut status = ArrowStatus {
            state: 0,
            active_sessions: 0,
            bytes_up: 0,
            bytes_down: 0,
        };
        ok(unsafe { arrow_client_status(self.0, &mut status) });
        status
    }

    /// The services announced now: (kind, address, path, discovered).
    fn services(&self) -> Vec<(ArrowServiceKind, String, String, bool)> {
        let mut table = null_mut();
        ok(unsafe { arrow_client_services(self.0, &mut table) });
        let len = unsafe { arrow_service_table_len(table) };
        let services = (0..len)
            .map(|i| {
                let mut s = std::mem::MaybeUninit::<ArrowService>::uninit();
                ok(unsafe { arrow_service_table_get(table, i, s.as_mut_ptr()) });
                let s = unsafe { s.assume_init() };
                let text =
                    |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
                assert_ne!(s.id, 0);
                (s.kind, text(s.address), text(s.path), s.discovered)
            })
            .collect();
        let mut s = std::mem::MaybeUninit::<ArrowService>::uninit();
        let past = unsafe { arrow_service_table_get(table, len, s.as_mut_ptr()) };
        assert_eq!(past, ARROW_ERROR_OUT_OF_RANGE);
        unsafe { arrow_service_table_free(table) };
        services
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        unsafe { arrow_client_free(self.0) };
    }
}

/// What a callback saw, and on which thread.
#[derive(Debug, Clone, PartialEq)]
enum Note {
    State(ArrowState),
    Scan(ArrowScanReport),
    Log(ArrowLogLevel, String),
    Status(String),
}

/// The `user` of the callbacks: notes go to the test, with the thread they came from; and
/// a client pointer for callbacks that call back into the library.
struct Recorder {
    notes: Mutex<Sender<(Note, Option<String>)>>,
    client: AtomicPtr<ArrowClient>,
    /// Set once `client` is.
    published: (Mutex<bool>, Condvar),
    /// What a callback that called the library got: (function, code).
    calls: Mutex<Vec<(&'static str, ArrowResult)>>,
    /// The identity the storage keeps.
    identity: Mutex<Option<Vec<u8>>>,
}

impl Recorder {
    fn new() -> (Box<Recorder>, Receiver<(Note, Option<String>)>) {
        let (tx, rx) = channel();
        let recorder = Recorder {
            notes: Mutex::new(tx),
            client: AtomicPtr::new(null_mut()),
            published: (Mutex::new(false), Condvar::new()),
            calls: Mutex::new(Vec::new()),
            identity: Mutex::new(None),
        };
        (Box::new(recorder), rx)
    }

    fn user(&self) -> *mut c_void {
        (self as *const Recorder).cast_mut().cast()
    }

    /// Makes `client` known to the callbacks.
    fn publish(&self, client: *mut ArrowClient) {
        self.client.store(client, Ordering::Release);
        *self.published.0.lock().unwrap() = true;
        self.published.1.notify_all();
    }

    /// The client, once published (within [`WAIT`]).
    fn client(&self) -> *mut ArrowClient {
        let (lock, ready) = &self.published;
        let (published, _) = ready
            .wait_timeout_while(lock.lock().unwrap(), WAIT, |published| !*published)
            .unwrap();
        assert!(*published, "the client was not published in time");
        self.client.load(Ordering::Acquire)
    }

    fn note(&self, note: Note) {
        let thread = std::thread::current().name().map(String::from);
        let _ = self.notes.lock().unwrap().send((note, thread));
    }

    /// Registers every callback on `config`, with logs at INFO.
    fn attach(&self, config: &Config) {
        unsafe {
            ok(arrow_config_set_state_callback(
                config.0,
                Some(on_state),
                self.user(),
            ));
            ok(arrow_config_set_scan_callback(
                config.0,
                Some(on_scan),
                self.user(),
            ));
            ok(arrow_config_set_log_callback(
                config.0,
                Some(on_log),
                self.user(),
                ARROW_LOG_LEVEL_INFO,
            ));
        }
    }

    /// Storage callbacks that keep the identity here and the status in notes.
    fn storage(&self) -> ArrowStorage {
        ArrowStorage {
            user: self.user(),
            load_identity: Some(load_identity),
            store_identity: Some(store_identity),
            store_status: Some(store_status),
        }
    }
}

unsafe fn recorder<'a>(user: *mut c_void) -> &'a Recorder {
    unsafe { &*user.cast::<Recorder>() }
}

extern "C" fn on_state(user: *mut c_void, state: ArrowState) {
    unsafe { recorder(user) }.note(Note::State(state));
}

extern "C" fn on_scan(user: *mut c_void, report: *const ArrowScanReport) {
    unsafe { recorder(user) }.note(Note::Scan(unsafe { *report }));
}

extern "C" fn on_log(user: *mut c_void, level: ArrowLogLevel, line: *const c_char) {
    let line = unsafe { CStr::from_ptr(line) }
        .to_string_lossy()
        .into_owned();
    unsafe { recorder(user) }.note(Note::Log(level, line));
}

extern "C" fn load_identity(user: *mut c_void, buf: *mut u8, len: usize) -> isize {
    let recorder = unsafe { recorder(user) };
    match recorder.identity.lock().unwrap().as_deref() {
        None => 0,
        Some(identity) => {
            assert!(identity.len() <= len);
            unsafe { std::ptr::copy_nonoverlapping(identity.as_ptr(), buf, identity.len()) };
            identity.len() as isize
        }
    }
}

extern "C" fn store_identity(user: *mut c_void, data: *const u8, len: usize) -> i32 {
    let identity = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    *unsafe { recorder(user) }.identity.lock().unwrap() = Some(identity);
    0
}

extern "C" fn store_status(user: *mut c_void, data: *const u8, len: usize) -> i32 {
    let text = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(data, len) });
    unsafe { recorder(user) }.note(Note::Status(text.into_owned()));
    0
}

/// The notes until `pred` accepts one (returned with all before it), within [`WAIT`] in
/// all.
fn notes_until(
    rx: &Receiver<(Note, Option<String>)>,
    pred: impl Fn(&Note) -> bool,
) -> Vec<(Note, Option<String>)> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(note) => {
                let done = pred(&note.0);
                seen.push(note);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!("{e}: the callbacks did not say it; they said {seen:#?}"),
        }
    }
}

#[test]
fn every_function_refuses_null_pointers_with_a_code_and_the_argument_named() {
    let mut config = null_mut();
    let mut client = null_mut();
    let mut table = null_mut();
    let mut buf = [0 as c_char; 64];
    let mut byte = 0u8;
    unsafe {
        assert_eq!(
            arrow_config_new(null(), &mut config),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "server is NULL");
        assert_eq!(
            arrow_config_new(c("a:1").as_ptr(), null_mut()),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "out is NULL");
        let calls: [(&str, ArrowResult); 20] = [
            (
                "add_ca_file",
                arrow_config_add_ca_file(null_mut(), c("x").as_ptr()),
            ),
            ("add_ca_pem", arrow_config_add_ca_pem(null_mut(), &byte, 1)),
            (
                "set_state_dir",
                arrow_config_set_state_dir(null_mut(), c("x").as_ptr()),
            ),
            ("set_storage", arrow_config_set_storage(null_mut(), null())),
            (
                "add_service",
                arrow_config_add_service(null_mut(), 4, c("a:1").as_ptr()),
            ),
            ("set_gateway", arrow_config_set_gateway(null_mut(), true)),
            (
                "set_discovery",
                arrow_config_set_discovery(null_mut(), true),
            ),
            (
                "add_target",
                arrow_config_add_discovery_target(null_mut(), c("10.0.0.1").as_ptr()),
            ),
            ("set_mac", arrow_config_set_mac(null_mut(), &byte)),
            (
                "state_callback",
                arrow_config_set_state_callback(null_mut(), None, null_mut()),
            ),
            (
                "scan_callback",
                arrow_config_set_scan_callback(null_mut(), None, null_mut()),
            ),
            (
                "log_callback",
                arrow_config_set_log_callback(null_mut(), None, null_mut(), 3),
            ),
            ("start", arrow_client_start(null(), &mut client)),
            ("stop", arrow_client_stop(null_mut())),
            (
                "uuid",
                arrow_client_uuid(null(), buf.as_mut_ptr(), buf.len()),
            ),
            ("mac", arrow_client_mac(null(), &mut byte)),
            (
                "status_json",
                arrow_client_status_json(null(), buf.as_mut_ptr(), 64, null_mut()),
            ),
            ("services", arrow_client_services(null(), &mut table)),
            ("scan_now", arrow_client_scan_now(null_mut())),
            ("table_get", arrow_service_table_get(null(), 0, null_mut())),
        ];
        for (name, code) in calls {
            assert_eq!(code, ARROW_ERROR_NULL_POINTER, "{name}");
        }
        assert!(client.is_null() && table.is_null());
        assert_eq!(arrow_service_table_len(null()), 0);
        arrow_config_free(null_mut());
        arrow_client_free(null_mut());
        arrow_service_table_free(null_mut());
        // NULL arguments of a live configuration are named too.
        let config = Config::new("localhost:8900");
        assert_eq!(
            arrow_config_add_ca_file(config.0, null()),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "path is NULL");
        assert_eq!(
            arrow_config_set_mac(config.0, null()),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "mac is NULL");
        let mut out = ArrowStatus {
            state: 0,
            active_sessions: 0,
            bytes_up: 0,
            bytes_down: 0,
        };
        assert_eq!(
            arrow_client_status(null(), &mut out),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "client is NULL");
    }
}

#[test]
fn bad_arguments_are_refused_with_a_message_that_says_why() {
    let config = Config::new("localhost:8900");
    let invalid = |code: ArrowResult, says: &str| {
        assert_eq!(code, ARROW_ERROR_INVALID_ARGUMENT, "{says}");
        let message = last_error();
        assert!(message.contains(says), "{message:?} does not say {says:?}");
    };
    let mut out = null_mut();
    unsafe {
        invalid(
            arrow_config_new(c("no-port").as_ptr(), &mut out),
            "expected HOST:PORT",
        );
        assert!(out.is_null());
        invalid(
            arrow_config_new(c(":8900").as_ptr(), &mut out),
            "expected HOST:PORT",
        );
        let not_utf8 = [0xffu8, 0];
        invalid(
            arrow_config_set_state_dir(config.0, not_utf8.as_ptr().cast()),
            "dir is not UTF-8",
        );
        invalid(
            arrow_config_add_service(config.0, 99, c("a:1").as_ptr()),
            "unknown service kind 99",
        );
        invalid(
            arrow_config_add_service(config.0, ARROW_SERVICE_KIND_TCP, c("a").as_ptr()),
            "expected HOST:PORT",
        );
        ok(arrow_config_add_service(
            config.0,
            ARROW_SERVICE_KIND_TCP,
            c("a:1").as_ptr(),
        ));
        invalid(
            arrow_config_add_service(config.0, ARROW_SERVICE_KIND_TCP, c("a:1").as_ptr()),
            "given twice",
        );
        ok(arrow_config_add_service(
            config.0,
            ARROW_SERVICE_KIND_RTSP,
            c("rtsp://u:secret@10.0.0.5/live").as_ptr(),
        ));
        invalid(
            arrow_config_set_log_callback(config.0, Some(on_log), null_mut(), 0),
            "unknown log level 0",
        );
        invalid(
            arrow_config_add_discovery_target(config.0, c("10.0.0.0/33").as_ptr()),
            "expected A.B.C.D",
        );
        ok(arrow_config_add_discovery_target(
            config.0,
            c("10.0.0.7").as_ptr(),
        ));
        let garbage = b"not a certificate";
        invalid(
            arrow_config_add_ca_pem(config.0, garbage.as_ptr(), garbage.len()),
            "no certificate",
        );
        let missing = c("/nonexistent/ca.pem");
        assert_eq!(
            arrow_config_add_ca_file(config.0, missing.as_ptr()),
            ARROW_ERROR_CONFIG
        );
        assert!(last_error().contains("/nonexistent/ca.pem: cannot read it"));
        // Storage without the identity callbacks.
        let storage = ArrowStorage {
            user: null_mut(),
            load_identity: None,
            store_identity: Some(store_identity),
            store_status: None,
        };
        assert_eq!(
            arrow_config_set_storage(config.0, &storage),
            ARROW_ERROR_NULL_POINTER
        );
        assert_eq!(last_error(), "storage->load_identity is NULL");
        // A buffer too small for the message is filled and terminated, snprintf-like.
        let mut small = [1 as c_char; 8];
        let n = arrow_last_error_message(small.as_mut_ptr(), small.len());
        assert_eq!(n, "storage->load_identity is NULL".len());
        assert_eq!(CStr::from_ptr(small.as_ptr()).to_bytes(), b"storage");
        assert_eq!(arrow_last_error_message(null_mut(), 0), n);
        let name = CStr::from_ptr(arrow_result_name(ARROW_ERROR_NULL_POINTER));
        assert_eq!(name, c"ARROW_ERROR_NULL_POINTER");
        assert_eq!(arrow_api_version(), ARROW_API_VERSION);
        let version = CStr::from_ptr(arrow_library_version()).to_str().unwrap();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn a_configuration_that_cannot_run_fails_the_start_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let peers = Peers::start();
    let with_ca = || {
        let config = Config::new("127.0.0.1:9");
        let pem = peers.ca_pem.as_bytes();
        ok(unsafe { arrow_config_add_ca_pem(config.0, pem.as_ptr(), pem.len()) });
        config
    };
    let no_ca = Config::new("127.0.0.1:9").state_dir(dir.path());
    let (code, message) = no_ca.start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_CONFIG);
    assert!(message.contains("no CA certificate"), "{message}");

    let (code, message) = with_ca().start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_CONFIG);
    assert!(
        message.contains("neither a state directory nor storage"),
        "{message}"
    );

    let (recorder, _) = Recorder::new();
    let both = with_ca().state_dir(dir.path());
    ok(unsafe { arrow_config_set_storage(both.0, &recorder.storage()) });
    let (code, message) = both.start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_CONFIG);
    assert!(message.contains("both"), "{message}");

    // Storage whose identity is not one.
    *recorder.identity.lock().unwrap() = Some(b"{\"uuid\": 1}".to_vec());
    let storage = with_ca();
    ok(unsafe { arrow_config_set_storage(storage.0, &recorder.storage()) });
    let (code, message) = storage.start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_STORAGE);
    assert!(
        message.contains("the stored identity: not an identity"),
        "{message}"
    );

    // A state directory that is a file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let (code, message) = with_ca().state_dir(&file).start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_STATE, "{message}");
}

#[test]
fn a_second_client_on_the_same_state_directory_is_refused_and_stop_is_idempotent() {
    let peers = Peers::start();
    let dir = tempfile::tempdir().unwrap();
    // The service is not there: the client keeps retrying, which is what this needs.
    let config = Config::new("127.0.0.1:9").state_dir(dir.path());
    let pem = peers.ca_pem.as_bytes();
    ok(unsafe { arrow_config_add_ca_pem(config.0, pem.as_ptr(), pem.len()) });
    let mac = [0x02, 0, 0, 0, 0, 0x2a];
    ok(unsafe { arrow_config_set_mac(config.0, mac.as_ptr()) });
    let first = config.start().unwrap();
    let (code, message) = config.start().err().unwrap();
    assert_eq!(code, ARROW_ERROR_STATE_LOCKED);
    assert!(
        message.contains("in use by another Arrow client"),
        "{message}"
    );

    let uuid = first.uuid();
    assert_eq!(uuid.len(), ARROW_UUID_SIZE - 1);
    let identity = std::fs::read_to_string(dir.path().join("identity.json")).unwrap();
    assert!(identity.contains(&uuid));
    let mut small = [0 as c_char; ARROW_UUID_SIZE - 1];
    let code = unsafe { arrow_client_uuid(first.0, small.as_mut_ptr(), small.len()) };
    assert_eq!(code, ARROW_ERROR_BUFFER_TOO_SMALL);
    assert!(last_error().contains("37 are needed"));
    let mut got = [0u8; 6];
    ok(unsafe { arrow_client_mac(first.0, got.as_mut_ptr()) });
    assert_eq!(got, mac);
    assert_eq!(
        unsafe { arrow_client_scan_now(first.0) },
        ARROW_ERROR_DISCOVERY_OFF
    );
    let mut needed = 0;
    let code = unsafe { arrow_client_status_json(first.0, null_mut(), 0, &mut needed) };
    assert_eq!(code, ARROW_ERROR_BUFFER_TOO_SMALL);
    // The client is retrying meanwhile, so its status (its last error) can grow between
    // two calls: grow the buffer to what the last call needed and ask again, as a C
    // caller would.
    let mut json = Vec::new();
    for _ in 0..10 {
        json = vec![0 as c_char; needed + 64];
        let code = unsafe {
            arrow_client_status_json(first.0, json.as_mut_ptr(), json.len(), &mut needed)
        };
        if code != ARROW_ERROR_BUFFER_TOO_SMALL {
            ok(code);
            break;
        }
    }
    let json = unsafe { CStr::from_ptr(json.as_ptr()) }.to_str().unwrap();
    assert!(json.contains(&format!("\"uuid\": \"{uuid}\"")), "{json}");

    ok(unsafe { arrow_client_stop(first.0) });
    ok(unsafe { arrow_client_stop(first.0) });
    assert_eq!(first.status().state, ARROW_STATE_STOPPED);
    // The lock went with the first client.
    let second = config.start().unwrap();
    assert_eq!(second.uuid(), uuid, "the identity is kept in the directory");
}

#[test]
fn a_client_registers_through_the_api_and_every_callback_runs_on_the_callback_thread() {
    let mut peers = Peers::start();
    let (recorder, rx) = Recorder::new();
    let config = Config::for_peers(&peers);
    ok(unsafe { arrow_config_set_storage(config.0, &recorder.storage()) });
    recorder.attach(&config);
    let client = config.start().unwrap();
    drop(config);
    let stored = recorder
        .identity
        .lock()
        .unwrap()
        .clone()
        .expect("a new identity was stored");
    let stored = String::from_utf8(stored).unwrap();
    assert!(stored.contains(&client.uuid()), "{stored}");

    let mut seen = notes_until(&rx, |n| *n == Note::State(ARROW_STATE_CONNECTED));
    let port = peers.exposed_port();
    assert_eq!(peers.echo_through(port, b"ping"), b"ping");
    let services = client.services();
    assert_eq!(
        services,
        [(
            ARROW_SERVICE_KIND_TCP,
            peers.echo.to_string(),
            String::new(),
            false
        )]
    );
    assert_eq!(client.status().state, ARROW_STATE_CONNECTED);

    ok(unsafe { arrow_client_stop(client.0) });
    // After stop nothing is called any more: what is queued is all there is.
    seen.extend(rx.try_iter());
    let states: Vec<ArrowState> = seen
        .iter()
        .filter_map(|(n, _)| match n {
            Note::State(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [
            ARROW_STATE_CONNECTING,
            ARROW_STATE_CONNECTED,
            ARROW_STATE_STOPPED
        ]
    );
    assert!(
        seen.iter().any(
            |(n, _)| matches!(n, Note::Log(ARROW_LOG_LEVEL_INFO, l) if l.ends_with("registered"))
        ),
        "{seen:#?}"
    );
    let last_status = seen
        .iter()
        .rev()
        .find_map(|(n, _)| match n {
            Note::Status(s) => Some(s.clone()),
            _ => None,
        })
        .expect("status documents were stored");
    assert!(
        last_status.contains("\"state\": \"stopped\""),
        "{last_status}"
    );
    let threads: std::collections::BTreeSet<Option<String>> =
        seen.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(
        threads,
        [Some("arrow-callbacks".to_string())].into(),
        "every callback on the callback thread"
    );

    // The next start loads the identity the storage kept.
    let uuid = client.uuid();
    drop(client);
    let config = Config::for_peers(&peers);
    ok(unsafe { arrow_config_set_storage(config.0, &recorder.storage()) });
    let again = config.start().unwrap();
    assert_eq!(again.uuid(), uuid);
}

extern "C" fn stop_from_a_callback(user: *mut c_void, state: ArrowState) {
    let recorder = unsafe { recorder(user) };
    if state == ARROW_STATE_CONNECTED {
        let client = recorder.client();
        let stop = unsafe { arrow_client_stop(client) };
        unsafe { arrow_client_free(client) };
        let free = if last_error().contains("arrow_client_free cannot be called from a callback") {
            ARROW_ERROR_WRONG_THREAD
        } else {
            ARROW_OK
        };
        // Calls that do not wait for the callback thread are fine here.
        let mut status = std::mem::MaybeUninit::<ArrowStatus>::uninit();
        let status = unsafe { arrow_client_status(client, status.as_mut_ptr()) };
        recorder
            .calls
            .lock()
            .unwrap()
            .extend([("stop", stop), ("free", free), ("status", status)]);
    }
    recorder.note(Note::State(state));
}

#[test]
fn stop_and_free_from_a_callback_are_refused_not_deadlocked() {
    let peers = Peers::start();
    let (recorder, rx) = Recorder::new();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_peers(&peers).state_dir(dir.path());
    ok(unsafe {
        arrow_config_set_state_callback(config.0, Some(stop_from_a_callback), recorder.user())
    });
    // The callback waits until the client is published.
    let client = config.start().unwrap();
    recorder.publish(client.0);
    notes_until(&rx, |n| *n == Note::State(ARROW_STATE_CONNECTED));
    let calls = recorder.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            ("stop", ARROW_ERROR_WRONG_THREAD),
            ("free", ARROW_ERROR_WRONG_THREAD),
            ("status", ARROW_OK)
        ]
    );
    ok(unsafe { arrow_client_stop(client.0) });
}

#[test]
fn discovery_reports_each_scan_and_scan_now_starts_another() {
    let peers = Peers::start();
    let (recorder, rx) = Recorder::new();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_peers(&peers).state_dir(dir.path());
    // 127.0.0.2 only: a scan that sends nothing beyond loopback.
    unsafe {
        ok(arrow_config_set_discovery(config.0, true));
        ok(arrow_config_add_discovery_target(
            config.0,
            c("127.0.0.2/32").as_ptr(),
        ));
        ok(arrow_config_set_scan_callback(
            config.0,
            Some(on_scan),
            recorder.user(),
        ));
    }
    let client = config.start().unwrap();
    let finished = |n: &Note| matches!(n, Note::Scan(r) if !r.running);
    let first = notes_until(&rx, finished);
    assert!(
        matches!(first[0].0, Note::Scan(r) if r.running),
        "{first:#?}"
    );
    ok(unsafe { arrow_client_scan_now(client.0) });
    let second = notes_until(&rx, finished);
    assert_eq!(second.len(), 2, "one start and one end: {second:#?}");
    let Note::Scan(end) = &second[1].0 else {
        unreachable!()
    };
    assert_eq!(end.services, 0, "no camera listens on 127.0.0.2: {end:?}");
}
