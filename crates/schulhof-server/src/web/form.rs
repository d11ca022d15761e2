//! Reading what a browser sends: cookies, query language and URL-encoded form bodies.

use std::collections::HashMap;

use axum::body::Body;

use crate::config::Language;

/// Largest accepted form body.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The fields of a submitted form (the first value of each name).
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Form {
        let mut fields = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            fields
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Form(fields)
    }

    /// A field's value, empty when missing.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Why a form body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    /// Not `application/x-www-form-urlencoded`.
    WrongType,
    /// Larger than [`MAX_FORM_BYTES`].
    TooLarge,
}

impl FormError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            FormError::WrongType => http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FormError::TooLarge => http::StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// What to tell the visitor.
    pub fn message(&self, lang: Language) -> String {
        let (de, en) = match self {
            FormError::WrongType => (
                "Das Formular wurde nicht richtig gesendet. Bitte versuche es noch einmal.",
                "The form was not sent correctly. Please try again.",
            ),
            FormError::TooLarge => ("Die Eingaben sind zu lang.", "The input is too long."),
        };
        super::html::tr(lang, de, en).to_owned()
    }
}

/// Reads a form body of at most [`MAX_FORM_BYTES`].
pub async fn read(headers: &http::HeaderMap, body: Body) -> Result<Form, FormError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::WrongType);
    }
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| FormError::TooLarge)?;
    Ok(Form::parse(&bytes))
}

/// The cookie `name` from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// The language a visitor asked for with `?lang=de|en`, if any.
pub fn query_language(uri: &http::Uri) -> Option<Language> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| match v.as_ref() {
            "de" => Some(Language::De),
            "en" => Some(Language::En),
            _ => None,
        })
}

/// A query parameter's value.
pub fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded_and_first_value_wins() {
        let form = Form::parse(
            b"username=anna.schmidt&code=12+34%2056&password=P%C3%A4ss%26w%3D1!&code=999",
        );
        assert_eq!(form.get("username"), "anna.schmidt");
        assert_eq!(form.get("code"), "12 34 56");
        assert_eq!(form.get("password"), "Päss&w=1!");
        assert_eq!(form.get("missing"), "");
    }

    #[tokio::test]
    async fn body_type_and_size_are_checked() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            read(&headers, Body::from("a=b")).await.unwrap_err(),
            FormError::WrongType
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            read(&headers, Body::from("a=b")).await.unwrap().get("a"),
            "b"
        );
        let big = format!("a={}", "x".repeat(MAX_FORM_BYTES));
        assert_eq!(
            read(&headers, Body::from(big)).await.unwrap_err(),
            FormError::TooLarge
        );
    }

    #[test]
    fn cookies_and_language_are_found() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            "a=1; schulhof_csrf=tok".parse().unwrap(),
        );
        headers.append(http::header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&headers, "schulhof_csrf"), Some("tok"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
        let uri: http::Uri = "/erstanmeldung?x=1&lang=en".parse().unwrap();
        assert_eq!(query_language(&uri), Some(Language::En));
        assert_eq!(query_language(&"/e?lang=fr".parse().unwrap()), None);
        assert_eq!(query_param(&uri, "x").as_deref(), Some("1"));
    }
}
