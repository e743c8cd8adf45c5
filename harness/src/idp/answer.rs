//! A response and the one-line reason the IdP logs for it.

use serde_json::{json, Value};
use url::Url;
use wiremock::ResponseTemplate;

use super::registration::OAuthError;
use super::response::{html_page, Rendered};

pub(super) struct Answer {
    pub response: ResponseTemplate,
    pub status: u16,
    pub note: String,
}

impl Answer {
    pub fn status(status: u16, note: impl Into<String>) -> Answer {
        Answer { response: ResponseTemplate::new(status), status, note: note.into() }
    }

    pub fn redirect(location: &Url, note: impl Into<String>) -> Answer {
        let response = ResponseTemplate::new(302).insert_header("location", location.as_str());
        Answer { response, status: 302, note: note.into() }
    }

    pub fn json(status: u16, body: &Value, note: impl Into<String>) -> Answer {
        let response = ResponseTemplate::new(status)
            .insert_header("cache-control", "no-store")
            .set_body_raw(body.to_string(), "application/json");
        Answer { response, status, note: note.into() }
    }

    /// An OAuth error response (RFC 6749 §5.2).
    pub fn oauth_error(error: &OAuthError) -> Answer {
        let body = json!({ "error": error.error, "error_description": error.description });
        Answer::json(error.status, &body, format!("{}: {}", error.error, error.description))
    }

    pub fn html(status: u16, message: &str) -> Answer {
        let response = ResponseTemplate::new(status).set_body_raw(html_page(message), "text/html; charset=utf-8");
        Answer { response, status, note: message.to_owned() }
    }

    /// A rendered [`super::ResponseSpec`].
    pub fn rendered(rendered: Rendered, note: impl Into<String>) -> Answer {
        let content_type = rendered
            .headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map_or_else(String::new, |(_, value)| value.clone());
        // set_body_raw sets the content type; headers inserted afterwards are kept as given.
        let mut response = ResponseTemplate::new(rendered.status).set_body_raw(rendered.body, &content_type);
        for (name, value) in rendered.headers.iter().filter(|(name, _)| name != "content-type") {
            response = response.insert_header(name.as_str(), value.as_str());
        }
        Answer { response, status: rendered.status, note: note.into() }
    }
}
