//! An endpoint's answer written as data: status, headers, and a body that is raw text, JSON or
//! form-encoded — or the IdP's own JSON answer with fields set or removed.
//!
//! ```toml
//! [setup.idp.token_response]            # GitHub-style: form-encoded, not JSON
//! headers = { content-type = "application/x-www-form-urlencoded" }
//! form = { access_token = "{{access_token}}", token_type = "bearer" }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::template::{check_json, check_str, Context, Values};

/// What an endpoint answers instead of (or on top of) its usual answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResponseSpec {
    /// The status (default: the usual one, 200 for a valid request).
    pub status: Option<u16>,
    /// Headers added to (or replacing) the usual ones; names are case-insensitive. With a raw
    /// `body`, say its `content-type` here.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as raw text (placeholders replaced).
    pub body: Option<String>,
    /// The body as this JSON document (placeholders replaced).
    pub json: Option<Value>,
    /// The body form-encoded from these fields (placeholders replaced).
    pub form: Option<BTreeMap<String, String>>,
    /// Fields set in the usual JSON answer (any JSON type; placeholders replaced).
    #[serde(default)]
    pub set: serde_json::Map<String, Value>,
    /// Fields removed from the usual JSON answer.
    #[serde(default)]
    pub remove: Vec<String>,
    /// What the IdP writes in its log for this answer (default: says it is the scenario's answer).
    pub note: Option<String>,
}

/// An answer, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The HTTP status.
    pub status: u16,
    /// The header fields, names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl ResponseSpec {
    /// A page of HTML with `status`, as a web server or a gateway in front of the IdP sends it.
    pub fn html(status: u16, message: &str, note: &str) -> ResponseSpec {
        ResponseSpec {
            status: Some(status),
            headers: BTreeMap::from([("content-type".to_owned(), "text/html; charset=utf-8".to_owned())]),
            body: Some(html_page(message)),
            note: Some(note.to_owned()),
            ..ResponseSpec::default()
        }
    }

    /// The usual JSON answer without these fields.
    pub fn without(fields: &[&str], note: &str) -> ResponseSpec {
        ResponseSpec {
            remove: fields.iter().map(|f| (*f).to_owned()).collect(),
            note: Some(note.to_owned()),
            ..ResponseSpec::default()
        }
    }

    /// Checks the spec's form and placeholders; `Err((field, message))` names the field at fault
    /// relative to the spec.
    pub fn check(&self, context: Context) -> Result<(), (&'static str, String)> {
        let bodies = [self.body.is_some(), self.json.is_some(), self.form.is_some()].iter().filter(|b| **b).count();
        if bodies > 1 {
            return Err(("body", "give one of `body`, `json` and `form`, not several".to_owned()));
        }
        if bodies == 1 && (!self.set.is_empty() || !self.remove.is_empty()) {
            return Err((
                "set",
                "`set` and `remove` change the usual JSON answer; they cannot be combined with `body`, `json` or `form`"
                    .to_owned(),
            ));
        }
        if let Some(status) = self.status {
            if !(100..=599).contains(&status) {
                return Err(("status", format!("{status} is not an HTTP status (100–599)")));
            }
        }
        for value in self.headers.values() {
            check_str(value, context).map_err(|e| ("headers", e.to_string()))?;
        }
        if let Some(body) = &self.body {
            check_str(body, context).map_err(|e| ("body", e.to_string()))?;
        }
        if let Some(json) = &self.json {
            check_json(json, context).map_err(|e| ("json", e.to_string()))?;
        }
        for value in self.form.iter().flat_map(|form| form.values()) {
            check_str(value, context).map_err(|e| ("form", e.to_string()))?;
        }
        for value in self.set.values() {
            check_json(value, context).map_err(|e| ("set", e.to_string()))?;
        }
        Ok(())
    }

    /// The answer: the usual `status` and JSON `usual` body, changed as this spec says.
    pub fn render(&self, status: u16, usual: Value, values: &Values) -> Rendered {
        let mut headers: Vec<(String, String)> = Vec::new();
        let body = if let Some(body) = &self.body {
            headers.push(("content-type".to_owned(), "text/plain; charset=utf-8".to_owned()));
            values.render_str(body).into_bytes()
        } else if let Some(form) = &self.form {
            headers.push(("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
            let mut encoder = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in form {
                encoder.append_pair(name, &values.render_str(value));
            }
            encoder.finish().into_bytes()
        } else {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            headers.push(("cache-control".to_owned(), "no-store".to_owned()));
            let mut document = match &self.json {
                Some(json) => values.render_json(json),
                None => usual,
            };
            if let Value::Object(fields) = &mut document {
                for name in &self.remove {
                    fields.remove(name);
                }
                for (name, value) in &self.set {
                    fields.insert(name.clone(), values.render_json(value));
                }
            }
            document.to_string().into_bytes()
        };
        for (name, value) in &self.headers {
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            headers.push((name.to_ascii_lowercase(), values.render_str(value)));
        }
        Rendered { status: self.status.unwrap_or(status), headers, body }
    }

    /// The spec changes nothing.
    pub fn is_usual(&self) -> bool {
        self.status.is_none()
            && self.headers.is_empty()
            && self.body.is_none()
            && self.json.is_none()
            && self.form.is_none()
            && self.set.is_empty()
            && self.remove.is_empty()
    }
}

/// The IdP's HTML error page.
pub fn html_page(message: &str) -> String {
    format!("<!DOCTYPE html>\n<html><body><h1>Sign-in error</h1><p>{message}</p></body></html>\n")
}
