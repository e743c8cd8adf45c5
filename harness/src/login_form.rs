//! Filling in a login or consent page from data, so that a real provider's form is no dead end for
//! the browser: which fields get which values, and which button is pressed. The page is read with
//! an HTML parser (scraper); hidden fields (CSRF tokens, state) are sent back as the page set them.

use std::collections::BTreeMap;

use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

/// What to type into a provider's form. In a scenario file (`[setup.browser.login_form]`):
/// `fields = { username = "alice", password = "…" }`, `button = "Sign in"`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    /// Field name → value. The form chosen is the first that has all of them.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The button to press, by its text, `value` or `name` (absent: the form's first submit button).
    #[serde(default)]
    pub button: Option<String>,
}

impl std::fmt::Debug for LoginForm {
    /// The field names only: values are often passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("button", &self.button)
            .finish()
    }
}

/// A form ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// `GET` or `POST`.
    pub method: String,
    /// Where the form is sent (its `action`, resolved against the page).
    pub url: Url,
    /// The form's fields in document order, `application/x-www-form-urlencoded` when sent.
    pub fields: Vec<(String, String)>,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid built-in selector")
}

impl LoginForm {
    /// The submission for the first form on `html` that has every configured field (and the
    /// configured button); `None` when no form fits.
    pub fn fill(&self, page: &Url, html: &str) -> Option<Submission> {
        let document = Html::parse_document(html);
        let (forms, controls) = (selector("form"), selector("input, select, textarea, button"));
        document.select(&forms).find_map(|form| {
            let controls: Vec<ElementRef<'_>> = form.select(&controls).collect();
            let named = |name: &str| controls.iter().any(|c| c.value().attr("name") == Some(name));
            if !self.fields.keys().all(|name| named(name)) {
                return None;
            }
            let buttons: Vec<&ElementRef<'_>> = controls.iter().filter(|c| is_submit(c)).collect();
            let pressed = match &self.button {
                Some(wanted) => Some(*buttons.iter().find(|b| button_is(b, wanted))?),
                None => buttons.first().copied(),
            };
            if self.fields.is_empty() && pressed.is_none() {
                return None;
            }
            let mut fields = Vec::new();
            for control in &controls {
                let element = control.value();
                let Some(name) = element.attr("name") else { continue };
                if is_submit(control) {
                    if pressed.is_some_and(|p| p.id() == control.id()) {
                        fields.push((name.to_owned(), element.attr("value").unwrap_or_default().to_owned()));
                    }
                    continue;
                }
                let kind = element.attr("type").unwrap_or("text").to_ascii_lowercase();
                if matches!(kind.as_str(), "checkbox" | "radio") && element.attr("checked").is_none() {
                    continue;
                }
                let value = match self.fields.get(name) {
                    Some(value) => value.clone(),
                    None if element.name() == "textarea" => control.text().collect(),
                    None => element.attr("value").unwrap_or_default().to_owned(),
                };
                fields.push((name.to_owned(), value));
            }
            let action = form.value().attr("action").filter(|a| !a.trim().is_empty());
            let url = match action {
                Some(action) => page.join(action).ok()?,
                None => page.clone(),
            };
            let method = match form.value().attr("method") {
                Some(m) if m.eq_ignore_ascii_case("get") => "GET",
                _ => "POST",
            };
            Some(Submission { method: method.to_owned(), url, fields })
        })
    }
}

/// The form a page posts by itself when it loads (`<body onload="…submit()">`), as the OAuth 2.0
/// Form Post Response Mode page does: what a browser running the page's script sends.
pub fn auto_post(page: &Url, html: &str) -> Option<Submission> {
    let document = Html::parse_document(html);
    let body = document.select(&selector("body")).next()?;
    if !body.value().attr("onload").is_some_and(|script| script.contains("submit()")) {
        return None;
    }
    let form = document.select(&selector("form")).next()?;
    let fields = form
        .select(&selector("input"))
        .filter_map(|input| {
            let element = input.value();
            Some((element.attr("name")?.to_owned(), element.attr("value").unwrap_or_default().to_owned()))
        })
        .collect();
    let url = match form.value().attr("action").filter(|a| !a.trim().is_empty()) {
        Some(action) => page.join(action).ok()?,
        None => page.clone(),
    };
    let method = match form.value().attr("method") {
        Some(m) if m.eq_ignore_ascii_case("get") => "GET",
        _ => "POST",
    };
    Some(Submission { method: method.to_owned(), url, fields })
}

fn is_submit(control: &ElementRef<'_>) -> bool {
    let element = control.value();
    let kind = element.attr("type").map(str::to_ascii_lowercase);
    match element.name() {
        "button" => kind.is_none_or(|k| k == "submit"),
        "input" => kind.is_some_and(|k| k == "submit" || k == "image"),
        _ => false,
    }
}

fn button_is(button: &ElementRef<'_>, wanted: &str) -> bool {
    let text: String = button.text().collect();
    let element = button.value();
    text.trim() == wanted || element.attr("value") == Some(wanted) || element.attr("name") == Some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
<form method="post" action="/login?x=1">
  <input type="hidden" name="csrf" value="t0k3n">
  <input type="text" name="username">
  <input type="password" name="password">
  <input type="checkbox" name="remember" value="yes">
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>
<form method="post"><button type="submit" name="consent" value="deny">Deny</button></form>
</body></html>"#;

    #[test]
    fn a_page_that_posts_itself_on_load_is_posted_with_its_hidden_fields() {
        let page = Url::parse("https://idp.sso.test:1/authorize").unwrap();
        let html = r#"<html><body onload="javascript:document.forms[0].submit()"><form method="post" action="http://rp.sso.test:2/callback"><input type="hidden" name="code" value="c&amp;1"/><input type="hidden" name="state" value="s"/></form></body></html>"#;

        let submission = auto_post(&page, html).unwrap();

        assert_eq!((submission.method.as_str(), submission.url.as_str()), ("POST", "http://rp.sso.test:2/callback"));
        assert_eq!(submission.fields, [("code".to_owned(), "c&1".to_owned()), ("state".to_owned(), "s".to_owned())]);
        assert!(auto_post(&page, PAGE).is_none(), "a page without an onload submit is not posted");
    }

    #[test]
    fn the_form_with_the_fields_is_filled_hidden_fields_kept_and_the_named_button_pressed() {
        let form = LoginForm {
            fields: [("username", "alice"), ("password", "pw")].map(|(k, v)| (k.to_owned(), v.to_owned())).into(),
            button: Some("Sign in".to_owned()),
        };
        let page = Url::parse("https://idp.example.test/authorize?client_id=c").unwrap();
        let submission = form.fill(&page, PAGE).unwrap();
        assert_eq!(submission.method, "POST");
        assert_eq!(submission.url.as_str(), "https://idp.example.test/login?x=1");
        let fields: Vec<(&str, &str)> = submission.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(fields, [("csrf", "t0k3n"), ("username", "alice"), ("password", "pw"), ("action", "login")]);
    }

    #[test]
    fn a_consent_button_alone_is_pressed_and_a_missing_field_fits_no_form() {
        let consent = LoginForm { fields: BTreeMap::new(), button: Some("deny".to_owned()) };
        let page = Url::parse("https://idp.example.test/consent").unwrap();
        let submission = consent.fill(&page, PAGE).unwrap();
        assert_eq!(submission.url, page);
        assert_eq!(submission.fields, [("consent".to_owned(), "deny".to_owned())]);
        let missing = LoginForm { fields: [("otp".to_owned(), "1".to_owned())].into(), button: None };
        assert_eq!(missing.fill(&page, PAGE), None);
    }
}
