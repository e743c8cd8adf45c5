//! Placeholders in what a scenario makes the IdP say: `{{access_token}}`, `{{id_token}}`,
//! `{{nonce}}`, `{{now}}`, `{{now - 1h}}`, `{{now_ms + 5m}}`, `{{now | string}}`, …
//!
//! A string that is exactly one numeric placeholder becomes a JSON number (so `iat = "{{now}}"` is a
//! number); `| string` keeps it a string. Anything else is text with the placeholders replaced.
//! Placeholders are checked when the scenario loads: an unknown name, an expression that does not
//! evaluate, or a name that is not known where it is used is an error naming the field.

use std::collections::BTreeMap;

use serde_json::Value;

/// Where a template is used: which values exist there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The discovery document and the JWKS.
    Metadata,
    /// The authorization response (redirect to the RP).
    Authorize,
    /// The token response.
    Token,
    /// The claims of an ID token.
    IdToken,
    /// The userinfo response.
    Userinfo,
}

/// Every placeholder name and where it is known.
const NAMES: &[(&str, &[Context])] = {
    use Context::*;
    const ALL: &[Context] = &[Metadata, Authorize, Token, IdToken, Userinfo];
    &[
        ("now", ALL),
        ("now_ms", ALL),
        ("issuer", ALL),
        ("client_id", ALL),
        ("subject", ALL),
        ("authorization_endpoint", ALL),
        ("token_endpoint", ALL),
        ("userinfo_endpoint", ALL),
        ("jwks_uri", ALL),
        ("redirect_uri", &[Authorize, Token, IdToken]),
        ("state", &[Authorize]),
        ("code", &[Authorize, Token, IdToken]),
        ("nonce", &[Token, IdToken]),
        ("access_token", &[Token, IdToken, Userinfo]),
        ("id_token", &[Token]),
    ]
};

/// A template that does not evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

/// The values placeholders stand for, at one moment of the IdP.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// The IdP's clock, seconds since the epoch (the clock offset applied).
    pub now: i64,
    /// The text placeholders by name (`issuer`, `client_id`, `state`, `code`, …) and what they stand for.
    pub text: BTreeMap<&'static str, String>,
}

/// One parsed `{{ … }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Placeholder {
    Text(String),
    /// `now` or `now_ms`, moved by `offset_secs`.
    Clock {
        millis: bool,
        offset_secs: i64,
        as_string: bool,
    },
}

impl Placeholder {
    fn parse(inner: &str) -> Result<Placeholder, TemplateError> {
        let (expression, filter) = match inner.split_once('|') {
            Some((expression, filter)) => (expression.trim(), Some(filter.trim())),
            None => (inner.trim(), None),
        };
        let as_string = match filter {
            None => false,
            Some("string") => true,
            Some(other) => return Err(TemplateError(format!("unknown filter `| {other}` (known: `| string`)"))),
        };
        let name_end = expression.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(expression.len());
        let (name, rest) = expression.split_at(name_end);
        let rest = rest.trim();
        if name == "now" || name == "now_ms" {
            let offset_secs = if rest.is_empty() { 0 } else { parse_offset(rest)? };
            return Ok(Placeholder::Clock { millis: name == "now_ms", offset_secs, as_string });
        }
        if !rest.is_empty() {
            return Err(TemplateError(format!(
                "`{{{{{inner}}}}}`: only now and now_ms take an offset (e.g. `{{{{now - 1h}}}}`)"
            )));
        }
        if as_string {
            return Err(TemplateError(format!("`{{{{{inner}}}}}`: `| string` applies only to now and now_ms")));
        }
        if !NAMES.iter().any(|(known, _)| *known == name) {
            let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            return Err(TemplateError(format!("unknown placeholder `{{{{{name}}}}}` (known: {})", known.join(", "))));
        }
        Ok(Placeholder::Text(name.to_owned()))
    }

    fn name(&self) -> &str {
        match self {
            Placeholder::Text(name) => name,
            Placeholder::Clock { millis: true, .. } => "now_ms",
            Placeholder::Clock { millis: false, .. } => "now",
        }
    }
}

/// `+ 300`, `- 1h`, `+ 5m`, `+ 2d`, `- 1500ms` (milliseconds are rounded down to seconds).
fn parse_offset(text: &str) -> Result<i64, TemplateError> {
    let invalid = || {
        TemplateError(format!(
            "`{text}` is not a clock offset: write `+ N` or `- N` with a unit s, m, h, d or ms (e.g. `now - 1h`)"
        ))
    };
    let (sign, amount) = match text.as_bytes().first() {
        Some(b'+') => (1, text[1..].trim()),
        Some(b'-') => (-1, text[1..].trim()),
        _ => return Err(invalid()),
    };
    let digits_end = amount.find(|c: char| !c.is_ascii_digit()).unwrap_or(amount.len());
    let (number, unit) = amount.split_at(digits_end);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => return Err(invalid()),
    };
    Ok(sign * seconds)
}

