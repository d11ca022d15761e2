//! Matching request paths against OpenAPI path templates.

/// Legacy path prefixes and their current equivalents.
const LEGACY_PREFIXES: [(&str, &str); 2] = [
    ("/_matrix/client/r0/", "/_matrix/client/v3/"),
    ("/_matrix/media/r0/", "/_matrix/media/v3/"),
];

/// One segment of a path template.
#[derive(Debug, PartialEq)]
enum Segment {
    Literal(String),
    /// A `{name}` placeholder; matches any single (percent-encoded) segment, even an empty one.
    Variable,
}

/// A full path template such as `/_matrix/client/v3/rooms/{roomId}/state`.
#[derive(Debug)]
pub(crate) struct PathTemplate {
    template: String,
    segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses a template; a segment is a variable when it is entirely `{...}`.
    pub(crate) fn parse(template: &str) -> Self {
        let segments = split(template)
            .into_iter()
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    Segment::Variable
                } else {
                    Segment::Literal(segment.to_owned())
                }
            })
            .collect();
        Self {
            template: template.to_owned(),
            segments,
        }
    }

    /// The template as written in the spec (with its base path).
    pub(crate) fn as_str(&self) -> &str {
        &self.template
    }

    /// Number of variable segments; fewer means more specific.
    pub(crate) fn variables(&self) -> usize {
        self.segments
            .iter()
            .filter(|segment| **segment == Segment::Variable)
            .count()
    }

    /// Whether the split request path matches this template segment by segment.
    pub(crate) fn matches(&self, path: &[&str]) -> bool {
        self.segments.len() == path.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(segment, actual)| match segment {
                    Segment::Literal(literal) => literal == actual,
                    Segment::Variable => true,
                })
    }
}

/// Splits a request path into segments for matching, mapping legacy prefixes (`r0`) to `v3`.
pub(crate) fn request_segments(path: &str) -> Vec<String> {
    let path = LEGACY_PREFIXES
        .iter()
        .find_map(|(legacy, current)| {
            path.strip_prefix(legacy)
                .map(|rest| format!("{current}{rest}"))
        })
        .unwrap_or_else(|| path.to_owned());
    split(&path).into_iter().map(str::to_owned).collect()
}

/// The segments after the leading `/` (a trailing `/` yields a final empty segment).
fn split(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(template: &str, path: &str) -> bool {
        let segments = request_segments(path);
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        PathTemplate::parse(template).matches(&segments)
    }

    #[test]
    fn percent_encoded_variables_match() {
        let template = "/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}";
        assert!(matches(
            template,
            "/_matrix/client/v3/rooms/%21abc%3Aserver/send/m.room.message/1"
        ));
        assert!(!matches(
            template,
            "/_matrix/client/v3/rooms/%21abc%3Aserver/redact/m.room.message/1"
        ));
        assert!(!matches(
            template,
            "/_matrix/client/v3/rooms/%21abc%3Aserver/send/m.room.message"
        ));
    }

    #[test]
    fn legacy_prefix_maps_to_v3() {
        assert!(matches(
            "/_matrix/client/v3/sync",
            "/_matrix/client/r0/sync"
        ));
        assert!(!matches(
            "/_matrix/client/v3/sync",
            "/_matrix/client/v1/sync"
        ));
    }

    #[test]
    fn trailing_slash_is_an_empty_segment() {
        let template = "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}";
        assert!(matches(
            template,
            "/_matrix/client/v3/rooms/%21a%3Ab/state/m.room.name/"
        ));
        assert!(matches(
            "/_matrix/client/v3/pushrules/",
            "/_matrix/client/v3/pushrules/"
        ));
        assert!(!matches(
            "/_matrix/client/v3/pushrules/",
            "/_matrix/client/v3/pushrules"
        ));
    }

    #[test]
    fn counts_variables() {
        assert_eq!(PathTemplate::parse("/a/{b}/c/{d}").variables(), 2);
        assert_eq!(PathTemplate::parse("/a/b").variables(), 0);
    }
}
