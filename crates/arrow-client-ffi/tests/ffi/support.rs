//! Real peers for the tests, on 127.0.0.1: the development Arrow Service and an echo
//! server on a runtime of their own (the tests themselves are plain threads, like C), and
//! the C example built with the system's C compiler.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arrow_client::dev_service::{DevCertificates, DevService, ServiceConfig, ServiceEvent};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Every wait in these tests is bounded by this (valgrind makes the client slow).
pub(crate) const WAIT: Duration = Duration::from_secs(120);

/// The development service with its CA in a file, and an echo server.
pub(crate) struct Peers {
    pub(crate) runtime: tokio::runtime::Runtime,
    service: Option<DevService>,
    events: mpsc::UnboundedReceiver<ServiceEvent>,
    /// The service's TLS address.
    pub(crate) addr: SocketAddr,
    /// The CA, as PEM.
    pub(crate) ca_pem: String,
    /// The echo server.
    pub(crate) echo: SocketAddr,
    /// Scratch space: `ca.pem`, state directories, the built example.
    pub(crate) dir: tempfile::TempDir,
}

impl Peers {
    pub(crate) fn start() -> Peers {
        Self::start_with(|config| config)
    }

    /// With a service that offers only ChaCha20-Poly1305, for valgrind: memcheck 3.19
    /// misreads ring's AES-NI and CLMUL assembly, and calls the AES-GCM tags it computes
    /// uninitialised (the peer checks them, so they are right); the ChaCha20 code it reads
    /// correctly, so the run checks our code and not valgrind's model of AES-NI.
    pub(crate) fn start_chacha20() -> Peers {
        Self::start_with(|mut config| {
            config.tls = chacha20_only(&config.tls);
            config
        })
    }

    /// With the service's configuration changed by `tune` (an allow-list, say).
    pub(crate) fn start_with(tune: impl FnOnce(ServiceConfig) -> ServiceConfig) -> Peers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &certs.ca_pem).unwrap();
        let (service, events, echo) = runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let (tx, events) = mpsc::unbounded_channel();
            let config = tune(ServiceConfig::new(certs.server_config().unwrap()));
            let service = DevService::spawn(listener, config, tx).unwrap();
            (service, events, echo_server().await)
        });
        Peers {
            runtime,
            addr: service.local_addr(),
            service: Some(service),
            events,
            ca_pem: certs.ca_pem,
            echo,
            dir,
        }
    }

    /// `127.0.0.1:PORT` of the service.
    pub(crate) fn server(&self) -> String {
        self.addr.to_string()
    }

    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The next service event that `pred` accepts (others are skipped), within [`WAIT`].
    pub(crate) fn wait_for(&mut self, pred: impl Fn(&ServiceEvent) -> bool) -> ServiceEvent {
        let events = &mut self.events;
        self.runtime.block_on(async {
            tokio::time::timeout(WAIT, async {
                loop {
                    match events.recv().await {
                        Some(event) if pred(&event) => return event,
                        Some(_) => {}
                        None => panic!("the development service is gone"),
                    }
                }
            })
            .await
            .expect("the development service did not see it in time")
        })
    }

    /// The port the service exposes the next client service on.
    pub(crate) fn exposed_port(&mut self) -> u16 {
        match self.wait_for(|e| matches!(e, ServiceEvent::PortExposed { .. })) {
            ServiceEvent::PortExposed { service, .. } => service.port,
            _ => unreachable!(),
        }
    }

    /// Sends `message` through the tunnel on `port` and returns what comes back.
    pub(crate) fn echo_through(&self, port: u16, message: &[u8]) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        self.runtime.block_on(async {
            tokio::time::timeout(WAIT, async {
                let mut user = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                user.write_all(message).await.unwrap();
                let mut back = vec![0; message.len()];
                user.read_exact(&mut back).await.unwrap();
                back
            })
            .await
            .expect("no echo in time")
        })
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        if let Some(service) = self.service.take() {
            self.runtime.block_on(service.stop());
        }
    }
}

