//! A running client: `arrow_client_start`, `arrow_client_stop`, `arrow_client_free`, and
//! what can be asked of it meanwhile.
//!
//! # Threads
//!
//! `arrow_client_start` starts two threads and returns: `arrow-client`, which runs the
//! client on a tokio runtime of its own (with tokio's blocking pool for DNS lookups and
//! status writes), and `arrow-callbacks`, which runs every callback
//! ([`crate::callbacks`]). `arrow_client_stop` asks for the orderly shutdown `protoctl
//! arrow run` does on SIGTERM (no new session, open sessions end once what they hold is
//! delivered, TLS closes with close_notify, the status says `stopped`), waits for it, and
//! joins both threads: after it returns no callback runs and no thread of the client is
//! left.

use std::ffi::c_char;
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};

use arrow_client::client::{Client, ClientConfig, ClientEvent, ClientHandle, event_queue};
use arrow_client::discovery::ScanConfig;
use arrow_client::identity::MacAddr;
use rustls::RootCertStore;
use tokio::sync::mpsc;

use crate::callbacks::{ArrowState, Dispatcher, Hub, state_code};
use crate::config::ArrowConfig;
use crate::cstr::{mut_arg, ref_arg, write_text};
use crate::error::{ArrowResult, FfiError, fail, guard, guard_or, panic_message};
use crate::services::ArrowServiceTable;
use crate::storage::HubStatusStore;

/// The size of a UUID as text with its NUL: what `arrow_client_uuid` needs.
pub const ARROW_UUID_SIZE: usize = 37;

/// Events waiting between the client and the thread that hands them to the callbacks.
const EVENT_QUEUE: usize = 256;

/// A started client (opaque): made by `arrow_client_start`, stopped by
/// `arrow_client_stop`, freed by `arrow_client_free`.
pub struct ArrowClient {
    uuid: uuid::Uuid,
    mac: MacAddr,
    discovery: bool,
    handle: ClientHandle,
    hub: Arc<Hub>,
    callback_thread: ThreadId,
    /// The threads until stopped, then how the client ended.
    run: Mutex<Run>,
}

// A client may be used from several threads at once.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<ArrowClient>();
};

/// Where a client is in its life.
enum Run {
    /// Its threads run.
    Running {
        client: JoinHandle<Result<(), arrow_client::Error>>,
        callbacks: JoinHandle<()>,
    },
    /// Stopped, with how it ended.
    Stopped(Result<(), FfiError>),
}

/// The same snapshot of the status as `arrow_client_status_json`, in numbers.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrowStatus {
    /// Where the link stands (`ARROW_STATE_*`).
    pub state: ArrowState,
    /// Sessions open now.
    pub active_sessions: u64,
    /// Session bytes sent to the Arrow Service since the start.
    pub bytes_up: u64,
    /// Session bytes received from the Arrow Service since the start.
    pub bytes_down: u64,
}

