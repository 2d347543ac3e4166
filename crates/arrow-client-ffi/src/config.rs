//! The configuration a client starts from: `arrow_config_new`, the setters, and
//! `arrow_config_free`.
//!
//! A configuration is a plain value owned by the caller: [`arrow_client_start`] reads it
//! and keeps nothing of it, so it may be freed (or changed and used again) right after.
//! Every setter checks its arguments at once: a CA file that cannot be read, PEM without
//! a certificate, a service that does not parse fail the setter, not the start.
//!
//! [`arrow_client_start`]: crate::arrow_client_start

use std::ffi::{c_char, c_void};
use std::path::PathBuf;

use arrow_client::identity::MacAddr;
use arrow_client::service_table::{ServiceKind, ServiceSpec, split_host_port};
use ipnet::Ipv4Net;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::callbacks::{ArrowLogCallback, ArrowScanCallback, ArrowStateCallback, Callbacks};
use crate::cstr::{mut_arg, ref_arg, text_arg};
use crate::error::{ArrowResult, FfiError, guard, guard_or};
use crate::storage::ArrowStorage;

/// The kind of a service: how the Arrow Service talks to it.
pub type ArrowServiceKind = u32;

/// RTSP: `rtsp://[USER:PASS@]HOST[:PORT][/PATH]` (credentials make it locked, and are not
/// kept).
pub const ARROW_SERVICE_KIND_RTSP: ArrowServiceKind = 1;
/// HTTP: `HOST:PORT`.
pub const ARROW_SERVICE_KIND_HTTP: ArrowServiceKind = 2;
/// HTTP with a Motion JPEG stream: `http://[USER:PASS@]HOST[:PORT][/PATH]`.
pub const ARROW_SERVICE_KIND_MJPEG: ArrowServiceKind = 3;
/// Plain TCP forwarding: `HOST:PORT`.
pub const ARROW_SERVICE_KIND_TCP: ArrowServiceKind = 4;

/// The C kind of a service kind, and back.
pub(crate) fn kind_code(kind: ServiceKind) -> ArrowServiceKind {
    match kind {
        ServiceKind::Rtsp => ARROW_SERVICE_KIND_RTSP,
        ServiceKind::Http => ARROW_SERVICE_KIND_HTTP,
        ServiceKind::Mjpeg => ARROW_SERVICE_KIND_MJPEG,
        ServiceKind::Tcp => ARROW_SERVICE_KIND_TCP,
    }
}

/// A client's configuration (opaque): made by `arrow_config_new`, freed by
/// `arrow_config_free`.
pub struct ArrowConfig {
    /// `HOST:PORT` of the Arrow Service.
    pub(crate) server: String,
    /// The CA certificates the service's certificate must chain to.
    pub(crate) ca: Vec<CertificateDer<'static>>,
    /// Identity, status file and lock.
    pub(crate) state_dir: Option<PathBuf>,
    /// Identity and status kept by the caller instead.
    pub(crate) storage: Option<ArrowStorage>,
    /// The static services.
    pub(crate) services: Vec<ServiceSpec>,
    /// Sessions may reach other hosts than this one.
    pub(crate) gateway: bool,
    /// Scan the LAN for cameras.
    pub(crate) discovery: bool,
    /// What the scans sweep instead of the interfaces' subnets.
    pub(crate) discovery_targets: Vec<Ipv4Net>,
    /// The MAC to register with.
    pub(crate) mac: Option<MacAddr>,
    /// The callbacks and their user pointers.
    pub(crate) callbacks: Callbacks,
}

/// Makes a configuration for the Arrow Service at `server` (`HOST:PORT`; HOST is also
/// the name its certificate must carry) into `*out`. Free it with `arrow_config_free`.
///
/// The defaults: no CA (one is needed), no state directory or storage (one of them is
/// needed), no service, gateway mode off, discovery off, the MAC of the first network
/// card (else one derived from the UUID), no callbacks.
///
/// # Safety
/// `server` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_new(
    server: *const c_char,
    out: *mut *mut ArrowConfig,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { mut_arg(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller's contract.
        let server = unsafe { text_arg(server, "server") }?;
        match split_host_port(server) {
            Some((host, Some(_))) if !host.is_empty() => {}
            _ => {
                return Err(FfiError::Invalid(format!(
                    "server {server:?}: expected HOST:PORT"
                )));
            }
        }
        let config = ArrowConfig {
            server: server.to_string(),
            ca: Vec::new(),
            state_dir: None,
            storage: None,
            services: Vec::new(),
            gateway: false,
            discovery: false,
            discovery_targets: Vec::new(),
            mac: None,
            callbacks: Callbacks::default(),
        };
        *out = Box::into_raw(Box::new(config));
        Ok(())
    })
}

