//! The IdP's signing keys: fixed, public, **test-only** keys loaded once per process (RSA key
//! generation would cost seconds in a debug build), and the JWS signers a forged token may use
//! (RS256, ES256, HS256 over the client secret, `none`). See `keys/README.md`.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256};
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
    /// The key's `kid`, as the JWKS publishes it.
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

/// A P-256 key that signs compact JWTs with ES256 (kid `sso-repro-test-ec`).
pub struct EcKey {
    kid: &'static str,
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The IdP's ES256 key.
pub fn ec_key() -> &'static EcKey {
    static KEY: OnceLock<EcKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = include_str!("../keys/test-only-signing-key-ec.pem");
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).expect("the test-only key is PKCS#8 PEM");
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.secret_pkcs8_der(), &SystemRandom::new())
                .expect("the test-only key is a P-256 key");
        EcKey { kid: "sso-repro-test-ec", pair }
    })
}

impl EcKey {
    /// The key's `kid`, as the JWKS publishes it.
    pub fn kid(&self) -> &str {
        self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        use ring::signature::KeyPair;
        // An uncompressed point: 0x04 || x || y.
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "use": "sig",
            "alg": "ES256",
            "crv": "P-256",
            "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }
}

/// How a JWS is signed.
#[derive(Debug)]
pub enum Signer<'a> {
    /// RS256 with this RSA key.
    Rsa(&'static SigningKey),
    /// ES256 with this P-256 key.
    Ec(&'static EcKey),
    /// HS256 with this secret (an OpenID provider signs with the client secret this way).
    Hmac(&'a [u8]),
    /// `alg: none`: an empty signature.
    Unsigned,
}

impl Signer<'_> {
    /// The `alg` header value this signer produces.
    pub fn alg(&self) -> &'static str {
        match self {
            Signer::Rsa(_) => "RS256",
            Signer::Ec(_) => "ES256",
            Signer::Hmac(_) => "HS256",
            Signer::Unsigned => "none",
        }
    }

    /// The `kid` this signer's key is published under, if any.
    pub fn kid(&self) -> Option<&str> {
        match self {
            Signer::Rsa(key) => Some(key.kid()),
            Signer::Ec(key) => Some(key.kid()),
            Signer::Hmac(_) | Signer::Unsigned => None,
        }
    }

    /// The signature over `input` (the JWS signing input).
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        let random = SystemRandom::new();
        match self {
            Signer::Rsa(key) => {
                let mut signature = vec![0; key.pair.public().modulus_len()];
                key.pair
                    .sign(&RSA_PKCS1_SHA256, &random, input, &mut signature)
                    .expect("RS256 signing with a valid key");
                signature
            }
            Signer::Ec(key) => key.pair.sign(&random, input).expect("ES256 signing with a valid key").as_ref().to_vec(),
            Signer::Hmac(secret) => {
                ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret), input).as_ref().to_vec()
            }
            Signer::Unsigned => Vec::new(),
        }
    }

    /// `header.claims.signature` with the header as given.
    pub fn sign_jwt(&self, header: &Value, claims: &Value) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}
