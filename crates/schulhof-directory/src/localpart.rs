//! Matrix localparts from names: `vorname.nachname`, lower case, transliterated to ASCII.

/// Localpart used when a name has no usable letters at all (e.g. only Cyrillic script).
const FALLBACK: &str = "nutzer";

/// Maximum length of a base localpart, leaving room for a counter and the server name in
/// the 255-byte Matrix user ID.
const MAX_BASE_LEN: usize = 64;

/// ASCII replacements for U+00C0..=U+00FF; `*` means "drop". Characters with a
/// multi-letter transliteration (ä, ö, ü, ß, æ, þ) are handled before this table.
const LATIN_1: &[u8; 64] = b"aaaaaaaceeeeiiiidnooooo*ouuuuytsaaaaaaaceeeeiiiidnooooo*ouuuuyty";

/// ASCII replacements for Latin Extended-A, U+0100..=U+017F (ĳ and œ handled before).
const LATIN_EXTENDED_A: &[u8; 128] = b"aaaaaaccccccccdd\
ddeeeeeeeeeegggg\
gggghhhhiiiiiiii\
iiiijjkkklllllll\
lllnnnnnnnnnoooo\
oooorrrrrrssssss\
ssttttttuuuuuuuu\
uuuuwwyyyzzzzzzs";

/// Appends the lower-case ASCII transliteration of `c` to `out`: German umlauts become
/// `ae`/`oe`/`ue`, `ß` becomes `ss`, other Latin letters lose their accents. ASCII is
/// lower-cased and kept as is; anything else is dropped.
fn push_ascii(c: char, out: &mut String) {
    let multi = match c {
        'ä' | 'Ä' | 'æ' | 'Æ' => "ae",
        'ö' | 'Ö' | 'œ' | 'Œ' => "oe",
        'ü' | 'Ü' => "ue",
        'ß' | 'ẞ' => "ss",
        'þ' | 'Þ' => "th",
        'ĳ' | 'Ĳ' => "ij",
        'ș' | 'Ș' => "s",
        'ț' | 'Ț' => "t",
        _ => "",
    };
    if !multi.is_empty() {
        out.push_str(multi);
        return;
    }
    let code = c as usize;
    let replacement = match code {
        0..=0x7f => Some(c.to_ascii_lowercase() as u8),
        0xc0..=0xff => Some(LATIN_1[code - 0xc0]),
        0x100..=0x17f => Some(LATIN_EXTENDED_A[code - 0x100]),
        _ => None,
    };
    if let Some(b) = replacement.filter(|&b| b != b'*') {
        out.push(b as char);
    }
}

/// The lower-case ASCII transliteration of `s` (see [`base_localpart`] for the rules).
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_ascii(c, &mut out);
    }
    out
}

/// One name (first or last) as a localpart segment: words joined by `-`, apostrophes
/// dropped, everything outside `[a-z0-9]` removed.
fn name_segment(name: &str) -> String {
    let mut segment = String::with_capacity(name.len());
    for c in ascii_fold(name).chars() {
        match c {
            'a'..='z' | '0'..='9' => segment.push(c),
            ' ' | '\t' | '-' | '.' | '_' | '=' | '/'
                if !segment.is_empty() && !segment.ends_with('-') =>
            {
                segment.push('-')
            }
            _ => {}
        }
    }
    segment.trim_end_matches('-').to_owned()
}

/// The preferred Matrix localpart for a person: `vorname.nachname`.
///
/// Rules: lower case; ä→ae, ö→oe, ü→ue, ß→ss; other accented Latin letters lose their
/// accents (é→e, ñ→n, ç→c, ø→o, å→a, ł→l, ş→s, ...; Latin-1 and Latin Extended-A);
/// spaces, hyphens and dots inside a name become `-` ("Anna Maria" → `anna-maria`,
/// "Müller-Lüdenscheidt" → `mueller-luedenscheidt`); apostrophes and every other character
/// are dropped; repeated separators collapse. If one name has no usable letters the other
/// is used alone; if neither has, the result is `nutzer`. At most 64 characters.
pub fn base_localpart(first: &str, last: &str) -> String {
    let segments = [name_segment(first), name_segment(last)];
    let mut base = segments
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(".");
    if base.is_empty() {
        return FALLBACK.to_owned();
    }
    base.truncate(MAX_BASE_LEN);
    base.trim_end_matches(['-', '.']).to_owned()
}

/// The first free localpart among `base`, `base2`, `base3`, ...
///
/// `taken` must answer for every localpart ever handed out (including those of
/// deactivated and deleted people: Matrix IDs are never reused). Deterministic: call it in
/// a stable order (the importer uses the import ID order) for new people only.
pub fn assign_localpart(base: &str, taken: &impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}{n}"))
        .find(|candidate| !taken(candidate))
        .expect("an unbounded counter always finds a free localpart")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn transliterates_names() {
        let cases = [
            ("Anna", "Schmidt", "anna.schmidt"),
            ("Jürgen", "Groß", "juergen.gross"),
            ("ÄNNE", "ÖZTÜRK", "aenne.oeztuerk"),
            ("Zoë", "Ørsted", "zoe.orsted"),
            (
                "Anna Maria",
                "von Müller-Lüdenscheidt",
                "anna-maria.von-mueller-luedenscheidt",
            ),
            ("Şükrü", "Çelik", "suekrue.celik"),
            ("José", "Muñoz", "jose.munoz"),
            ("Łukasz", "Wałęsa", "lukasz.walesa"),
            ("Åse", "Kjærsgård", "ase.kjaersgard"),
            ("Renée", "D'Arcy", "renee.darcy"),
            ("Seán", "O’Brien", "sean.obrien"),
            ("Dragoș", "Țurcanu", "dragos.turcanu"),
            ("  Max  ", " Mustermann ", "max.mustermann"),
            ("Hans - Peter", "Meier--Schulze", "hans-peter.meier-schulze"),
            ("Ludwig", "van Beethoven III.", "ludwig.van-beethoven-iii"),
            ("Ærøskøbing", "Œuvre", "aeroskobing.oeuvre"),
            ("Ивано", "Иванов", "nutzer"),
            ("Олег", "Krüger", "krueger"),
            ("", "", "nutzer"),
            ("-", "'", "nutzer"),
        ];
        for (first, last, expected) in cases {
            assert_eq!(base_localpart(first, last), expected, "{first} {last}");
        }
    }

    #[test]
    fn base_localparts_are_valid_and_bounded() {
        let long = "Wolfeschlegelsteinhausenbergerdorff".repeat(4);
        let base = base_localpart("Hubert Blaine", &long);
        assert!(base.len() <= MAX_BASE_LEN);
        assert!(!base.ends_with(['-', '.']));
        assert!(base
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._=-".contains(&b)));
    }

    #[test]
    fn assigns_counters_on_clashes() {
        let mut taken = HashSet::new();
        for expected in ["max.mueller", "max.mueller2", "max.mueller3"] {
            let localpart = assign_localpart("max.mueller", &|c: &str| taken.contains(c));
            assert_eq!(localpart, expected);
            taken.insert(localpart);
        }
        taken.remove("max.mueller2");
        assert_eq!(
            assign_localpart("max.mueller", &|c: &str| taken.contains(c)),
            "max.mueller2"
        );
    }
}