/// `config`'s certificate, offered with the ChaCha20-Poly1305 suites only.
fn chacha20_only(config: &rustls::ServerConfig) -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::crypto::ring::{cipher_suite, default_provider};
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..default_provider()
    };
    let mut chacha = rustls::ServerConfig::builder_with_provider(provider.into())
        .with_protocol_versions(arrow_client::tls::PROTOCOL_VERSIONS)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(config.cert_resolver.clone());
    chacha.alpn_protocols.clone_from(&config.alpn_protocols);
    std::sync::Arc::new(chacha)
}

/// An echo server: every connection gets its bytes back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// The crate's own folder.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the libraries to link are: `ARROW_CLIENT_FFI_LIB_DIR` when set (`cargo xtask ci`
/// points it at `target/release`), else the folder of this build's profile, where cargo
/// put them while building this test.
pub(crate) fn lib_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ARROW_CLIENT_FFI_LIB_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/ffi-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .to_path_buf()
}

/// The shared library's SONAME on Linux: named after the C API's version.
pub(crate) fn soname() -> String {
    format!(
        "libarrow_client_ffi.so.{}",
        arrow_client_ffi::ARROW_API_VERSION
    )
}

/// How the example is linked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Link {
    /// `libarrow_client_ffi.a` and the system libraries the docs name.
    Static,
    /// `-larrow_client_ffi`, found at run time through an rpath.
    Shared,
}

/// Builds `examples/tunnel.c` with the system's C compiler (`CC`, else `cc`), warnings
/// as errors, into `out`; returns the program.
pub(crate) fn build_tunnel(link: Link, out: &Path) -> PathBuf {
    let lib = lib_dir();
    let program = out.join(format!("tunnel-{link:?}").to_lowercase());
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("examples/tunnel.c"))
        .arg("-o")
        .arg(&program);
    match link {
        Link::Static => {
            let archive = lib.join("libarrow_client_ffi.a");
            assert!(
                archive.exists(),
                "{} is missing: `cargo build -p arrow-client-ffi` makes it",
                archive.display()
            );
            cmd.arg(archive)
                .args(arrow_client_ffi::STATIC_LINK_LIBS.split_whitespace());
        }
        Link::Shared => {
            assert!(
                lib.join("libarrow_client_ffi.so").exists(),
                "{}/libarrow_client_ffi.so is missing: `cargo build -p arrow-client-ffi` makes it",
                lib.display()
            );
            // The loader looks the library up by its SONAME, which cargo does not make.
            let soname = lib.join(soname());
            match std::os::unix::fs::symlink("libarrow_client_ffi.so", &soname) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("cannot link {}: {e}", soname.display()),
            }
            cmd.arg("-L")
                .arg(&lib)
                .arg("-larrow_client_ffi")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc}: {e}"));
    assert!(
        output.status.success(),
        "{cc} failed on tunnel.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    program
}

/// A program running under a test: its output goes to files, a thread waits for it, and
/// it is killed and reaped however the test ends.
pub(crate) struct Running {
    pid: u32,
    done: std::sync::mpsc::Receiver<std::process::ExitStatus>,
    waiter: Option<std::thread::JoinHandle<()>>,
    /// Its exit was seen (nothing is left to kill).
    exited: bool,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// How a program ended, with what it printed.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) status: std::process::ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Running {
    /// Starts `cmd`; its output goes to `<dir>/<name>.stdout` and `.stderr`.
    pub(crate) fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Running {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let pid = child.id();
        let (tx, done) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(status);
            }
        });
        Running {
            pid,
            done,
            waiter: Some(waiter),
            exited: false,
            stdout,
            stderr,
        }
    }

    /// Sends `signal` (`TERM`, `INT`, ...).
    pub(crate) fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {}", self.pid);
    }

    /// Waits for the program to end, within [`WAIT`] (else kills it and fails, with its
    /// output).
    pub(crate) fn wait(mut self) -> Ended {
        let status = self.done.recv_timeout(WAIT);
        self.exited = status.is_ok();
        self.reap();
        Ended {
            status: status.unwrap_or_else(|_| {
                panic!(
                    "the program did not end in time; stderr:\n{}",
                    self.stderr_text()
                )
            }),
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: self.stderr_text(),
        }
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Kills the program if it still runs, and joins the thread that reaps it.
    fn reap(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            if !self.exited {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(self.pid.to_string())
                    .status();
            }
            let _ = waiter.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.reap();
    }
}
