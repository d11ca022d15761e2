//! The spec index and response validation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::bundle::Documents;
pub use crate::bundle::LoadError;
use crate::matching::{request_segments, PathTemplate};

/// Where the client-server API files live inside the matrix-spec checkout.
const API_DIR: &str = "data/api/client-server";
/// The standard error schema, used for error statuses the spec does not describe.
const ERROR_SCHEMA: &str = "definitions/errors/error.yaml";
/// OpenAPI operation keys of a path item.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];
/// Longest excerpt of a body or validation message quoted in a violation.
const MAX_QUOTE: usize = 300;

/// Outcome of validating a response that did not violate the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A JSON schema from the spec applied and the body satisfied it.
    Validated,
    /// Nothing in the spec applies (unknown path, method or status, or a body the spec does
    /// not describe as JSON such as media downloads); the reason says which.
    Unknown(String),
}

/// Index of the Matrix client-server API spec with compiled response schemas.
pub struct SpecValidator {
    paths: Vec<PathEntry>,
    error_schema: Validator,
}

/// The operations of one path template.
struct PathEntry {
    template: PathTemplate,
    /// Upper-case HTTP method -> responses by OpenAPI status key (`200`, `4XX`, `default`).
    operations: HashMap<String, HashMap<String, ResponseBody>>,
}

/// What the spec says about one response's body.
enum ResponseBody {
    /// An `application/json` body with this schema.
    Json(Box<Validator>),
    /// Anything else; the reason for not validating it.
    Undescribed(String),
}

/// A response matched to a spec operation (or not).
struct Target<'a> {
    /// `METHOD template status`, if the path and method are in the spec.
    endpoint: Option<String>,
    /// The applicable body description, or why none applies.
    body: Result<&'a ResponseBody, String>,
}

impl SpecValidator {
    /// Loads and indexes every client-server API file under `spec_dir` (a matrix-spec
    /// checkout); paths are prefixed with each file's `servers[].variables.basePath` default,
    /// e.g. `/_matrix/client/v3`, `/_matrix/media/v3`, `/_matrix/client/v1`.
    pub fn load(spec_dir: &Path) -> Result<Self, LoadError> {
        let api_dir = spec_dir.join(API_DIR);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&api_dir)
            .map_err(|source| LoadError::Io {
                path: api_dir.clone(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        if files.is_empty() {
            return Err(LoadError::NoApiFiles(api_dir));
        }
        files.sort();

        let mut docs = Documents::default();
        let mut paths: Vec<PathEntry> = Vec::new();
        for file in files {
            let file = docs.load(&file)?;
            let doc = docs.get(&file).clone();
            let base_path = doc
                .pointer("/servers/0/variables/basePath/default")
                .and_then(Value::as_str)
                .unwrap_or("");
            for (path, item) in doc
                .get("paths")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let template = format!("{base_path}{path}");
                let (item, item_file) = docs.deref_object(item, &file)?;
                let index = match paths.iter().position(|e| e.template.as_str() == template) {
                    Some(index) => index,
                    None => {
                        paths.push(PathEntry {
                            template: PathTemplate::parse(&template),
                            operations: HashMap::new(),
                        });
                        paths.len() - 1
                    }
                };
                for method in METHODS {
                    let Some(responses) = item.pointer(&format!("/{method}/responses")) else {
                        continue;
                    };
                    let method = method.to_ascii_uppercase();
                    let mut bodies = HashMap::new();
                    for (status, response) in responses.as_object().into_iter().flatten() {
                        let operation = format!("{method} {template} {status}");
                        let body = response_body(&mut docs, response, &item_file, &operation)?;
                        bodies.insert(status.clone(), body);
                    }
                    paths[index].operations.insert(method, bodies);
                }
            }
        }

        let error_file = docs.load(&api_dir.join(ERROR_SCHEMA))?;
        let error_schema = docs.get(&error_file).clone();
        let error_schema = compile(
            &docs.bundle_schema(&error_schema, &error_file)?,
            ERROR_SCHEMA,
        )?;
        Ok(Self {
            paths,
            error_schema,
        })
    }

    /// Loads the spec from where [`spec_dir`](crate::spec_dir) finds it.
    pub fn load_default() -> Result<Self, LoadError> {
        Self::load(&crate::spec_dir()?)
    }

    /// Validates one response. `path` is the request path without query string
    /// (percent-encoded as sent).
    ///
    /// Returns `Ok(Checked::Validated)` if an operation+status schema matched and the body
    /// validated, `Ok(Checked::Unknown(reason))` when the spec has no such path/method/status
    /// or does not describe the body as JSON (e.g. media downloads), and `Err(violations)`
    /// with human-readable messages (path, method, status, JSON pointer, what is wrong).
    /// Error statuses (4xx/5xx) the spec does not describe for the request, including on
    /// unknown paths, must still be standard Matrix errors (`errcode` string, optional
    /// `error` string); responses to `HEAD` and `OPTIONS` requests are never checked.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &[u8],
    ) -> Result<Checked, Vec<String>> {
        self.check(method, path, status, body).1
    }

