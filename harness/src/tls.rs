//! The harness CA (rcgen, P-256) and the server certificates it issues. The RP trusts this CA and
//! nothing else; a certificate from another CA is therefore "untrusted", as in production.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a certificate or TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("generating a certificate failed")]
    Certificate(#[source] rcgen::Error),
    #[error("building the TLS configuration failed")]
    Config(#[source] rustls::Error),
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

/// The crypto provider every TLS party of the harness uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Ca {
    /// A new CA whose certificate carries `common_name`.
    pub fn new(common_name: &str) -> Result<Ca, TlsError> {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(TlsError::Certificate)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
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
    pub fn issue(
        &self,
        host: &str,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        let mut params =
            CertificateParams::new(vec![host.to_owned()]).map_err(TlsError::Certificate)?;
        params.distinguished_name.push(DnType::CommonName, host);
        let key = KeyPair::generate().map_err(TlsError::Certificate)?;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(TlsError::Certificate)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![cert.der().clone(), self.cert.der().clone()], key))
    }

    /// A rustls server configuration presenting a certificate for `host`.
    pub fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let (chain, key) = self.issue(host)?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        Ok(Arc::new(config))
    }
}
