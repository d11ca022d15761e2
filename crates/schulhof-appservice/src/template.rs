//! Name and topic templates with placeholders: `{gruppe}`, `{klasse}`, `{jahrgang}`, `{schule}`.

use serde::Deserialize;

/// A placeholder a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{gruppe}`: the group's full name, "Klasse 8.1".
    Group,
    /// `{klasse}`: the class part of a class or parents' group, "8.1".
    Class,
    /// `{jahrgang}`: the year of a class, "8".
    Year,
    /// `{schule}`: the school space's name.
    School,
}

impl Placeholder {
    /// Every placeholder.
    pub const ALL: [Placeholder; 4] = [
        Placeholder::Group,
        Placeholder::Class,
        Placeholder::Year,
        Placeholder::School,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Group => "gruppe",
            Placeholder::Class => "klasse",
            Placeholder::Year => "jahrgang",
            Placeholder::School => "schule",
        }
    }
}

/// The values filled into a template; a placeholder without a value renders empty (the
/// configuration checks forbid such placeholders where they have no value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Values<'a> {
    /// `{gruppe}`.
    pub group: &'a str,
    /// `{klasse}`.
    pub class: &'a str,
    /// `{jahrgang}`.
    pub year: &'a str,
    /// `{schule}`.
    pub school: &'a str,
}

impl Values<'_> {
    /// The value of `placeholder`.
    fn get(&self, placeholder: Placeholder) -> &str {
        match placeholder {
            Placeholder::Group => self.group,
            Placeholder::Class => self.class,
            Placeholder::Year => self.year,
            Placeholder::School => self.school,
        }
    }
}

/// A template as written in the configuration, e.g. `"Klasse {klasse}"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub struct Template(String);

impl From<String> for Template {
    fn from(text: String) -> Template {
        Template(text)
    }
}

impl From<&str> for Template {
    fn from(text: &str) -> Template {
        Template(text.to_owned())
    }
}

/// A piece of a template: text or a placeholder name.
enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// `{name}`.
    Field(&'a str),
}

impl Template {
    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pieces; `Err` with the offending rest when a brace is unbalanced.
    fn pieces(&self) -> Result<Vec<Piece<'_>>, &str> {
        let mut pieces = Vec::new();
        let mut rest = self.0.as_str();
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    pieces.push(Piece::Text(rest));
                    rest = "";
                }
                Some(at) if rest[at..].starts_with('}') => return Err(&rest[at..]),
                Some(at) => {
                    pieces.push(Piece::Text(&rest[..at]));
                    let inner = &rest[at + 1..];
                    let end = inner
                        .find(['{', '}'])
                        .filter(|&e| inner[e..].starts_with('}'));
                    let Some(end) = end else {
                        return Err(&rest[at..]);
                    };
                    pieces.push(Piece::Field(&inner[..end]));
                    rest = &inner[end + 1..];
                }
            }
        }
        Ok(pieces)
    }

    /// Checks the braces and that every placeholder is one of `allowed`; the error is
    /// `(German, English)`.
    pub fn check(&self, allowed: &[Placeholder]) -> Result<(), (String, String)> {
        let names = || {
            let names: Vec<String> = allowed
                .iter()
                .map(|p| format!("{{{}}}", p.name()))
                .collect();
            if names.is_empty() {
                "keine".to_owned()
            } else {
                names.join(", ")
            }
        };
        let pieces = self.pieces().map_err(|rest| {
            (
                format!("Nicht geschlossene Klammer bei „{rest}“."),
                format!("unbalanced brace at `{rest}`"),
            )
        })?;
        for piece in pieces {
            if let Piece::Field(name) = piece {
                if !allowed.iter().any(|p| p.name() == name) {
                    return Err((
                        format!(
                            "Unbekannter Platzhalter „{{{name}}}“. Erlaubt sind hier: {}.",
                            names()
                        ),
                        format!(
                            "unknown placeholder `{{{name}}}`; allowed here: {}",
                            names().replace("keine", "none")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The text with placeholders filled in (call only on checked templates).
    pub fn render(&self, values: &Values<'_>) -> String {
        let Ok(pieces) = self.pieces() else {
            return self.0.clone();
        };
        let mut out = String::with_capacity(self.0.len() + 16);
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(name) => {
                    let placeholder = Placeholder::ALL.into_iter().find(|p| p.name() == name);
                    out.push_str(placeholder.map_or("", |p| values.get(p)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Placeholder::*;

    #[test]
    fn renders_and_checks() {
        let values = Values {
            group: "Klasse 8.1",
            class: "8.1",
            year: "8",
            school: "Schule am See",
        };
        for (text, allowed, expect) in [
            ("Klasse {klasse}", &[Class][..], Ok("Klasse 8.1")),
            (
                "{gruppe} – {schule}",
                &[Group, School][..],
                Ok("Klasse 8.1 – Schule am See"),
            ),
            ("Jahrgang {jahrgang}", &[Year][..], Ok("Jahrgang 8")),
            ("Kollegium", &[][..], Ok("Kollegium")),
            (
                "Klasse {klasse}",
                &[Group][..],
                Err("unknown placeholder `{klasse}`"),
            ),
            (
                "{name}",
                &Placeholder::ALL[..],
                Err("unknown placeholder `{name}`"),
            ),
            (
                "Klasse {klasse",
                &[Class][..],
                Err("unbalanced brace at `{klasse`"),
            ),
            ("Klasse }", &[Class][..], Err("unbalanced brace at `}`")),
            ("", &[][..], Ok("")),
        ] {
            let template = Template::from(text);
            match (template.check(allowed), expect) {
                (Ok(()), Ok(rendered)) => assert_eq!(template.render(&values), rendered),
                (Err((_, en)), Err(expected)) => assert!(en.starts_with(expected), "{text}: {en}"),
                (got, expected) => panic!("{text}: {got:?} vs {expected:?}"),
            }
        }
    }
}