/// The client configuration of `config`, and its TLS settings.
fn client_config(config: &ArrowConfig, hub: &Arc<Hub>) -> Result<ClientConfig, FfiError> {
    if config.ca.is_empty() {
        return Err(FfiError::Config(
            "no CA certificate: give one with arrow_config_add_ca_file or arrow_config_add_ca_pem"
                .into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    for cert in &config.ca {
        roots
            .add(cert.clone())
            .map_err(|e| FfiError::Config(format!("a CA certificate rustls cannot use: {e}")))?;
    }
    let tls = arrow_client::tls::client_config_with_roots(roots)?;
    let mut client = ClientConfig::new(config.server.clone(), tls);
    match (&config.state_dir, &config.storage) {
        (Some(dir), None) => client.state_dir = Some(dir.clone()),
        (None, Some(storage)) => {
            client.identity = Some(storage.identity()?);
            client.status_store = Some(Arc::new(HubStatusStore(hub.clone())));
        }
        (Some(_), Some(_)) => {
            return Err(FfiError::Config(
                "both a state directory and storage callbacks: give one of them".into(),
            ));
        }
        (None, None) => {
            return Err(FfiError::Config(
                "neither a state directory nor storage callbacks: give one of them \
                 (arrow_config_set_state_dir or arrow_config_set_storage)"
                    .into(),
            ));
        }
    }
    client.services = config.services.clone();
    client.connection.gateway = config.gateway;
    client.mac = config.mac;
    if config.discovery {
        client.discovery = Some(ScanConfig {
            targets: config.discovery_targets.clone(),
            ..ScanConfig::default()
        });
    }
    Ok(client)
}

/// Starts a client from `config` and puts it in `*out`; `config` may be freed right
/// after. Fails at once, before anything goes on the network, for an unusable
/// configuration, a state directory that cannot be used or is locked by another client,
/// or storage that fails. Everything later (an unreachable service, a host that does not
/// resolve, not being paired) is retried with backoff, and seen through the state
/// callback and `arrow_client_status`.
///
/// Stop it with `arrow_client_stop` and free it with `arrow_client_free`.
///
/// # Safety
/// `config` must be NULL or a live configuration; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_start(
    config: *const ArrowConfig,
    out: *mut *mut ArrowClient,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { mut_arg(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller's contract.
        let config = unsafe { ref_arg(config, "config") }?;
        let client = start(config)?;
        *out = Box::into_raw(Box::new(client));
        Ok(())
    })
}

fn start(config: &ArrowConfig) -> Result<ArrowClient, FfiError> {
    let (hub, rx) = Hub::new();
    let log = config
        .callbacks
        .log
        .map(|(_, _, max)| crate::log::dispatch(hub.clone(), max));
    let dispatch = log.clone().unwrap_or_else(tracing::Dispatch::none);
    let client_config =
        tracing::dispatcher::with_default(&dispatch, || client_config(config, &hub))?;
    let discovery = client_config.discovery.is_some();
    let runtime = runtime(&dispatch)?;
    let (events, event_rx) = event_queue(EVENT_QUEUE);
    let client = {
        let _entered = runtime.enter();
        tracing::dispatcher::with_default(&dispatch, || Client::spawn(client_config, events))?
    };
    let (uuid, mac, handle) = (client.uuid(), client.mac(), client.handle());
    let dispatcher = Dispatcher {
        hub: hub.clone(),
        callbacks: config.callbacks,
        status_store: config.storage.and_then(|s| s.status_callback()),
        handle: handle.clone(),
        reported: None,
    };
    let callbacks = std::thread::Builder::new()
        .name("arrow-callbacks".into())
        .spawn(move || dispatcher.run(rx))
        .map_err(|e| {
            handle.shutdown();
            FfiError::Runtime(format!("cannot start the callback thread: {e}"))
        })?;
    let callback_thread = callbacks.thread().id();
    let forward = hub.clone();
    let spawned = std::thread::Builder::new()
        .name("arrow-client".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                run(runtime, client, event_rx, &forward)
            })
        });
    let client = match spawned {
        Ok(thread) => thread,
        Err(e) => {
            // The runtime went with the closure: the client task is gone.
            hub.quit();
            let _ = callbacks.join();
            return Err(FfiError::Runtime(format!(
                "cannot start the client thread: {e}"
            )));
        }
    };
    Ok(ArrowClient {
        uuid,
        mac,
        discovery,
        handle,
        hub,
        callback_thread,
        run: Mutex::new(Run::Running { client, callbacks }),
    })
}