/// Frees a configuration; NULL is ignored. Clients started from it keep running.
///
/// # Safety
/// `config` must be NULL or come from `arrow_config_new`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_free(config: *mut ArrowConfig) {
    guard_or((), || {
        if !config.is_null() {
            // SAFETY: made by Box::into_raw in arrow_config_new, freed once.
            drop(unsafe { Box::from_raw(config) });
        }
    });
}

/// Runs `body` on the configuration behind `config`.
///
/// # Safety
/// `config` must be NULL or a live configuration used by no other thread meanwhile.
unsafe fn with_config(
    config: *mut ArrowConfig,
    body: impl FnOnce(&mut ArrowConfig) -> Result<(), FfiError>,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { mut_arg(config, "config") }?;
        body(config)
    })
}

/// The certificates in PEM text, at least one; `what` names the source in errors.
fn pem_certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, FfiError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FfiError::Invalid(format!("{what}: not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(FfiError::Invalid(format!(
            "{what}: no certificate in it (expected -----BEGIN CERTIFICATE----- blocks)"
        )));
    }
    Ok(certs)
}

/// Trusts the CA certificates in the PEM file at `path` (read now). May be given more
/// than once, and with `arrow_config_add_ca_pem`: every CA given is trusted.
///
/// # Safety
/// `config` must be NULL or a live configuration; `path` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_add_ca_file(
    config: *mut ArrowConfig,
    path: *const c_char,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let path = text_arg(path, "path")?;
            let pem = std::fs::read(path)
                .map_err(|e| FfiError::Config(format!("CA file {path}: cannot read it: {e}")))?;
            config
                .ca
                .extend(pem_certificates(&pem, &format!("CA file {path}"))?);
            Ok(())
        })
    }
}

/// Trusts the CA certificates in `len` bytes of PEM text at `pem` (copied now).
///
/// # Safety
/// `config` must be NULL or a live configuration; `pem` NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_add_ca_pem(
    config: *mut ArrowConfig,
    pem: *const u8,
    len: usize,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            if pem.is_null() {
                return Err(FfiError::Null("pem"));
            }
            // SAFETY: not NULL, `len` readable bytes by the caller's contract.
            let pem = std::slice::from_raw_parts(pem, len);
            config.ca.extend(pem_certificates(pem, "CA PEM")?);
            Ok(())
        })
    }
}

/// Keeps the identity (`identity.json`, made on first start), the status
/// (`status.json`) and the lock that keeps a second client off in the directory `dir`
/// (made with mode 0700 when missing). Give this or `arrow_config_set_storage`.
///
/// # Safety
/// `config` must be NULL or a live configuration; `dir` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_state_dir(
    config: *mut ArrowConfig,
    dir: *const c_char,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let dir = text_arg(dir, "dir")?;
            if dir.is_empty() {
                return Err(FfiError::Invalid("dir is empty".into()));
            }
            config.state_dir = Some(PathBuf::from(dir));
            Ok(())
        })
    }
}

/// Keeps the identity and the status through the caller's callbacks instead of a state
/// directory (copied now; see `ArrowStorage`). Give this or
/// `arrow_config_set_state_dir`. NULL removes storage set before.
///
/// # Safety
/// `config` must be NULL or a live configuration; `storage` NULL or a readable
/// `ArrowStorage`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_storage(
    config: *mut ArrowConfig,
    storage: *const ArrowStorage,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            config.storage = match storage.as_ref() {
                None => None,
                Some(storage) => {
                    storage.check()?;
                    Some(*storage)
                }
            };
            Ok(())
        })
    }
}

/// Exposes a local service: `target` is `HOST:PORT` for `ARROW_SERVICE_KIND_TCP` and
/// `ARROW_SERVICE_KIND_HTTP`, a URL for `ARROW_SERVICE_KIND_RTSP`
/// (`rtsp://[USER:PASS@]HOST[:PORT][/PATH]`) and `ARROW_SERVICE_KIND_MJPEG`
/// (`http://...`). Host names are resolved on each connection attempt. A stream URL
/// without a path is probed for one at start.
///
/// # Safety
/// `config` must be NULL or a live configuration; `target` NULL or a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_add_service(
    config: *mut ArrowConfig,
    kind: ArrowServiceKind,
    target: *const c_char,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let target = text_arg(target, "target")?;
            let invalid = |e: arrow_client::Error| FfiError::Invalid(e.to_string());
            let spec = match kind {
                ARROW_SERVICE_KIND_TCP => ServiceSpec::host_port(ServiceKind::Tcp, target),
                ARROW_SERVICE_KIND_HTTP => ServiceSpec::host_port(ServiceKind::Http, target),
                ARROW_SERVICE_KIND_RTSP => ServiceSpec::url(ServiceKind::Rtsp, target),
                ARROW_SERVICE_KIND_MJPEG => ServiceSpec::url(ServiceKind::Mjpeg, target),
                other => {
                    return Err(FfiError::Invalid(format!("unknown service kind {other}")));
                }
            }
            .map_err(invalid)?;
            if config.services.contains(&spec) {
                return Err(FfiError::Invalid(format!("service {spec} is given twice")));
            }
            config.services.push(spec);
            Ok(())
        })
    }
}