    /// Like [`SpecValidator::validate`], also returning `METHOD template status` when the
    /// body was checked against a schema of a known operation.
    pub(crate) fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &[u8],
    ) -> (Option<String>, Result<Checked, Vec<String>>) {
        let method = method.to_ascii_uppercase();
        if method == "HEAD" || method == "OPTIONS" {
            return (
                None,
                Ok(Checked::Unknown(format!(
                    "{method} responses have no body to check"
                ))),
            );
        }
        let target = self.target(&method, path, status);
        let (label, validator) = match target.body {
            Ok(ResponseBody::Json(validator)) => (target.endpoint.clone(), &**validator),
            Ok(ResponseBody::Undescribed(reason)) => {
                return (None, Ok(Checked::Unknown(reason.clone())))
            }
            Err(reason) if status < 400 => return (None, Ok(Checked::Unknown(reason))),
            Err(_) => (target.endpoint.clone(), &self.error_schema),
        };
        let context = format!(
            "{method} {path} -> {status} ({})",
            target
                .endpoint
                .as_deref()
                .unwrap_or("not in spec, checked as a standard error")
        );
        let instance: Value = match serde_json::from_slice(body) {
            Ok(instance) => instance,
            Err(error) => {
                let start = quote(&String::from_utf8_lossy(body));
                return (
                    label,
                    Err(vec![format!(
                        "{context}: body is not JSON ({error}): {start:?}"
                    )]),
                );
            }
        };
        let violations: Vec<String> = validator
            .iter_errors(&instance)
            .map(|error| {
                let pointer = error.instance_path().as_str();
                let pointer = if pointer.is_empty() {
                    "(root)"
                } else {
                    pointer
                };
                format!(
                    "{context}: at {pointer}: {} [schema {}]",
                    quote(&error.to_string()),
                    error.schema_path().as_str()
                )
            })
            .collect();
        let result = if violations.is_empty() {
            Ok(Checked::Validated)
        } else {
            Err(violations)
        };
        (label, result)
    }

    /// Finds the spec's description of the response, preferring the most specific template.
    fn target(&self, method: &str, path: &str, status: u16) -> Target<'_> {
        let mut segments = request_segments(path);
        let mut matched = self.matching(&segments);
        if matched.is_empty() {
            // The spec allows omitting a trailing slash before an empty final variable.
            segments.push(String::new());
            matched = self.matching(&segments);
        }
        if matched.is_empty() {
            return Target {
                endpoint: None,
                body: Err(format!("path {path} is not in the spec")),
            };
        }
        let Some((entry, responses)) = matched
            .into_iter()
            .filter_map(|entry| entry.operations.get(method).map(|ops| (entry, ops)))
            .min_by_key(|(entry, _)| entry.template.variables())
        else {
            return Target {
                endpoint: None,
                body: Err(format!("{method} {path} is not in the spec")),
            };
        };
        let endpoint = format!("{method} {} {status}", entry.template.as_str());
        let body = [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .iter()
        .find_map(|key| responses.get(key))
        .ok_or_else(|| format!("status {status} of {endpoint} is not described"));
        Target {
            endpoint: Some(endpoint),
            body,
        }
    }

    fn matching(&self, segments: &[String]) -> Vec<&PathEntry> {
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.paths
            .iter()
            .filter(|entry| entry.template.matches(&segments))
            .collect()
    }
}

/// Resolves one OpenAPI response object (found in `file`) to its body description.
fn response_body(
    docs: &mut Documents,
    response: &Value,
    file: &Path,
    operation: &str,
) -> Result<ResponseBody, LoadError> {
    let (response, file) = docs.deref_object(response, file)?;
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return Ok(ResponseBody::Undescribed(format!(
            "{operation} has no body in the spec"
        )));
    };
    let Some(schema) = content
        .get("application/json")
        .and_then(|json| json.get("schema"))
    else {
        let types: Vec<&str> = content.keys().map(String::as_str).collect();
        return Ok(ResponseBody::Undescribed(format!(
            "{operation} is not JSON in the spec ({})",
            types.join(", ")
        )));
    };
    let schema = docs.bundle_schema(schema, &file)?;
    Ok(ResponseBody::Json(Box::new(compile(&schema, operation)?)))
}

