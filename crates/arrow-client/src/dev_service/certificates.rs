//! Development certificates: a CA and a server certificate it signed, made with rcgen, for
//! the development service and tests. Clients trust the CA with `--ca ca.pem`.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::danger::ServerCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;
use crate::tls::{client_config_with_roots, provider, server_config};

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

    /// Writes `ca.pem`, `server.pem`, `server.key` and the CA's key `ca.key` (every one
    /// mode 0600) into `dir`, reusing the ones already there so clients that trust the CA
    /// keep trusting it across restarts; true when the CA was just made. A key file to be
    /// reused that its group or others can read is refused ([`Error::KeyExposed`]).
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
        for private in [&key, &ca_key] {
            refuse_exposed(private)?;
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

/// [`Error::KeyExposed`] when `path` exists and its group or others may read or write it.
fn refuse_exposed(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(Error::State {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyExposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
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

    #[cfg(unix)]
    #[test]
    fn key_files_are_made_0600_and_an_exposed_one_is_never_reused() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let cases = [
            ("server.key", 0o644),
            ("server.key", 0o640),
            ("ca.key", 0o604),
            ("ca.key", 0o660),
        ];
        for (file, exposed) in cases {
            let dir = tempfile::tempdir().unwrap();
            let local = names(&["localhost"]);
            DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
            for made in ["ca.key", "server.key", "ca.pem", "server.pem"] {
                assert_eq!(mode(&dir.path().join(made)), 0o600, "{made}");
            }
            let path = dir.path().join(file);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(exposed)).unwrap();
            let err = DevCertificates::load_or_create_in(dir.path(), &local).unwrap_err();
            assert!(
                matches!(&err, Error::KeyExposed { path: p, mode } if *p == path && *mode == exposed),
                "{file} {exposed:o}: {err:?}"
            );
            assert!(err.is_fatal());
            let text = err.to_string();
            for want in [
                path.display().to_string(),
                format!("mode {exposed:04o}"),
                format!("chmod 600 {}", path.display()),
            ] {
                assert!(text.contains(&want), "{text} lacks {want}");
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            DevCertificates::load_or_create_in(dir.path(), &local).unwrap();
        }
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
}
