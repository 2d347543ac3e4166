//! rustls configuration (ring provider, TLS 1.2 and 1.3) for both ends, and development
//! certificates made with rcgen.
//!
//! Both ends allow exactly TLS 1.3 and TLS 1.2 ([`PROTOCOL_VERSIONS`]), named here rather
//! than taken from a library default. Trust is explicit: the CA files given (`--ca`), plus
//! the platform's roots only when asked ([`SystemRoots::Trust`], `--system-roots`). A CA
//! file that cannot be read, is not PEM, or holds no certificate is a fatal
//! [`Error::Config`] naming the file and the reason, never a warning.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// The TLS versions both ends allow: 1.3 and 1.2, nothing older.
pub const PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
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
/// [`DevCertificates::server_config`] or [`server_config_from_files`]. The caller bounds
/// the wait (the handshake has no timeout of its own).
///
/// ```no_run
/// # async fn example(certs: arrow_client::tls::DevCertificates) -> Result<(), arrow_client::Error> {
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

/// A development certificate authority and a server certificate it signed.
#[derive(Clone)]
pub struct DevCertificates {
    /// The CA certificate, PEM: what clients pass to `--ca`.
    pub ca_pem: String,
    /// The server certificate, PEM.
    pub server_cert_pem: String,
    /// The server's private key, PEM.
    pub server_key_pem: String,
}

impl std::fmt::Debug for DevCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCertificates").finish_non_exhaustive()
    }
}

impl DevCertificates {
    /// Makes a fresh CA and a server certificate for `names` (host names or IP literals).
    pub fn generate(names: &[String]) -> Result<Self, Error> {
        Self::generate_with_ca_key(names).map(|(made, _)| made)
    }

    /// [`generate`](Self::generate), and the CA's private key (PEM), to sign later server
    /// certificates with the same CA.
    fn generate_with_ca_key(names: &[String]) -> Result<(Self, String), Error> {
        let ca_key = rcgen::KeyPair::generate().map_err(cert_error)?;
        let ca_cert = dev_ca_params()?.self_signed(&ca_key).map_err(cert_error)?;
        let ca_key_pem = ca_key.serialize_pem();
        let (server_cert_pem, server_key_pem) = issue_server_certificate(ca_key, names)?;
        Ok((
            DevCertificates {
                ca_pem: ca_cert.pem(),
                server_cert_pem,
                server_key_pem,
            },
            ca_key_pem,
        ))
    }

    /// True when the server certificate, checked against the CA, is valid for every one of
    /// `names`.
    fn covers(&self, names: &[String]) -> Result<bool, Error> {
        let bad = |e: rustls_pki_types::pem::Error| Error::Config(format!("PEM: {e}"));
        let ca = CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).map_err(bad)?;
        let cert = CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes()).map_err(bad)?;
        let mut roots = RootCertStore::empty();
        roots
            .add(ca)
            .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        let now = rustls_pki_types::UnixTime::now();
        Ok(names.iter().all(|name| {
            rustls_pki_types::ServerName::try_from(name.as_str()).is_ok_and(|name| {
                verifier
                    .verify_server_cert(&cert, &[], &name, &[], now)
                    .is_ok()
            })
        }))
    }

    /// The server configuration for these certificates.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let bad = |e: rustls_pki_types::pem::Error| Error::Config(format!("PEM: {e}"));
        let cert = CertificateDer::from_pem_slice(self.server_cert_pem.as_bytes()).map_err(bad)?;
        let ca = CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).map_err(bad)?;
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).map_err(bad)?;
        server_config(vec![cert, ca], key)
    }

    /// A client configuration trusting this CA only.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let ca = CertificateDer::from_pem_slice(self.ca_pem.as_bytes())
            .map_err(|e| Error::Config(format!("PEM: {e}")))?;
        let mut roots = RootCertStore::empty();
        roots
            .add(ca)
            .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        client_config_with_roots(roots)
    }

    /// Writes `ca.pem`, `server.pem`, `server.key` and the CA's key `ca.key` (mode 0600)
    /// into `dir`, reusing the ones already there so clients that trust the CA keep
    /// trusting it across restarts; true when the CA was just made.
    ///
    /// A server certificate that does not cover every one of `names` (the service now
    /// listens on another address) is replaced by one signed with the same CA. A folder
    /// holding only some of the files, or an old one without `ca.key` whose certificate
    /// does not cover the names, is an error that says what to do: a CA that clients
    /// trust is never silently replaced.
    pub fn load_or_create_in(dir: &Path, names: &[String]) -> Result<(Self, bool), Error> {
        let state = |path: &Path, source| Error::State {
            path: path.to_path_buf(),
            source,
        };
        let (ca, cert, key, ca_key) = (
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
            dir.join("ca.key"),
        );
        let write = |path: &Path, text: &str| {
            crate::identity::write_private(path, text.as_bytes()).map_err(|e| state(path, e))
        };
        let present = [&ca, &cert, &key].map(|p| p.exists());
        if present == [false; 3] {
            std::fs::create_dir_all(dir).map_err(|e| state(dir, e))?;
            let (made, ca_key_pem) = Self::generate_with_ca_key(names)?;
            write(&ca_key, &ca_key_pem)?;
            write(&cert, &made.server_cert_pem)?;
            write(&key, &made.server_key_pem)?;
            // Last: a folder with ca.pem is a folder that is complete.
            write(&ca, &made.ca_pem)?;
            return Ok((made, true));
        }
        if present != [true; 3] {
            return Err(Error::Config(format!(
                "{} holds only some of ca.pem, server.pem and server.key; restore them, or \
                 delete the folder to make a new CA (clients must then trust the new ca.pem)",
                dir.display()
            )));
        }
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| state(p, e));
        let mut certs = DevCertificates {
            ca_pem: read(&ca)?,
            server_cert_pem: read(&cert)?,
            server_key_pem: read(&key)?,
        };
        if certs.covers(names)? {
            return Ok((certs, false));
        }
        if !ca_key.exists() {
            return Err(Error::Config(format!(
                "{} is not valid for all of {}, and there is no ca.key to sign a new one; \
                 delete {} to make a new CA (clients must then trust the new ca.pem)",
                cert.display(),
                names.join(", "),
                dir.display()
            )));
        }
        let signer = rcgen::KeyPair::from_pem(&read(&ca_key)?).map_err(cert_error)?;
        let (server_cert_pem, server_key_pem) = issue_server_certificate(signer, names)?;
        certs.server_cert_pem = server_cert_pem;
        certs.server_key_pem = server_key_pem;
        if !certs.covers(names)? {
            return Err(Error::Config(format!(
                "{} does not belong to {}: delete the folder to make a new CA",
                ca_key.display(),
                ca.display()
            )));
        }
        write(&key, &certs.server_key_pem)?;
        write(&cert, &certs.server_cert_pem)?;
        tracing::info!(names = %names.join(", "), "new server certificate from the same CA");
        Ok((certs, false))
    }
}