/// A runtime for one client: the current thread (`arrow-client`) runs its tasks, tokio's
/// blocking pool its lookups and status writes; both log through `dispatch`.
fn runtime(dispatch: &tracing::Dispatch) -> Result<tokio::runtime::Runtime, FfiError> {
    thread_local! {
        static LOG: std::cell::RefCell<Option<tracing::dispatcher::DefaultGuard>> =
            const { std::cell::RefCell::new(None) };
    }
    let on_start = dispatch.clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("arrow-client-blocking")
        .on_thread_start(move || {
            let guard = tracing::dispatcher::set_default(&on_start);
            LOG.with(|log| *log.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| {
            LOG.with(|log| log.borrow_mut().take());
        })
        .build()
        .map_err(|e| FfiError::Runtime(format!("cannot start the client's runtime: {e}")))
}

/// The `arrow-client` thread: runs the client to its end, handing its events to the
/// callback thread, then shuts the runtime down (joining its blocking threads).
fn run(
    runtime: tokio::runtime::Runtime,
    client: Client,
    mut events: mpsc::Receiver<ClientEvent>,
    hub: &Hub,
) -> Result<(), arrow_client::Error> {
    let result = runtime.block_on(async {
        let join = client.join();
        tokio::pin!(join);
        loop {
            tokio::select! {
                Some(event) = events.recv() => hub.event(event),
                result = &mut join => {
                    while let Ok(event) = events.try_recv() {
                        hub.event(event);
                    }
                    break result;
                }
            }
        }
    });
    drop(runtime);
    result
}

/// The client behind `client`, on a thread other than the callback thread when `name`
/// waits for it.
///
/// # Safety
/// `client` must be NULL or a live client.
unsafe fn client_arg<'a>(client: *const ArrowClient) -> Result<&'a ArrowClient, FfiError> {
    // SAFETY: the caller's contract.
    unsafe { ref_arg(client, "client") }
}

impl ArrowClient {
    /// Stops the client in order and joins its threads; later calls return the same
    /// outcome.
    fn stop(&self, name: &'static str) -> Result<(), FfiError> {
        if std::thread::current().id() == self.callback_thread {
            return Err(FfiError::WrongThread(name));
        }
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = match std::mem::replace(&mut *run, Run::Stopped(Ok(()))) {
            Run::Stopped(outcome) => outcome,
            Run::Running { client, callbacks } => {
                self.handle.shutdown();
                let outcome = match client.join() {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(FfiError::from(e)),
                    Err(panic) => Err(FfiError::Panic(panic_message(panic.as_ref()))),
                };
                self.hub.quit();
                let outcome = match (outcome, callbacks.join()) {
                    (Ok(()), Err(panic)) => Err(FfiError::Panic(panic_message(panic.as_ref()))),
                    (outcome, _) => outcome,
                };
                // Whatever made it fail, it is a client error now that it has stopped.
                outcome.map_err(|e| match e {
                    FfiError::Panic(_) => e,
                    other => FfiError::Client(other.to_string()),
                })
            }
        };
        *run = Run::Stopped(outcome.clone());
        outcome
    }
}

/// Stops the client in order (the shutdown of SIGTERM: no new session, open ones end
/// once what they hold is delivered, TLS closes, the status says `stopped`) and waits
/// for it and its threads: after it returns, no callback runs. Returns `ARROW_OK`, or
/// `ARROW_ERROR_CLIENT` when the client had stopped by itself with an error it could not
/// retry (the message says which). Calling it again returns the same. Not from a callback
/// (`ARROW_ERROR_WRONG_THREAD`).
///
/// # Safety
/// `client` must be NULL or a live client.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_stop(client: *mut ArrowClient) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        client.stop("arrow_client_stop")
    })
}

/// Stops the client as `arrow_client_stop` does when it still runs, and frees it; NULL
/// is ignored. From a callback it does nothing (the client stays valid) and keeps
/// `ARROW_ERROR_WRONG_THREAD` as the last error.
///
/// # Safety
/// `client` must be NULL or come from `arrow_client_start`, not freed before, and no
/// other thread may use it meanwhile or after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_free(client: *mut ArrowClient) {
    guard_or((), || {
        if client.is_null() {
            return;
        }
        // SAFETY: the caller's contract: a live client from arrow_client_start.
        let live = unsafe { &*client };
        if let Err(e @ FfiError::WrongThread(_)) = live.stop("arrow_client_free") {
            fail(e);
            return;
        }
        // SAFETY: made by Box::into_raw in arrow_client_start, freed once.
        drop(unsafe { Box::from_raw(client) });
    });
}