/// Gateway mode (REGISTER flag 0x1): sessions may reach services on other hosts than
/// this one. Off by default: a session to a service that is not on this host is refused.
///
/// # Safety
/// `config` must be NULL or a live configuration.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_gateway(
    config: *mut ArrowConfig,
    on: bool,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            config.gateway = on;
            Ok(())
        })
    }
}

/// Discovery: scan the LAN for cameras at start, every 5 minutes, when the service asks
/// and on `arrow_client_scan_now`, and announce what is
/// found. Off by default. A scan sweeps the IPv4 subnets of every non-loopback interface
/// (at most a /22), or only the targets given with
/// `arrow_config_add_discovery_target`.
///
/// # Safety
/// `config` must be NULL or a live configuration.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_discovery(
    config: *mut ArrowConfig,
    on: bool,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            config.discovery = on;
            Ok(())
        })
    }
}

/// Scans sweep `network` (`A.B.C.D` or `A.B.C.D/N`, IPv4) instead of the interfaces'
/// subnets; may be given more than once. Only used with discovery on.
///
/// # Safety
/// `config` must be NULL or a live configuration; `network` NULL or a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_add_discovery_target(
    config: *mut ArrowConfig,
    network: *const c_char,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let text = text_arg(network, "network")?;
            let net = text
                .parse::<Ipv4Net>()
                .or_else(|_| text.parse::<std::net::Ipv4Addr>().map(Ipv4Net::from))
                .map_err(|_| {
                    FfiError::Invalid(format!(
                        "discovery target {text:?}: expected A.B.C.D or A.B.C.D/N"
                    ))
                })?;
            config.discovery_targets.push(net);
            Ok(())
        })
    }
}

/// The MAC address to register with (6 bytes at `mac`), instead of the first network
/// card's.
///
/// # Safety
/// `config` must be NULL or a live configuration; `mac` NULL or 6 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_mac(
    config: *mut ArrowConfig,
    mac: *const u8,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let mac = ref_arg(mac.cast::<[u8; 6]>(), "mac")?;
            config.mac = Some(MacAddr(*mac));
            Ok(())
        })
    }
}

/// Calls `callback(user, state)` on the callback thread each time the link to the
/// service changes state (see `ArrowState`). NULL removes it.
///
/// # Safety
/// `config` must be NULL or a live configuration. `user` is passed back as is; it must
/// stay usable by `callback` until `arrow_client_stop` returns.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_state_callback(
    config: *mut ArrowConfig,
    callback: ArrowStateCallback,
    user: *mut c_void,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            config.callbacks.state = callback.map(|f| (f, user.into()));
            Ok(())
        })
    }
}

/// Calls `callback(user, report)` on the callback thread when a scan starts and when it
/// ends (see `ArrowScanReport`). NULL removes it.
///
/// # Safety
/// As `arrow_config_set_state_callback`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_scan_callback(
    config: *mut ArrowConfig,
    callback: ArrowScanCallback,
    user: *mut c_void,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            config.callbacks.scan = callback.map(|f| (f, user.into()));
            Ok(())
        })
    }
}

/// Calls `callback(user, level, line)` on the callback thread for each log line of the
/// client at `max_level` or more severe (`ARROW_LOG_LEVEL_ERROR` .. `ARROW_LOG_LEVEL_TRACE`).
/// `line` is valid during the call only. NULL removes it. Without a log callback the
/// client logs nothing.
///
/// # Safety
/// As `arrow_config_set_state_callback`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_config_set_log_callback(
    config: *mut ArrowConfig,
    callback: ArrowLogCallback,
    user: *mut c_void,
    max_level: crate::log_level::ArrowLogLevel,
) -> ArrowResult {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        with_config(config, |config| {
            let level = crate::log::level_filter(max_level)?;
            config.callbacks.log = callback.map(|f| (f, user.into(), level));
            Ok(())
        })
    }
}