fn cert_error(e: rcgen::Error) -> Error {
    Error::Config(format!("cannot make certificates: {e}"))
}

/// The development CA's parameters: the same every time, so a server certificate signed
/// later with the CA's stored key chains to the stored CA certificate.
fn dev_ca_params() -> Result<rcgen::CertificateParams, Error> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "protoctl development Arrow CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    Ok(params)
}

/// A server certificate for `names` signed by the development CA's key: (cert, key) PEM.
fn issue_server_certificate(
    ca_key: rcgen::KeyPair,
    names: &[String],
) -> Result<(String, String), Error> {
    let issuer = rcgen::Issuer::new(dev_ca_params()?, ca_key);
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(cert_error)?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "protoctl development Arrow Service",
    );
    let key = rcgen::KeyPair::generate().map_err(cert_error)?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn dev() -> DevCertificates {
        DevCertificates::generate(&["localhost".to_string()]).unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn self_signed_folder_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let local = names(&["localhost", "127.0.0.1"]);
        let (first, created) = DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
        assert!(created);
        for file in ["ca.pem", "ca.key", "server.pem", "server.key"] {
            assert!(dir.path().join(file).exists(), "{file}");
        }
        assert!(first.covers(&local).unwrap());
        let (again, created) = DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
        assert!(!created);
        assert_eq!(again.ca_pem, first.ca_pem);
        assert_eq!(again.server_cert_pem, first.server_cert_pem);
    }

    #[test]
    fn a_new_address_gets_a_new_server_certificate_from_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let local = names(&["localhost", "127.0.0.1"]);
        let (first, _) = DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
        // A documentation address (RFC 5737): only written into the certificate.
        let wider = names(&["localhost", "127.0.0.1", "192.0.2.7"]);
        assert!(!first.covers(&wider).unwrap());
        let (next, created) = DevCertificates::load_or_create_in(dir.path(), &wider).unwrap();
        assert!(!created, "clients keep the CA they trust");
        assert_eq!(next.ca_pem, first.ca_pem);
        assert!(next.covers(&wider).unwrap());
        let on_disk = std::fs::read_to_string(dir.path().join("server.pem")).unwrap();
        assert_eq!(on_disk, next.server_cert_pem);
        next.server_config().unwrap();
    }

    #[test]
    fn a_self_signed_folder_that_cannot_be_reused_is_an_error_never_a_new_ca() {
        let cases: [(&str, &str, &str); 2] = [
            ("server.key", "only some of", "a missing server key"),
            ("ca.key", "no ca.key", "no CA key and a new address"),
        ];
        for (remove, says, name) in cases {
            let dir = tempfile::tempdir().unwrap();
            let local = names(&["localhost"]);
            let (first, _) = DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
            std::fs::remove_file(dir.path().join(remove)).unwrap();
            let err = DevCertificates::load_or_create_in(dir.path(), &names(&["localhost", "::1"]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{name}: {err}");
            let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
            assert_eq!(ca, first.ca_pem, "{name}: the CA is untouched");
        }
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