/// Writes the client's UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` and a NUL) into
/// `buf`, which holds `len` bytes: at least `ARROW_UUID_SIZE`.
///
/// # Safety
/// `client` must be NULL or a live client; `buf` NULL or `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_uuid(
    client: *const ArrowClient,
    buf: *mut c_char,
    len: usize,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        if buf.is_null() {
            return Err(FfiError::Null("buf"));
        }
        let text = client.uuid.hyphenated().to_string();
        // SAFETY: the caller's contract.
        unsafe { write_text(&text, buf, len, std::ptr::null_mut()) }
    })
}

/// Writes the MAC the client registers with into `out` (6 bytes).
///
/// # Safety
/// `client` must be NULL or a live client; `out` NULL or 6 writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_mac(client: *const ArrowClient, out: *mut u8) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        // SAFETY: the caller's contract: 6 writable bytes.
        let out = unsafe { mut_arg(out.cast::<[u8; 6]>(), "out") }?;
        *out = client.mac.0;
        Ok(())
    })
}

/// Fills `*out` with the status as it stands now.
///
/// # Safety
/// `client` must be NULL or a live client; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_status(
    client: *const ArrowClient,
    out: *mut ArrowStatus,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { mut_arg(out, "out") }?;
        let status = client.handle.status();
        *out = ArrowStatus {
            state: state_code(status.state),
            active_sessions: status.active_sessions,
            bytes_up: status.bytes_up,
            bytes_down: status.bytes_down,
        };
        Ok(())
    })
}

/// Writes the status as it stands now as the JSON document of `status.json` (state,
/// server, since, updated, pid, uuid, mac, active_sessions, bytes_up, bytes_down,
/// last_error, next_attempt) and a NUL into `buf` (`len` bytes). `*needed`, when
/// `needed` is not NULL, gets the bytes it takes; `ARROW_ERROR_BUFFER_TOO_SMALL` when
/// they are more than `len` (nothing is written then). 1024 bytes are enough unless the
/// last error is long. The status can change between two calls (a new error, say): on
/// `ARROW_ERROR_BUFFER_TOO_SMALL`, grow the buffer to `*needed` and call again.
///
/// # Safety
/// `client` must be NULL or a live client; `buf` NULL or `len` writable bytes; `needed`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_status_json(
    client: *const ArrowClient,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        let text = client.handle.status().to_json();
        // SAFETY: the caller's contract.
        unsafe { write_text(&text, buf, len, needed) }
    })
}

/// Puts a snapshot of the service table announced now into `*out`: the configured
/// services, resolved, and those discovery found that are still visible (empty until
/// the services first resolved). Free it with `arrow_service_table_free`.
///
/// # Safety
/// `client` must be NULL or a live client; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_services(
    client: *const ArrowClient,
    out: *mut *mut ArrowServiceTable,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { mut_arg(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        let table = ArrowServiceTable::new(&client.handle.services());
        *out = Box::into_raw(Box::new(table));
        Ok(())
    })
}

/// Asks for a scan of the LAN now, as the Arrow Service's SCAN_NETWORK does: it starts
/// at once when none runs, else right after the running one; scans asked for start at
/// most once every 30 seconds. The scan callback hears of its start and end.
/// `ARROW_ERROR_DISCOVERY_OFF` when discovery is off.
///
/// # Safety
/// `client` must be NULL or a live client.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_client_scan_now(client: *mut ArrowClient) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { client_arg(client) }?;
        if !client.discovery {
            return Err(FfiError::DiscoveryOff);
        }
        client.handle.scan_now().map_err(FfiError::from)
    })
}
