//! TLS to brokers and name servers: rustls (ring provider) over the TCP stream.
//!
//! Verification is on unless [`TlsConfig::insecure_skip_verify`] says otherwise: the peer's
//! chain must lead to a CA of `ca_file` (or, without one, of the platform trust store) and name
//! the host of the address (or `server_name`). The rustls configuration is built at each
//! connect, so replaced certificate files are picked up by the next connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

use super::socket::NoSigPipe;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tracing::warn;

use crate::error::{BrokerError, Result};

/// How a connection sets up TLS. `TlsConfig::default()` verifies the broker against the
/// platform trust store and sends no client certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// PEM file of the CA certificates trusted for the broker's certificate. `None`: the
    /// platform trust store (`/etc/ssl/certs` and friends).
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to brokers that ask for a client certificate
    /// (`tls.server.need.client.auth`). Needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Name the broker's certificate must carry. `None`: the host part of the address (an IP
    /// address is matched against the certificate's IP addresses).
    pub server_name: Option<String>,
    /// Accept any certificate: the connection is encrypted but the broker is not
    /// authenticated. Each connection logs a warning. For tests only.
    pub insecure_skip_verify: bool,
}

fn invalid(what: String) -> BrokerError {
    BrokerError::InvalidArgument(format!("TLS configuration: {what}"))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("cannot read {what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "{what} {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

fn roots(ca_file: Option<&Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in read_certs(path, "CA file")? {
                roots.add(cert).map_err(|e| {
                    invalid(format!("bad CA certificate in {}: {e}", path.display()))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(invalid(
                    "the platform trust store has no certificate; set a CA file".into(),
                ));
            }
        }
    }
    Ok(roots)
}

/// The rustls client configuration for `tls`, read from its files now.
fn client_config(tls: &TlsConfig) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots(tls.ca_file.as_deref())?)
    };
    match (&tls.cert_file, &tls.key_file) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "client certificate file")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                invalid(format!(
                    "cannot read client key file {}: {e}",
                    key.display()
                ))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| invalid(format!("client certificate and key do not fit: {e}")))
        }
        _ => Err(invalid(
            "a client certificate needs both the certificate and the key file".into(),
        )),
    }
}

/// The name to verify for `addr` ("host:port", "[v6]:port").
fn server_name(tls: &TlsConfig, addr: &str) -> Result<ServerName<'static>> {
    let host = match &tls.server_name {
        Some(name) => name.as_str(),
        None => {
            let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
            host.trim_start_matches('[').trim_end_matches(']')
        }
    };
    ServerName::try_from(host.to_owned())
        .map_err(|e| invalid(format!("{host:?} is not a valid server name: {e}")))
}

/// Runs the TLS handshake over `tcp`. Configuration errors are `InvalidArgument`, a failed
/// handshake (untrusted or mismatching certificate, no TLS on the other side) `Connection`.
pub(crate) async fn handshake(
    tls: &TlsConfig,
    addr: &str,
    tcp: NoSigPipe<TcpStream>,
) -> Result<TlsStream<NoSigPipe<TcpStream>>> {
    let config = client_config(tls)?;
    let name = server_name(tls, addr)?;
    if tls.insecure_skip_verify {
        warn!(addr = %addr, "TLS certificate verification is disabled: the broker is not authenticated");
    }
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| BrokerError::Connection {
            addr: addr.to_owned(),
            reason: format!("TLS handshake failed: {e}"),
        })
}

/// The "insecure" verifier: any certificate is taken, but the handshake signatures are still
/// checked (so the session keys belong to whoever holds the certificate's key).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_comes_from_the_address_or_the_override() {
        let tls = TlsConfig::default();
        assert_eq!(
            server_name(&tls, "127.0.0.1:10911").unwrap(),
            ServerName::try_from("127.0.0.1").unwrap()
        );
        assert_eq!(
            server_name(&tls, "[::1]:10911").unwrap(),
            ServerName::try_from("::1").unwrap()
        );
        assert_eq!(
            server_name(&tls, "broker-a.internal:10911").unwrap(),
            ServerName::try_from("broker-a.internal").unwrap()
        );
        let named = TlsConfig {
            server_name: Some("rocketmq.example".into()),
            ..TlsConfig::default()
        };
        assert_eq!(
            server_name(&named, "127.0.0.1:10911").unwrap(),
            ServerName::try_from("rocketmq.example").unwrap()
        );
    }

    #[test]
    fn bad_files_are_configuration_errors() {
        let missing = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsConfig::default()
        };
        let err = client_config(&missing).unwrap_err();
        assert!(
            matches!(&err, BrokerError::InvalidArgument(m) if m.contains("/nonexistent/ca.pem")),
            "{err:?}"
        );
        let half = TlsConfig {
            cert_file: Some("/nonexistent/client.pem".into()),
            insecure_skip_verify: true,
            ..TlsConfig::default()
        };
        let err = client_config(&half).unwrap_err();
        assert!(
            matches!(&err, BrokerError::InvalidArgument(m) if m.contains("both")),
            "{err:?}"
        );
        let not_pem = std::env::temp_dir().join(format!("bc-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let err = client_config(&TlsConfig {
            ca_file: Some(not_pem.clone()),
            ..TlsConfig::default()
        })
        .unwrap_err();
        std::fs::remove_file(&not_pem).unwrap();
        assert!(
            matches!(&err, BrokerError::InvalidArgument(m) if m.contains("no PEM certificate")),
            "{err:?}"
        );
    }
}
