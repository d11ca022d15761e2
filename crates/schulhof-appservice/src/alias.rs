//! Room aliases of managed rooms: a key (`group:Klasse 8.1`, with spaces and umlauts) becomes
//! an alias-safe localpart in the appservice's alias namespace, e.g.
//! `schule_group-klasse-8-1_3f9a0c12` (the prefix, a transliterated slug for people to read,
//! and a hash of the exact key so different keys never share an alias).

use sha2::{Digest, Sha256};

use crate::desired::RoomKey;

/// Longest slug kept (aliases stay readable; the hash keeps them unique).
const MAX_SLUG: usize = 48;

/// The alias localpart of `key` with the namespace's literal `prefix` (e.g. `schule_`).
pub fn alias_localpart(prefix: &str, key: &RoomKey) -> String {
    let digest = Sha256::digest(key.as_str().as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{}_{hash}", slug(key.as_str()))
}

/// Lower case ASCII letters and digits; German umlauts and ß transliterated, other letters
/// stripped of accents where simple, everything else one `-`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let piece = match c {
            'a'..='z' | '0'..='9' => c.to_string(),
            'ä' => "ae".to_owned(),
            'ö' => "oe".to_owned(),
            'ü' => "ue".to_owned(),
            'ß' => "ss".to_owned(),
            'à' | 'á' | 'â' | 'ã' | 'å' => "a".to_owned(),
            'è' | 'é' | 'ê' | 'ë' => "e".to_owned(),
            'ì' | 'í' | 'î' | 'ï' => "i".to_owned(),
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' => "o".to_owned(),
            'ù' | 'ú' | 'û' => "u".to_owned(),
            'ç' => "c".to_owned(),
            'ñ' => "n".to_owned(),
            _ => "-".to_owned(),
        };
        if piece == "-" && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push_str(&piece);
    }
    let mut slug: String = out.trim_end_matches('-').chars().take(MAX_SLUG).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// The literal prefix of an alias namespace regex such as `#schule_.*:schule\.example`
/// (`schule_`): the characters after `#` up to the first regex operator, with escapes
/// resolved. `None` if it has no literal prefix.
pub fn namespace_prefix(regex: &str) -> Option<String> {
    let rest = regex.strip_prefix('^').unwrap_or(regex);
    let rest = rest
        .strip_prefix("\\#")
        .or_else(|| rest.strip_prefix('#'))?;
    let mut prefix = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if !escaped.is_ascii_alphanumeric() => prefix.push(escaped),
                _ => break,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' | ':' => {
                break
            }
            _ => prefix.push(c),
        }
    }
    (!prefix.is_empty()).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_readable_safe_and_distinct() {
        let a = alias_localpart("schule_", &RoomKey::group("Klasse 8.1"));
        assert!(a.starts_with("schule_group-klasse-8-1_"), "{a}");
        assert_eq!(a.len(), "schule_group-klasse-8-1_".len() + 8);
        let b = alias_localpart("schule_", &RoomKey::group("Klasse 8-1"));
        assert_ne!(a, b, "same slug, different keys");
        let umlaut = alias_localpart("s_", &RoomKey::group("AG Größenwahn & Öl"));
        assert!(
            umlaut.starts_with("s_group-ag-groessenwahn-oel_"),
            "{umlaut}"
        );
        assert!(alias_localpart("s_", &RoomKey::school()).starts_with("s_space-school_"));
        assert!(alias_localpart("s_", &RoomKey::year("Q1")).starts_with("s_space-year-q1_"));
        let long = alias_localpart("s_", &RoomKey::group(&"x".repeat(300)));
        assert!(long.len() < 70);
        for alias in [a, b, umlaut, long] {
            assert!(alias
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c)));
        }
    }

    #[test]
    fn namespace_prefixes() {
        assert_eq!(
            namespace_prefix("#schule_.*:schule\\.example").as_deref(),
            Some("schule_")
        );
        assert_eq!(
            namespace_prefix("\\#gruppe_.*:schule\\.test").as_deref(),
            Some("gruppe_")
        );
        assert_eq!(namespace_prefix("^#a\\-b.*").as_deref(), Some("a-b"));
        assert_eq!(namespace_prefix("#.*"), None);
        assert_eq!(namespace_prefix("@x_.*"), None);
    }
}
