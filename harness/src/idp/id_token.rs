//! The ID token the IdP issues, as data: any claim set, removed or retyped, any header field,
//! which key signs it, a corrupted signature, and `at_hash`/`c_hash` correct, wrong or missing.
//! The named faults of the OpenID certification's RP tests are shorthands for it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::keys::KeyName;
use super::template::{check_json, Context, Values};

/// The named forgeries (shorthands for an [`IdTokenSpec`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IdTokenFault {
    /// A correct ID token.
    #[default]
    Valid,
    /// A signature that does not verify.
    BadSignature,
    /// Signed by a key the JWKS does not publish (its `kid` is unknown).
    UnknownKid,
    /// No `kid` in the header.
    NoKid,
    /// `alg: none`, no signature.
    AlgNone,
    /// `iss` is `https://evil.sso.test`.
    WrongIssuer,
    /// `aud` is `another-client`.
    WrongAudience,
    /// No `sub` claim.
    NoSub,
    /// No `iat` claim.
    NoIat,
    /// `nonce` is not the one the RP sent.
    WrongNonce,
}

/// `[setup.idp.id_token]` in the open form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IdTokenSpec {
    /// Claims set over the usual ones (`iss`, `sub`, `aud`, `iat`, `exp` = `iat` + 300, `nonce`), any
    /// JSON type; `"{{now - 1h}}"` is a number, `"{{now | string}}"` a string.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Claims removed.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Header fields set over the usual ones (`alg` of the key, `typ: JWT`, the key's `kid`).
    #[serde(default)]
    pub header: Map<String, Value>,
    /// Header fields removed.
    #[serde(default)]
    pub remove_header: Vec<String>,
    /// The key that signs (default: the one the JWKS setup signs with).
    pub key: Option<KeyName>,
    /// The signature as sent (default: valid).
    #[serde(default)]
    pub signature: SignatureForm,
    /// The `at_hash` claim, over the access token (default: missing).
    #[serde(default)]
    pub at_hash: HashClaim,
    /// The `c_hash` claim, over the authorization code (default: missing).
    #[serde(default)]
    pub c_hash: HashClaim,
}

/// The signature as sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SignatureForm {
    /// The key's signature over header and claims.
    #[default]
    Valid,
    /// One byte flipped: it no longer verifies.
    Corrupted,
}

/// An `at_hash` or `c_hash` claim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum HashClaim {
    /// Not in the token.
    #[default]
    Missing,
    /// The left half of the SHA-256 of the token it vouches for, base64url.
    Correct,
    /// The hash of something else.
    Wrong,
}

impl IdTokenFault {
    /// The [`IdTokenSpec`] this fault is a shorthand for.
    pub fn expand(self) -> IdTokenSpec {
        let set = |name: &str, value: Value| IdTokenSpec {
            claims: Map::from_iter([(name.to_owned(), value)]),
            ..IdTokenSpec::default()
        };
        let remove = |name: &str| IdTokenSpec { remove: vec![name.to_owned()], ..IdTokenSpec::default() };
        match self {
            IdTokenFault::Valid => IdTokenSpec::default(),
            IdTokenFault::BadSignature => IdTokenSpec { signature: SignatureForm::Corrupted, ..IdTokenSpec::default() },
            IdTokenFault::UnknownKid => IdTokenSpec { key: Some(KeyName::Secondary), ..IdTokenSpec::default() },
            IdTokenFault::NoKid => IdTokenSpec { remove_header: vec!["kid".to_owned()], ..IdTokenSpec::default() },
            IdTokenFault::AlgNone => IdTokenSpec { key: Some(KeyName::None), ..IdTokenSpec::default() },
            IdTokenFault::WrongIssuer => set("iss", json!("https://evil.sso.test")),
            IdTokenFault::WrongAudience => set("aud", json!("another-client")),
            IdTokenFault::NoSub => remove("sub"),
            IdTokenFault::NoIat => remove("iat"),
            IdTokenFault::WrongNonce => set("nonce", json!("not-the-nonce-the-rp-sent")),
        }
    }
}

/// What the token carries besides the spec.
pub struct Issue<'a> {
    /// The template values: `issuer`, `subject`, `client_id`, `nonce` and the time, which the usual claims come from.
    pub values: &'a Values,
    /// The key when the spec names none.
    pub default_key: KeyName,
    /// The client secret, the key of [`KeyName::ClientSecret`] (HS256).
    pub client_secret: &'a str,
    /// The access token issued with the ID token, which `at_hash` covers.
    pub access_token: &'a str,
    /// The authorization code exchanged, which `c_hash` covers.
    pub code: &'a str,
}

impl IdTokenSpec {
    /// Checks the spec before use: claims are valid templates, and nothing is both set and removed; `Err` names the
    /// field and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for value in self.claims.values() {
            check_json(value, Context::IdToken).map_err(|e| ("claims", e.to_string()))?;
        }
        if let Some(conflict) = self.remove.iter().find(|name| self.claims.contains_key(*name)) {
            return Err(("remove", format!("`{conflict}` is both set in `claims` and removed")));
        }
        if let Some(conflict) = self.remove_header.iter().find(|name| self.header.contains_key(*name)) {
            return Err(("remove_header", format!("`{conflict}` is both set in `header` and removed")));
        }
        Ok(())
    }

    /// The compact JWT.
    pub fn issue(&self, issue: &Issue<'_>) -> String {
        let values = issue.values;
        let text = |name: &str| values.text.get(name).cloned().unwrap_or_default();
        let mut claims = json!({
            "iss": text("issuer"),
            "sub": text("subject"),
            "aud": text("client_id"),
            "iat": values.now,
            "exp": values.now + 300,
        });
        if let Some(nonce) = values.text.get("nonce").filter(|n| !n.is_empty()) {
            claims["nonce"] = json!(nonce);
        }
        let signer = self.key.unwrap_or(issue.default_key).signer(issue.client_secret);
        for (name, form, subject) in
            [("at_hash", self.at_hash, issue.access_token), ("c_hash", self.c_hash, issue.code)]
        {
            match form {
                HashClaim::Missing => {}
                HashClaim::Correct => claims[name] = json!(half_sha256(subject)),
                HashClaim::Wrong => claims[name] = json!(half_sha256(&format!("not-{subject}"))),
            }
        }
        let claims = claims.as_object_mut().expect("claims are an object");
        for (name, value) in &self.claims {
            claims.insert(name.clone(), values.render_json(value));
        }
        for name in &self.remove {
            claims.remove(name);
        }
        let mut header = json!({ "alg": signer.alg(), "typ": "JWT" });
        if let Some(kid) = signer.kid() {
            header["kid"] = json!(kid);
        }
        let header = header.as_object_mut().expect("header is an object");
        for (name, value) in &self.header {
            header.insert(name.clone(), value.clone());
        }
        for name in &self.remove_header {
            header.remove(name);
        }
        let token = signer.sign_jwt(&Value::Object(header.clone()), &Value::Object(claims.clone()));
        match self.signature {
            SignatureForm::Valid => token,
            SignatureForm::Corrupted => corrupt(&token),
        }
    }
}

/// The left half of SHA-256, base64url: `at_hash`/`c_hash` for the SHA-256 algorithms.
fn half_sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn corrupt(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').expect("a compact JWT");
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    match signature.get_mut(10) {
        Some(byte) => *byte ^= 0xff,
        None => signature.extend_from_slice(b"not a signature"),
    }
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
