//! The password rule for new passwords (config section `[passwords]`): a minimum length,
//! character classes, no well-known password and not the user's own name.
//!
//! Well-known passwords come from `common_passwords.txt` and are compared case-insensitively
//! and with umlauts transliterated; a password that is only such a word with digits or special
//! characters around it (`Sommer2025!`) counts as well-known too.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::config::PasswordRule;
use crate::error::Text;
use crate::{Error, Result};

/// The well-known passwords, normalized.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(normalize)
        .collect()
});

/// Name parts shorter than this are not looked for in passwords.
const MIN_NAME_PART: usize = 3;

/// A word inside a password shorter than this is not compared with the list.
const MIN_CORE: usize = 4;

/// Checks a new password against the rule; `user_hint` holds the user's own names (localpart,
/// display name), which the password must not contain. The error is `M_WEAK_PASSWORD` with a
/// German text naming exactly what is missing.
pub fn check(rule: &PasswordRule, password: &str, user_hint: &[&str]) -> Result<()> {
    let unmet = Unmet::of(rule, password);
    if unmet.any() {
        return Err(Error::WeakPassword(unmet.text(rule.min_length)));
    }
    if rule.reject_common && is_common(password) {
        return Err(Error::WeakPassword(Text::new(
            "Dieses Passwort ist zu bekannt und leicht zu erraten. Bitte wähle ein anderes.",
            "This password is too well known and easy to guess. Please choose another one.",
        )));
    }
    if rule.reject_common && contains_name(password, user_hint) {
        return Err(Error::WeakPassword(Text::new(
            "Das Passwort darf deinen Namen oder Benutzernamen nicht enthalten.",
            "The password must not contain your name or user name.",
        )));
    }
    Ok(())
}

/// The rule in words, for the help text next to a new-password field.
pub fn describe(rule: &PasswordRule) -> Text {
    let all = Unmet {
        length: true,
        upper: rule.require_upper,
        lower: rule.require_lower,
        digit: rule.require_digit,
        special: rule.require_special,
    };
    let text = all.text(rule.min_length);
    if !rule.reject_common {
        return text;
    }
    Text::new(
        format!(
            "{} Bekannte Passwörter und dein Name sind nicht erlaubt.",
            text.de
        ),
        format!(
            "{} Well-known passwords and your name are not allowed.",
            text.en
        ),
    )
}

/// Lower case with German umlauts and ß transliterated, as user names are.
fn normalize(s: &str) -> String {
    s.to_lowercase()
        .replace('ä', "ae")
        .replace('ö', "oe")
        .replace('ü', "ue")
        .replace('ß', "ss")
}

/// Whether the password, or the word inside it without leading and trailing digits and
/// special characters, is on the list.
fn is_common(password: &str) -> bool {
    let normalized = normalize(password);
    let core = normalized.trim_matches(|c: char| !c.is_alphabetic());
    COMMON.contains(&normalized) || (core.chars().count() >= MIN_CORE && COMMON.contains(core))
}

/// Whether the password contains one of the parts (at least three characters) of the names.
fn contains_name(password: &str, user_hint: &[&str]) -> bool {
    let password = normalize(password);
    user_hint.iter().any(|hint| {
        normalize(hint)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|part| part.chars().count() >= MIN_NAME_PART)
            .any(|part| password.contains(part))
    })
}

/// Which parts of the rule a password misses.
#[derive(Debug, Default, PartialEq, Eq)]
struct Unmet {
    length: bool,
    upper: bool,
    lower: bool,
    digit: bool,
    special: bool,
}

impl Unmet {
    fn of(rule: &PasswordRule, password: &str) -> Self {
        let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
        Self {
            length: password.chars().count() < rule.min_length,
            upper: rule.require_upper && !has(|c| c.is_uppercase()),
            lower: rule.require_lower && !has(|c| c.is_lowercase()),
            digit: rule.require_digit && !has(char::is_ascii_digit),
            special: rule.require_special && !has(|c| !c.is_alphanumeric()),
        }
    }

    fn any(&self) -> bool {
        *self != Self::default()
    }

    /// "Das Passwort muss mindestens 8 Zeichen lang sein und eine Ziffer enthalten."
    fn text(&self, min_length: usize) -> Text {
        let (mut de, mut en) = (Vec::new(), Vec::new());
        match (self.upper, self.lower) {
            (true, true) => {
                de.push("Groß- und Kleinbuchstaben");
                en.push("upper and lower case letters");
            }
            (true, false) => {
                de.push("einen Großbuchstaben");
                en.push("an upper case letter");
            }
            (false, true) => {
                de.push("einen Kleinbuchstaben");
                en.push("a lower case letter");
            }
            (false, false) => {}
        }
        if self.digit {
            de.push("eine Ziffer");
            en.push("a digit");
        }
        if self.special {
            de.push("ein Sonderzeichen");
            en.push("a special character");
        }
        let mut de_clauses = Vec::new();
        let mut en_clauses = Vec::new();
        if self.length {
            de_clauses.push(format!("mindestens {min_length} Zeichen lang sein"));
            en_clauses.push(format!("be at least {min_length} characters long"));
        }
        if !de.is_empty() {
            de_clauses.push(format!("{} enthalten", join(&de, "und")));
            en_clauses.push(format!("contain {}", join(&en, "and")));
        }
        Text::new(
            format!("Das Passwort muss {}.", de_clauses.join(" und ")),
            format!("The password must {}.", en_clauses.join(" and ")),
        )
    }
}