fn compile(schema: &Value, operation: &str) -> Result<Validator, LoadError> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(schema)
        .map_err(|error| LoadError::Schema {
            operation: operation.to_owned(),
            message: error.to_string(),
        })
}

/// Shortens text quoted in a violation to [`MAX_QUOTE`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTE) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    /// The real spec, loaded once for all tests.
    static SPEC: LazyLock<Result<SpecValidator, String>> =
        LazyLock::new(|| SpecValidator::load_default().map_err(|e| e.to_string()));

    /// The real spec; every test using it fails with the reason if it cannot be loaded.
    fn spec() -> &'static SpecValidator {
        SPEC.as_ref().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn loads_every_api_file() {
        let spec = spec();
        let count = |prefix: &str| {
            spec.paths
                .iter()
                .filter(|e| e.template.as_str().starts_with(prefix))
                .count()
        };
        assert!(spec.paths.len() > 130, "{} paths", spec.paths.len());
        assert!(count("/_matrix/client/v3/") > 80);
        assert!(count("/_matrix/client/v1/") > 10);
        assert!(count("/_matrix/media/v3/") >= 3);
        assert!(count("/.well-known/matrix/") >= 2);
    }

    fn check(method: &str, path: &str, status: u16, body: &str) -> Result<Checked, Vec<String>> {
        spec().validate(method, path, status, body.as_bytes())
    }

    #[test]
    fn valid_versions_body_validates() {
        let body = r#"{"versions":["v1.11","v1.12"],"unstable_features":{"org.example":true}}"#;
        assert_eq!(
            check("GET", "/_matrix/client/versions", 200, body),
            Ok(Checked::Validated)
        );
    }

    #[test]
    fn invalid_versions_body_is_reported_with_pointer() {
        let violations = check(
            "GET",
            "/_matrix/client/versions",
            200,
            r#"{"versions":"v1.11"}"#,
        )
        .expect_err("versions must be an array");
        assert_eq!(violations.len(), 1, "{violations:?}");
        let message = &violations[0];
        for part in [
            "GET",
            "/_matrix/client/versions",
            "200",
            "at /versions",
            "array",
        ] {
            assert!(message.contains(part), "{part:?} missing from {message}");
        }
    }

    #[test]
    fn sync_body_validates() {
        let body = r#"{
            "next_batch": "s72595_4483_1934",
            "account_data": {"events": [{"type": "m.push_rules", "content": {}}]},
            "presence": {"events": []},
            "to_device": {"events": []},
            "device_lists": {"changed": ["@alice:example.org"], "left": []},
            "device_one_time_keys_count": {"signed_curve25519": 50},
            "device_unused_fallback_key_types": ["signed_curve25519"],
            "rooms": {
                "join": {
                    "!room:example.org": {
                        "summary": {"m.joined_member_count": 1, "m.heroes": []},
                        "state": {"events": []},
                        "timeline": {
                            "events": [{
                                "event_id": "$event",
                                "type": "m.room.message",
                                "sender": "@alice:example.org",
                                "origin_server_ts": 1432735824653,
                                "content": {"msgtype": "m.text", "body": "hello"},
                                "unsigned": {"age": 1234}
                            }],
                            "limited": false,
                            "prev_batch": "t34-23535_0_0"
                        },
                        "ephemeral": {"events": []},
                        "account_data": {"events": []},
                        "unread_notifications": {"highlight_count": 0, "notification_count": 1}
                    }
                },
                "invite": {},
                "leave": {}
            }
        }"#;
        assert_eq!(
            check("GET", "/_matrix/client/v3/sync", 200, body),
            Ok(Checked::Validated)
        );
        let broken = body.replace(
            r#""origin_server_ts": 1432735824653"#,
            r#""origin_server_ts": "x""#,
        );
        let violations = check("GET", "/_matrix/client/v3/sync", 200, &broken).unwrap_err();
        assert!(
            violations
                .iter()
                .any(|v| v.contains("/rooms/join/!room:example.org/timeline/events/0")),
            "{violations:?}"
        );
    }

    #[test]
    fn error_bodies_validate() {
        let forbidden = r#"{"errcode":"M_FORBIDDEN","error":"x"}"#;
        let send = "/_matrix/client/v3/rooms/%21abc%3Aserver/send/m.room.message/1";
        // 403 is not described for this operation: checked as a standard error.
        assert_eq!(check("PUT", send, 403, forbidden), Ok(Checked::Validated));
        // 403 is described for this one.
        let state = "/_matrix/client/v3/rooms/%21abc%3Aserver/state/m.room.name/";
        assert_eq!(check("PUT", state, 403, forbidden), Ok(Checked::Validated));
        // Unknown endpoints must still answer with standard errors.
        let unknown = "/_matrix/client/unstable/org.example/thing";
        assert_eq!(
            check("GET", unknown, 404, r#"{"errcode":"M_UNRECOGNIZED"}"#),
            Ok(Checked::Validated)
        );
        let violations = check("GET", unknown, 404, r#"{"error":"no errcode"}"#).unwrap_err();
        assert!(violations[0].contains("errcode"), "{violations:?}");
        assert!(check("PUT", send, 500, "Internal Server Error").is_err());
    }

    #[test]
    fn percent_encoded_ids_match_templates() {
        let send = "/_matrix/client/v3/rooms/%21abc%3Aserver/send/m.room.message/1";
        assert_eq!(
            check("PUT", send, 200, r#"{"event_id":"$e"}"#),
            Ok(Checked::Validated)
        );
        let violations = check("PUT", send, 200, "{}").unwrap_err();
        assert!(
            violations[0].contains("/rooms/{roomId}/send/{eventType}/{txnId}"),
            "{violations:?}"
        );
        assert!(violations[0].contains("event_id"), "{violations:?}");
        let (endpoint, _) = spec().check("PUT", send, 200, br#"{"event_id":"$e"}"#);
        assert_eq!(
            endpoint.as_deref(),
            Some("PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId} 200")
        );
    }

    #[test]
    fn legacy_r0_prefix_is_checked_as_v3() {
        let body = r#"{"user_id":"@alice:example.org"}"#;
        assert_eq!(
            check("GET", "/_matrix/client/r0/account/whoami", 200, body),
            Ok(Checked::Validated)
        );
        assert!(check("GET", "/_matrix/client/r0/account/whoami", 200, "{}").is_err());
    }

    #[test]
    fn most_specific_template_wins() {
        // `/pushrules/global/` (no variables) rather than `/pushrules/{scope}/...`-style ones.
        let (endpoint, _) = spec().check("GET", "/_matrix/client/v3/pushrules/global/", 200, b"{}");
        assert_eq!(
            endpoint.as_deref(),
            Some("GET /_matrix/client/v3/pushrules/global/ 200")
        );
    }

    #[test]
    fn undescribed_responses_are_unknown() {
        let unknown =
            |result: Result<Checked, Vec<String>>| matches!(result, Ok(Checked::Unknown(_)));
        assert!(unknown(check(
            "GET",
            "/_matrix/client/v3/no/such/endpoint",
            200,
            "{}"
        )));
        assert!(unknown(check(
            "DELETE",
            "/_matrix/client/v3/sync",
            200,
            "{}"
        )));
        assert!(unknown(check("GET", "/_matrix/client/v3/sync", 302, "")));
        assert!(unknown(check("HEAD", "/_matrix/client/v3/sync", 404, "")));
        let download = "/_matrix/client/v1/media/download/example.org/abc";
        assert!(unknown(check("GET", download, 200, "\u{89}PNG")));
    }

    #[test]
    fn non_json_body_is_a_violation() {
        let violations = check("GET", "/_matrix/client/versions", 200, "<html>").unwrap_err();
        assert!(violations[0].contains("not JSON"), "{violations:?}");
    }

    /// Every JSON response example in the spec (except those built from `$ref`s) must
    /// validate against its own operation's schema: a check of the bundling.
    #[test]
    fn spec_examples_validate() {
        let api_dir = crate::spec_dir()
            .unwrap_or_else(|e| panic!("{e}"))
            .join(API_DIR);
        let mut docs = Documents::default();
        let mut checked = 0;
        for file in std::fs::read_dir(&api_dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_none_or(|ext| ext != "yaml") {
                continue;
            }
            let file = docs.load(&file).unwrap();
            let doc = docs.get(&file).clone();
            let base = doc
                .pointer("/servers/0/variables/basePath/default")
                .and_then(Value::as_str);
            for (path, item) in doc["paths"].as_object().unwrap() {
                for method in METHODS {
                    let responses = item.pointer(&format!("/{method}/responses"));
                    for (status, response) in
                        responses.and_then(Value::as_object).into_iter().flatten()
                    {
                        let (response, file) = docs.deref_object(response, &file).unwrap();
                        let examples = response.pointer("/content/application~1json/examples");
                        for example in examples
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                            .map(|e| e.1)
                        {
                            let value =
                                docs.deref_object(example, &file).unwrap().0["value"].to_string();
                            if value.contains("$ref") {
                                continue;
                            }
                            let path = format!("{}{path}", base.unwrap_or(""));
                            let result = spec().validate(
                                method,
                                &path,
                                status.parse().unwrap(),
                                value.as_bytes(),
                            );
                            assert_eq!(result, Ok(Checked::Validated), "{method} {path} {status}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 200, "only {checked} examples");
    }
}
