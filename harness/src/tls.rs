//! The harness CA (rcgen, P-256) and the server certificates it issues. The RP trusts this CA and
//! nothing else; a certificate from another CA is therefore "untrusted", as in production.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

/// Why a certificate or TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A CA or server certificate could not be generated.
    #[error("generating a certificate failed")]
    Certificate(#[source] rcgen::Error),
    /// rustls refused the certificate or key for a TLS configuration.
    #[error("building the TLS configuration failed")]
    Config(#[source] rustls::Error),
    /// A PEM certificate or key could not be parsed.
    #[error("reading a PEM certificate or key failed")]
    Pem(#[source] rustls::pki_types::pem::Error),
}

/// A certificate authority made for one environment.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A server certificate chain and its private key, in PEM, so that it can travel to a container.
#[derive(Clone, Serialize, Deserialize)]
pub struct ServerCert {
    /// The certificate chain, leaf first (PEM).
    pub chain_pem: String,
    /// The leaf's private key (PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

impl ServerCert {
    /// A rustls server configuration presenting this certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let chain = CertificateDer::pem_slice_iter(self.chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(TlsError::Pem)?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(TlsError::Pem)?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        Ok(Arc::new(config))
    }
}

/// The crypto provider every TLS party of the harness uses.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Ca {
    /// A new CA whose certificate carries `common_name`.
    pub fn new(common_name: &str) -> Result<Ca, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(TlsError::Certificate)?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().map_err(TlsError::Certificate)?;
        let cert = params.self_signed(&key).map_err(TlsError::Certificate)?;
        Ok(Ca { cert, key })
    }

    /// The CA certificate in PEM, for clients that must trust it.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `host`, signed by this CA, with its key.
    pub fn issue(&self, host: &str) -> Result<ServerCert, TlsError> {
        self.issue_for(&[host.to_owned()], false)
    }

    /// A server certificate naming `hosts` (the first is its common name); `expired`: valid only
    /// during 2024.
    pub fn issue_for(&self, hosts: &[String], expired: bool) -> Result<ServerCert, TlsError> {
        let mut params = CertificateParams::new(hosts.to_vec()).map_err(TlsError::Certificate)?;
        params.distinguished_name.push(DnType::CommonName, hosts.first().map_or("", String::as_str));
        if expired {
            params.not_before = rcgen::date_time_ymd(2024, 1, 1);
            params.not_after = rcgen::date_time_ymd(2025, 1, 1);
        }
        let key = KeyPair::generate().map_err(TlsError::Certificate)?;
        let cert = params.signed_by(&key, &self.cert, &self.key).map_err(TlsError::Certificate)?;
        Ok(ServerCert { chain_pem: format!("{}{}", cert.pem(), self.cert.pem()), key_pem: key.serialize_pem() })
    }

    /// A rustls server configuration presenting a certificate for `host`.
    pub fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        self.issue(host)?.server_config()
    }
}
