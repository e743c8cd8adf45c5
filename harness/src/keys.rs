//! The IdP's RS256 signing keys: fixed, public, **test-only** keys loaded once per process (RSA key
//! generation would cost seconds in a debug build). See `keys/README.md`.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde_json::{json, Value};

/// An RSA key that signs compact JWTs with RS256.
pub struct SigningKey {
    kid: &'static str,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn load(kid: &'static str, pem: &str) -> SigningKey {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).expect("the test-only key is PKCS#8 PEM");
    let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).expect("the test-only key is an RSA key");
    SigningKey { kid, pair }
}

/// The key the mock IdP signs with and publishes in its JWKS (kid `sso-repro-test-1`).
pub fn idp_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| load("sso-repro-test-1", include_str!("../keys/test-only-signing-key-1.pem")))
}

/// A second key the IdP does not publish (kid `sso-repro-test-2`), for forged signatures.
pub fn other_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| load("sso-repro-test-2", include_str!("../keys/test-only-signing-key-2.pem")))
}

impl SigningKey {
    pub fn kid(&self) -> &str {
        self.kid
    }

    /// `header.claims.signature`, RS256, with this key's `kid` in the header.
    pub fn sign_jwt(&self, claims: &Value) -> String {
        self.sign_jwt_with_header(&json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid }), claims)
    }

    /// Like [`SigningKey::sign_jwt`] with the header given (e.g. without `kid`).
    pub fn sign_jwt_with_header(&self, header: &Value, claims: &Value) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
            .expect("RS256 signing with a valid key");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The public key as a JWK, as a JWKS publishes it.
    pub fn jwk(&self) -> Value {
        let public: PublicKeyComponents<Vec<u8>> = self.pair.public().into();
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.n),
            "e": URL_SAFE_NO_PAD.encode(public.e),
        })
    }
}
