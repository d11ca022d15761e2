//! A browser without JavaScript for the server's web pages: cookies kept by hand, redirects
//! not followed, forms posted URL-encoded; it talks to the server directly (the validating
//! proxy checks Matrix responses, and the pages answer HTML).

use anyhow::{ensure, Context, Result};

use crate::TestServer;

/// A browser on one page of the server.
pub struct Browser {
    http: reqwest::Client,
    url: String,
    cookies: Vec<(String, String)>,
}

/// `text` percent-encoded for a form body.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A page as the browser got it.
pub struct PageResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header (empty without one).
    pub location: String,
    /// The body.
    pub html: String,
}

impl PageResponse {
    /// The value of the hidden CSRF field.
    pub fn csrf(&self) -> Result<String> {
        let (_, rest) = self
            .html
            .split_once("name=\"csrf\" value=\"")
            .context("no CSRF field")?;
        Ok(rest.split('"').next().unwrap_or_default().to_owned())
    }

    /// The text of the error box, if any.
    pub fn error(&self) -> Option<&str> {
        let (_, rest) = self
            .html
            .split_once("role=\"alert\" id=\"form-error\"><p>")?;
        rest.split("</p>").next()
    }

    /// The text of the success box, if any.
    pub fn ok(&self) -> Option<&str> {
        let (_, rest) = self.html.split_once("role=\"status\"><p>")?;
        rest.split("</p>").next()
    }
}

impl Browser {
    /// A browser on the page at `path` of `server`.
    pub fn new(server: &TestServer, path: &str) -> Result<Self> {
        let config = std::fs::read_to_string(server.path("schulhof.toml"))?;
        let listen = config
            .lines()
            .find_map(|line| line.strip_prefix("listen = "))
            .context("listen in the configuration")?
            .trim_matches('"');
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            url: format!("http://{listen}{path}"),
            cookies: Vec::new(),
        })
    }

    /// `GET` the page.
    pub async fn get(&mut self) -> Result<PageResponse> {
        let request = self.http.get(&self.url);
        self.send(request).await
    }

    /// Posts a form with these fields to the page.
    pub async fn post(&mut self, fields: &[(&str, &str)]) -> Result<PageResponse> {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<PageResponse> {
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await?;
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(PageResponse {
            status,
            location,
            html: response.text().await?,
        })
    }

    /// Opens the page and logs in with `password`; returns the answer to the login form.
    pub async fn log_in_with(&mut self, localpart: &str, password: &str) -> Result<PageResponse> {
        let page = self.get().await?;
        ensure!(page.status == 200 && page.html.contains("name=\"username\""));
        let csrf = page.csrf()?;
        self.post(&[
            ("csrf", &csrf),
            ("step", "login"),
            ("username", localpart),
            ("password", password),
        ])
        .await
    }

    /// Posts a form of a logged-in page: the CSRF token of the page as it is now, the step and
    /// the fields.
    pub async fn submit(&mut self, step: &str, fields: &[(&str, &str)]) -> Result<PageResponse> {
        let csrf = self.get().await?.csrf()?;
        let mut all = vec![("csrf", csrf.as_str()), ("step", step)];
        all.extend_from_slice(fields);
        self.post(&all).await
    }
}