/// The pieces of a template string.
enum Piece<'a> {
    Literal(&'a str),
    Placeholder(Placeholder),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            return Err(TemplateError(format!("`{{{{` without a closing `}}}}` in \"{template}\"")));
        };
        if start > 0 {
            pieces.push(Piece::Literal(&rest[..start]));
        }
        pieces.push(Piece::Placeholder(Placeholder::parse(&rest[start + 2..start + 2 + len])?));
        rest = &rest[start + 2 + len + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// Checks every placeholder in `template` for use in `context`.
pub fn check_str(template: &str, context: Context) -> Result<(), TemplateError> {
    for piece in pieces(template)? {
        if let Piece::Placeholder(placeholder) = piece {
            let name = placeholder.name();
            let known_here = NAMES.iter().any(|(known, contexts)| *known == name && contexts.contains(&context));
            if !known_here {
                let here: Vec<&str> =
                    NAMES.iter().filter(|(_, contexts)| contexts.contains(&context)).map(|(n, _)| *n).collect();
                return Err(TemplateError(format!(
                    "placeholder `{{{{{name}}}}}` has no value here (known here: {})",
                    here.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Checks every string inside `value` (keys excluded).
pub fn check_json(value: &Value, context: Context) -> Result<(), TemplateError> {
    match value {
        Value::String(text) => check_str(text, context),
        Value::Array(items) => items.iter().try_for_each(|item| check_json(item, context)),
        Value::Object(map) => map.values().try_for_each(|item| check_json(item, context)),
        _ => Ok(()),
    }
}

impl Values {
    fn clock(&self, millis: bool, offset_secs: i64) -> i64 {
        let seconds = self.now + offset_secs;
        if millis {
            seconds * 1000
        } else {
            seconds
        }
    }

    fn text_of(&self, placeholder: &Placeholder) -> String {
        match placeholder {
            Placeholder::Text(name) => self.text.get(name.as_str()).cloned().unwrap_or_default(),
            Placeholder::Clock { millis, offset_secs, .. } => self.clock(*millis, *offset_secs).to_string(),
        }
    }

    /// The template as text. Templates were checked at load, so a malformed one renders as it is.
    pub fn render_str(&self, template: &str) -> String {
        let Ok(pieces) = pieces(template) else { return template.to_owned() };
        pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => (*text).to_owned(),
                Piece::Placeholder(placeholder) => self.text_of(placeholder),
            })
            .collect()
    }

    /// The JSON value with every string rendered; a string that is one numeric placeholder becomes
    /// a number.
    pub fn render_json(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => {
                if let Ok(pieces) = pieces(text) {
                    if let [Piece::Placeholder(Placeholder::Clock { millis, offset_secs, as_string: false })] =
                        pieces.as_slice()
                    {
                        return Value::from(self.clock(*millis, *offset_secs));
                    }
                }
                Value::String(self.render_str(text))
            }
            Value::Array(items) => Value::Array(items.iter().map(|item| self.render_json(item)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.render_json(v))).collect()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values() -> Values {
        let mut text = BTreeMap::new();
        text.insert("nonce", "n-1".to_owned());
        Values { now: 1_000_000, text }
    }

    #[test]
    fn clock_expressions_evaluate_in_every_unit() {
        let v = values();
        assert_eq!(v.render_json(&json!("{{now}}")), json!(1_000_000));
        assert_eq!(v.render_json(&json!("{{ now - 1h }}")), json!(1_000_000 - 3600));
        assert_eq!(v.render_json(&json!("{{now + 5m}}")), json!(1_000_300));
        assert_eq!(v.render_json(&json!("{{now_ms + 2s}}")), json!(1_000_002_000_i64));
        assert_eq!(v.render_json(&json!("{{now + 1d | string}}")), json!("1086400"));
        assert_eq!(v.render_json(&json!(["{{nonce}}", "x-{{nonce}}"])), json!(["n-1", "x-n-1"]));
    }

    #[test]
    fn unknown_names_and_bad_expressions_are_refused_with_the_choices() {
        let unknown = check_str("{{noncee}}", Context::Token).unwrap_err().to_string();
        assert!(unknown.contains("unknown placeholder `{{noncee}}`") && unknown.contains("nonce"), "{unknown}");
        let offset = check_str("{{now + 1 week}}", Context::Token).unwrap_err().to_string();
        assert!(offset.contains("not a clock offset"), "{offset}");
        let unclosed = check_str("{{now", Context::Token).unwrap_err().to_string();
        assert!(unclosed.contains("without a closing"), "{unclosed}");
        let out_of_place = check_str("{{nonce}}", Context::Metadata).unwrap_err().to_string();
        assert!(out_of_place.contains("has no value here"), "{out_of_place}");
    }
}
