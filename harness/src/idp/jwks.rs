//! What the JWKS endpoint publishes, fetch by fetch, and which key the IdP signs with.

use serde::{Deserialize, Serialize};

use super::keys::KeyName;

/// The named JWKS setups (shorthands for a [`JwksSpec`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum JwksFault {
    /// The signing key.
    #[default]
    Current,
    /// The signing key and another one.
    ExtraKey,
    /// The key was rotated: the first fetch still returns the old key, later fetches the new one;
    /// tokens are signed with the new key.
    Rotated,
    /// Rotated, and every fetch after the first answers 503.
    RotatedRefetchFails,
    /// Every fetch answers 503.
    Unavailable,
}

/// `[setup.idp.jwks]` in the open form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwksSpec {
    /// The answer to the first fetch, the second, …; the last one answers every later fetch.
    pub fetches: Vec<JwksFetch>,
    /// The key ID tokens are signed with (unless `[setup.idp.id_token] key` says otherwise).
    #[serde(default)]
    pub signs_with: KeyName,
}

/// One fetch's answer: these keys, or an error status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksFetch {
    /// The keys the JWKS publishes (default: none).
    #[serde(default)]
    pub keys: Vec<KeyName>,
    /// An error status instead of keys (e.g. 503).
    pub status: Option<u16>,
}

impl JwksFetch {
    /// An answer publishing `keys`.
    pub fn keys(keys: &[KeyName]) -> JwksFetch {
        JwksFetch { keys: keys.to_vec(), status: None }
    }

    /// An answer with the error `status` and no keys.
    pub fn failing(status: u16) -> JwksFetch {
        JwksFetch { keys: Vec::new(), status: Some(status) }
    }
}

impl Default for JwksSpec {
    fn default() -> Self {
        JwksFault::Current.expand()
    }
}

impl JwksFault {
    /// The [`JwksSpec`] this fault is a shorthand for.
    pub fn expand(self) -> JwksSpec {
        use KeyName::{Primary, Secondary};
        let (fetches, signs_with) = match self {
            JwksFault::Current => (vec![JwksFetch::keys(&[Primary])], Primary),
            JwksFault::ExtraKey => (vec![JwksFetch::keys(&[Primary, Secondary])], Primary),
            JwksFault::Rotated => (vec![JwksFetch::keys(&[Primary]), JwksFetch::keys(&[Secondary])], Secondary),
            JwksFault::RotatedRefetchFails => (vec![JwksFetch::keys(&[Primary]), JwksFetch::failing(503)], Secondary),
            JwksFault::Unavailable => (vec![JwksFetch::failing(503)], Primary),
        };
        JwksSpec { fetches, signs_with }
    }
}

impl JwksSpec {
    /// The answer to fetch number `n` (1-based).
    pub fn fetch(&self, n: usize) -> &JwksFetch {
        let index = n.saturating_sub(1).min(self.fetches.len().saturating_sub(1));
        &self.fetches[index]
    }

    /// Checks the spec before use: at least one answer, each publishable keys or an error status; `Err` names the
    /// field and the problem.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.fetches.is_empty() {
            return Err(("fetches", "needs at least one answer".to_owned()));
        }
        for fetch in &self.fetches {
            if let Some(key) = fetch.keys.iter().find(|k| k.jwk().is_none()) {
                return Err(("fetches", format!("the key `{}` cannot be published in a JWKS", kebab(*key))));
            }
            if fetch.status.is_some_and(|s| (200..300).contains(&s)) {
                return Err(("fetches", "`status` is for errors (keys are answered with 200)".to_owned()));
            }
            if fetch.status.is_some() && !fetch.keys.is_empty() {
                return Err(("fetches", "give either `keys` or an error `status`, not both".to_owned()));
            }
        }
        Ok(())
    }
}

fn kebab(key: KeyName) -> String {
    serde_json::to_value(key).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
