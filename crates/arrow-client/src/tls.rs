//! rustls configuration (ring provider, TLS 1.2 and 1.3) for both ends. Development
//! certificates (rcgen) are `dev_service::DevCertificates`, behind the `dev-service` feature.
//!
//! Both ends allow exactly TLS 1.3 and TLS 1.2 ([`PROTOCOL_VERSIONS`]), named here rather
//! than taken from a library default. Trust is explicit: the CA files given (`--ca`), plus
//! the platform's roots only when asked ([`SystemRoots::Trust`], `--system-roots`). A CA
//! file that cannot be read, is not PEM, or holds no certificate is a fatal
//! [`Error::Config`] naming the file and the reason, never a warning.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// The TLS versions both ends allow: 1.3 and 1.2, nothing older.
pub const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in the PEM file `path`; `what` names the file's role in errors.
fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |why: String| Error::Config(format!("{what} {}: {why}", path.display()));
    // Read first so "cannot open" and "not PEM" are told apart.
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in it (expected -----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    Ok(certs)
}

/// Whether a client also trusts the platform's root certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SystemRoots {
    /// Trust only the CA files given (the default).
    #[default]
    Ignore,
    /// Also trust the platform's roots (`--system-roots`), loaded with
    /// `rustls-native-certs` (which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`).
    Trust,
}

impl From<bool> for SystemRoots {
    fn from(trust: bool) -> Self {
        if trust {
            SystemRoots::Trust
        } else {
            SystemRoots::Ignore
        }
    }
}

fn add_ca_files(roots: &mut RootCertStore, ca_files: &[PathBuf]) -> Result<(), Error> {
    for path in ca_files {
        for cert in read_certs(path, "CA file")? {
            roots.add(cert).map_err(|e| {
                Error::Config(format!(
                    "CA file {}: not a usable CA certificate: {e}",
                    path.display()
                ))
            })?;
        }
    }
    Ok(())
}

/// Adds the platform's roots; fails when none could be loaded at all.
fn add_system_roots(
    roots: &mut RootCertStore,
    loaded: rustls_native_certs::CertificateResult,
) -> Result<(), Error> {
    for error in &loaded.errors {
        tracing::warn!(%error, "some platform root certificates could not be loaded");
    }
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    if ignored > 0 {
        tracing::warn!(
            ignored,
            "platform root certificates rustls cannot use were skipped"
        );
    }
    if added == 0 {
        let why = loaded
            .errors
            .first()
            .map_or_else(|| "none found".to_string(), ToString::to_string);
        return Err(Error::Config(format!(
            "--system-roots: no usable platform root certificate ({why})"
        )));
    }
    tracing::debug!(added, "trusting platform root certificates");
    Ok(())
}

fn roots_for(
    ca_files: &[PathBuf],
    system_roots: SystemRoots,
    load_native: impl FnOnce() -> rustls_native_certs::CertificateResult,
) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    add_ca_files(&mut roots, ca_files)?;
    if system_roots == SystemRoots::Trust {
        add_system_roots(&mut roots, load_native())?;
    }
    if roots.is_empty() {
        return Err(Error::Config(
            "no CA certificate given (--ca FILE or --system-roots)".into(),
        ));
    }
    Ok(roots)
}

/// A client configuration trusting the CA certificates in `ca_files` (PEM) and, with
/// [`SystemRoots::Trust`], the platform's roots. The server's certificate must chain to
/// one of them and name the host or IP we dial. TLS 1.2 and 1.3 only.
///
/// Every CA file must be readable and hold at least one PEM certificate: anything else
/// is an [`Error::Config`] naming the file and why.
pub fn client_config_with(
    ca_files: &[PathBuf],
    system_roots: SystemRoots,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    client_config_with_roots(roots_for(
        ca_files,
        system_roots,
        rustls_native_certs::load_native_certs,
    )?)
}

/// A client configuration trusting exactly the CA certificates in `ca_files` (PEM): the
/// same as [`client_config_with`] with [`SystemRoots::Ignore`].
pub fn client_config(ca_files: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, Error> {
    client_config_with(ca_files, SystemRoots::Ignore)
}

/// A client configuration over an already built root store (TLS 1.2 and 1.3 only).
pub fn client_config_with_roots(roots: RootCertStore) -> Result<Arc<rustls::ClientConfig>, Error> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A server configuration from a PEM certificate chain and a PEM private key.
pub fn server_config_from_files(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = read_certs(cert, "certificate file")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::Config(format!(
            "{}: cannot read a PEM private key: {e}",
            key.display()
        ))
    })?;
    server_config(chain, key)
}

/// A server configuration from DER values.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Config(format!("TLS certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

