//! rustls configuration (ring provider, TLS 1.2 and 1.3) for both ends, and development
//! certificates made with rcgen.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::Config(format!(
                "{}: cannot read PEM certificates: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "{}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// A client configuration trusting exactly the CA certificates in `ca_files` (PEM). The
/// server's certificate must chain to one of them and name the host or IP we dial.
pub fn client_config(ca_files: &[PathBuf]) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    for path in ca_files {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| {
                Error::Config(format!(
                    "{}: not a usable CA certificate: {e}",
                    path.display()
                ))
            })?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Config("no CA certificate given (--ca)".into()));
    }
    client_config_with_roots(roots)
}

/// A client configuration over an already built root store.
pub fn client_config_with_roots(roots: RootCertStore) -> Result<Arc<rustls::ClientConfig>, Error> {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
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
    let chain = read_certs(cert)?;
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
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Config(format!("TLS certificate and key: {e}")))?;
    Ok(Arc::new(config))
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
        let err = |e: rcgen::Error| Error::Config(format!("cannot make certificates: {e}"));
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "protoctl development Arrow CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(err)?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "protoctl development Arrow Service",
        );
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok(DevCertificates {
            ca_pem: ca_cert.pem(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        })
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

    /// Writes `ca.pem`, `server.pem` and `server.key` (mode 0600) into `dir`, reusing the
    /// ones already there so clients that trust the CA keep trusting it across restarts.
    pub fn load_or_create_in(dir: &Path, names: &[String]) -> Result<(Self, bool), Error> {
        let state = |path: &Path, source| Error::State {
            path: path.to_path_buf(),
            source,
        };
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("server.pem"),
            dir.join("server.key"),
        );
        if ca.exists() && cert.exists() && key.exists() {
            let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| state(p, e));
            return Ok((
                DevCertificates {
                    ca_pem: read(&ca)?,
                    server_cert_pem: read(&cert)?,
                    server_key_pem: read(&key)?,
                },
                false,
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| state(dir, e))?;
        let made = Self::generate(names)?;
        crate::identity::write_private(&ca, made.ca_pem.as_bytes()).map_err(|e| state(&ca, e))?;
        crate::identity::write_private(&cert, made.server_cert_pem.as_bytes())
            .map_err(|e| state(&cert, e))?;
        crate::identity::write_private(&key, made.server_key_pem.as_bytes())
            .map_err(|e| state(&key, e))?;
        Ok((made, true))
    }
}