/// "a, b und c".
fn join(items: &[&str], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak_text(result: Result<()>) -> Option<String> {
        match result {
            Ok(()) => None,
            Err(Error::WeakPassword(t)) => Some(t.de.into_owned()),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn class_rules_name_exactly_what_is_missing() {
        let rule = PasswordRule::default();
        let cases: &[(&str, Option<&str>)] = &[
            ("Kx7!vQ2m", None),
            ("Blau-Wal-42", None),
            ("Übung€Bär9", None),
            (
                "",
                Some("Das Passwort muss mindestens 8 Zeichen lang sein und Groß- und Kleinbuchstaben, eine Ziffer und ein Sonderzeichen enthalten."),
            ),
            ("Kx7!vQ2", Some("Das Passwort muss mindestens 8 Zeichen lang sein.")),
            ("kx7!vq2m", Some("Das Passwort muss einen Großbuchstaben enthalten.")),
            ("KX7!VQ2M", Some("Das Passwort muss einen Kleinbuchstaben enthalten.")),
            ("Kxz!vQpm", Some("Das Passwort muss eine Ziffer enthalten.")),
            ("Kx7ovQ2m", Some("Das Passwort muss ein Sonderzeichen enthalten.")),
            ("kx7ovq2m", Some("Das Passwort muss einen Großbuchstaben und ein Sonderzeichen enthalten.")),
            ("!!!!####", Some("Das Passwort muss Groß- und Kleinbuchstaben und eine Ziffer enthalten.")),
            ("kx", Some("Das Passwort muss mindestens 8 Zeichen lang sein und einen Großbuchstaben, eine Ziffer und ein Sonderzeichen enthalten.")),
        ];
        for (password, expected) in cases {
            let got = weak_text(check(&rule, password, &[]));
            assert_eq!(got.as_deref(), *expected, "password {password:?}");
        }
    }

    #[test]
    fn english_text_matches() {
        let Err(Error::WeakPassword(t)) = check(&PasswordRule::default(), "abc", &[]) else {
            panic!("must be weak");
        };
        assert_eq!(
            t.en,
            "The password must be at least 8 characters long and contain an upper case letter, a digit and a special character."
        );
    }

    #[test]
    fn well_known_passwords_are_refused_case_insensitively() {
        let rule = PasswordRule::default();
        for password in [
            "Schule123!",
            "Passwort1!",
            "Hallo123!",
            "Fussball1!",
            "fUSSBALL1!",
            "Fußball1!",
            "Sommer2024!",
            "P@ssw0rd1",
            "#Willkommen99",
        ] {
            let got = weak_text(check(&rule, password, &[]));
            assert!(
                got.as_deref().is_some_and(|t| t.contains("zu bekannt")),
                "{password}: {got:?}"
            );
        }
    }

    #[test]
    fn own_name_is_refused() {
        let rule = PasswordRule::default();
        let hint = ["anna.schmidt", "Anna Schmidt"];
        let cases: &[(&str, bool)] = &[
            ("Anna-2024!x", true),
            ("xSCHMIDT9!", true),
            ("Schmidt#77a", true),
            ("Bo-ot-7!Kx", false),
        ];
        for (password, refused) in cases {
            let got = weak_text(check(&rule, password, &hint));
            assert_eq!(got.is_some(), *refused, "{password}: {got:?}");
        }
        let umlaut = weak_text(check(&rule, "Müller-7!Kx", &["ben.mueller"]));
        assert!(umlaut.is_some_and(|t| t.contains("Namen")));
    }

    #[test]
    fn relaxed_rule_allows_what_it_does_not_require() {
        let rule = PasswordRule {
            min_length: 4,
            require_upper: false,
            require_lower: true,
            require_digit: false,
            require_special: false,
            reject_common: false,
        };
        assert!(check(&rule, "blau", &[]).is_ok());
        assert!(check(&rule, "passwort", &["passwort"]).is_ok());
        assert!(weak_text(check(&rule, "BLAU", &[])).is_some());
    }

    #[test]
    fn description_names_the_configured_rule() {
        let text = describe(&PasswordRule::default());
        assert_eq!(text.de, "Das Passwort muss mindestens 8 Zeichen lang sein und Groß- und Kleinbuchstaben, eine Ziffer und ein Sonderzeichen enthalten. Bekannte Passwörter und dein Name sind nicht erlaubt.");
        let relaxed = PasswordRule {
            min_length: 12,
            require_upper: false,
            require_lower: false,
            require_digit: false,
            require_special: false,
            reject_common: false,
        };
        assert_eq!(
            describe(&relaxed).de,
            "Das Passwort muss mindestens 12 Zeichen lang sein."
        );
    }

    #[test]
    fn the_list_is_loaded_and_normalized() {
        assert!(COMMON.len() > 400);
        assert!(COMMON.contains("fussball") && COMMON.contains("passwort"));
        assert!(!COMMON.iter().any(|p| p.starts_with('#') || p.contains('ß')));
    }
}