/// The service side of the TLS handshake with one client, for programs that play the
/// Arrow Service (a scripted service in a test, a lab tool): `config` is
/// `DevCertificates::server_config` (feature `dev-service`) or [`server_config_from_files`]. The caller bounds
/// the wait (the handshake has no timeout of its own).
///
/// ```no_run
/// # async fn example(certs: arrow_client::dev_service::DevCertificates) -> Result<(), arrow_client::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let (tcp, _) = listener.accept().await.unwrap();
/// let tls = arrow_client::tls::accept(certs.server_config()?, tcp).await?;
/// # drop(tls); Ok(()) }
/// ```
pub async fn accept<S>(
    config: Arc<rustls::ServerConfig>,
    stream: S,
) -> Result<tokio_rustls::server::TlsStream<S>, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tokio_rustls::TlsAcceptor::from(config)
        .accept(stream)
        .await
        .map_err(|e| Error::io("TLS handshake with a client", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_service::DevCertificates;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn dev() -> DevCertificates {
        DevCertificates::generate(&["localhost".to_string()]).unwrap()
    }

    #[test]
    fn unusable_ca_files_are_fatal_and_say_which_file_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "good.pem", &dev().ca_pem);
        let cases = [
            (dir.path().join("missing.pem"), "cannot read it"),
            (
                write(
                    dir.path(),
                    "broken.pem",
                    "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                ),
                "not valid PEM",
            ),
            (write(dir.path(), "empty.pem", ""), "no certificate in it"),
            (
                write(dir.path(), "key.pem", &dev().server_key_pem),
                "no certificate in it",
            ),
            (
                write(
                    dir.path(),
                    "junk.pem",
                    "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
                ),
                "not a usable CA certificate",
            ),
        ];
        for (path, why) in cases {
            // Alone, and after a good file: a bad file is never skipped with a warning.
            for files in [vec![path.clone()], vec![good.clone(), path.clone()]] {
                let err = client_config(&files).unwrap_err();
                assert!(matches!(err, Error::Config(_)), "{err}");
                let text = err.to_string();
                assert!(text.contains(&path.display().to_string()), "{text}");
                assert!(text.contains(why), "{text}");
            }
        }
        assert!(client_config(&[good]).is_ok());
    }

    #[test]
    fn some_trust_is_required() {
        let err = client_config(&[]).unwrap_err().to_string();
        assert!(
            err.contains("--ca") && err.contains("--system-roots"),
            "{err}"
        );
    }

    #[test]
    fn system_roots_are_loaded_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ca = write(dir.path(), "ca.pem", &dev().ca_pem);
        let platform = || {
            let mut loaded = rustls_native_certs::CertificateResult::default();
            loaded.certs = CertificateDer::pem_slice_iter(dev().ca_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            loaded
        };
        let never = || -> rustls_native_certs::CertificateResult {
            panic!("platform roots loaded without --system-roots")
        };
        let cases: [(&[PathBuf], SystemRoots, usize); 3] = [
            (std::slice::from_ref(&ca), SystemRoots::Ignore, 1),
            (&[], SystemRoots::Trust, 1),
            (std::slice::from_ref(&ca), SystemRoots::Trust, 2),
        ];
        for (files, system, want) in cases {
            let roots = if system == SystemRoots::Trust {
                roots_for(files, system, platform)
            } else {
                roots_for(files, system, never)
            };
            assert_eq!(roots.unwrap().len(), want, "{files:?} {system:?}");
        }
        let none = roots_for(&[], SystemRoots::Trust, Default::default).unwrap_err();
        assert!(none.to_string().contains("--system-roots"), "{none}");
        assert_eq!(SystemRoots::from(true), SystemRoots::Trust);
        assert_eq!(SystemRoots::default(), SystemRoots::Ignore);
    }

    /// A handshake in memory; the version both ends settled on.
    fn handshake(
        client: Arc<rustls::ClientConfig>,
        server: Arc<rustls::ServerConfig>,
    ) -> Result<rustls::ProtocolVersion, rustls::Error> {
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut client = rustls::ClientConnection::new(client, name)?;
        let mut server = rustls::ServerConnection::new(server)?;
        for _ in 0..10 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
            buf.clear();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(client.protocol_version().unwrap());
            }
        }
        panic!("handshake did not finish in 10 round trips");
    }

    #[test]
    fn tls_1_2_and_1_3_are_both_allowed_and_nothing_else() {
        let certs = dev();
        let only = |version: &'static rustls::SupportedProtocolVersion| {
            let chain =
                vec![CertificateDer::from_pem_slice(certs.server_cert_pem.as_bytes()).unwrap()];
            let key = PrivateKeyDer::from_pem_slice(certs.server_key_pem.as_bytes()).unwrap();
            Arc::new(
                rustls::ServerConfig::builder_with_provider(provider())
                    .with_protocol_versions(&[version])
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .unwrap(),
            )
        };
        let client = certs.client_config().unwrap();
        let cases = [
            (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
            (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
        ];
        for (server_version, want) in cases {
            let got = handshake(client.clone(), only(server_version)).unwrap();
            assert_eq!(got, want);
        }
        // Our own server prefers 1.3.
        let got = handshake(client, certs.server_config().unwrap()).unwrap();
        assert_eq!(got, rustls::ProtocolVersion::TLSv1_3);
        assert_eq!(PROTOCOL_VERSIONS.len(), 2);
    }

    #[test]
    fn a_certificate_from_another_ca_fails_the_handshake() {
        let (ours, theirs) = (dev(), dev());
        let err = handshake(
            theirs.client_config().unwrap(),
            ours.server_config().unwrap(),
        )
        .unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn accept_completes_the_handshake_with_a_client_that_trusts_the_ca() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let certs = DevCertificates::generate(&["localhost".into()]).unwrap();
        let (client_end, service_end) = tokio::io::duplex(64 * 1024);
        let service = tokio::spawn(accept(certs.server_config().unwrap(), service_end));
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut client = tokio_rustls::TlsConnector::from(certs.client_config().unwrap())
            .connect(name, client_end)
            .await
            .unwrap();
        let mut service = service.await.unwrap().unwrap();
        client.write_all(b"ping").await.unwrap();
        client.flush().await.unwrap();
        let mut got = [0u8; 4];
        service.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        // A client that does not trust the certificate: the service side fails too.
        let other = DevCertificates::generate(&["localhost".into()]).unwrap();
        let (client_end, service_end) = tokio::io::duplex(64 * 1024);
        let service = tokio::spawn(accept(certs.server_config().unwrap(), service_end));
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let refused = tokio_rustls::TlsConnector::from(other.client_config().unwrap())
            .connect(name, client_end)
            .await;
        assert!(refused.is_err());
        let err = service.await.unwrap().unwrap_err();
        assert!(
            err.to_string().contains("TLS handshake with a client"),
            "{err}"
        );
    }
}
