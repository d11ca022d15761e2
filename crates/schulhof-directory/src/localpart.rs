//! Matrix localparts from names: `vorname.nachname`, lower case, transliterated to ASCII.

use unicode_normalization::char::decompose_canonical;
use unicode_normalization::UnicodeNormalization;

/// Localpart used when a name has no usable letters at all (e.g. only Cyrillic script).
const FALLBACK: &str = "nutzer";

/// Maximum length of a base localpart, leaving room for a counter and the server name in
/// the 255-byte Matrix user ID.
const MAX_BASE_LEN: usize = 64;

/// Transliterations that canonical decomposition does not give.
///
/// German umlauts and `ß` follow the German convention (`ä` → `ae`, not `a`); they are looked
/// up before decomposing, on composed text. The other entries are Latin letters without a
/// canonical decomposition into an ASCII letter plus marks: ligatures and letters of their
/// own (æ, œ, ĳ, þ), letters with a stroke, bar or hook (đ, ł, ø, ħ, ŧ, ɓ, ɗ, ƙ …), dotless
/// `ı`, and letters that only have a compatibility decomposition (ŀ, ŉ, ſ, ǆ, ǉ, ǌ). Each
/// becomes the ASCII letter(s) it is written with when a name is spelt without diacritics
/// (passports, e-mail addresses): `ð` → `d` as in Icelandic, `ə` → `a` as in Azerbaijani,
/// `ĸ` → `q` as Greenlandic has been spelt since 1973.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' | 'Ä' | 'æ' | 'Æ' => "ae",
        'ö' | 'Ö' | 'œ' | 'Œ' => "oe",
        'ü' | 'Ü' => "ue",
        'ß' | 'ẞ' => "ss",
        'þ' | 'Þ' => "th",
        'ĳ' | 'Ĳ' => "ij",
        'ǆ' | 'ǅ' | 'Ǆ' => "dz",
        'ǉ' | 'ǈ' | 'Ǉ' => "lj",
        'ǌ' | 'ǋ' | 'Ǌ' => "nj",
        'ə' | 'Ə' => "a",
        'ƀ' | 'Ƀ' | 'ɓ' | 'Ɓ' => "b",
        'đ' | 'Đ' | 'ð' | 'Ð' | 'ɗ' | 'Ɗ' | 'ɖ' | 'Ɖ' => "d",
        'ɛ' | 'Ɛ' => "e",
        'ƒ' | 'Ƒ' => "f",
        'ǥ' | 'Ǥ' => "g",
        'ħ' | 'Ħ' => "h",
        'ı' | 'ɨ' | 'Ɨ' => "i",
        'ƙ' | 'Ƙ' => "k",
        'ł' | 'Ł' | 'ŀ' | 'Ŀ' => "l",
        'ŋ' | 'Ŋ' | 'ŉ' => "n",
        'ø' | 'Ø' | 'ɔ' | 'Ɔ' => "o",
        'ĸ' => "q",
        'ſ' => "s",
        'ŧ' | 'Ŧ' => "t",
        'ʋ' | 'Ʋ' => "v",
        'ƴ' | 'Ƴ' => "y",
        'ʒ' | 'Ʒ' => "z",
        _ => return None,
    })
}

/// Appends the lower-case ASCII transliteration of `c` (a character of NFC text) to `out`:
/// [`special`] letters as listed there; everything else is decomposed canonically (NFD) and
/// keeps its ASCII parts, lower-cased, so accents and other combining marks are dropped
/// (`ễ` → `e`, `ș` → `s`, `ů` → `u`). Characters without an ASCII part (other scripts,
/// punctuation outside ASCII) are dropped.
fn push_ascii(c: char, out: &mut String) {
    if let Some(ascii) = special(c) {
        out.push_str(ascii);
        return;
    }
    decompose_canonical(c, |part| {
        if let Some(ascii) = special(part) {
            out.push_str(ascii);
        } else if part.is_ascii() {
            out.push(part.to_ascii_lowercase());
        }
    });
}

/// The lower-case ASCII transliteration of `s` (see [`base_localpart`] for the rules).
///
/// `s` is composed (NFC) first, so a name stored with separate combining marks (`u` + `◌̈`)
/// gets the same result as its precomposed spelling (`ü`).
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfc() {
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
/// Rules: lower case; ä→ae, ö→oe, ü→ue, ß→ss; every other Latin letter loses its
/// diacritics (é→e, ñ→n, ç→c, å→a, ş→s, ễ→e, ư→u, ő→o, ů→u, ...: canonical decomposition)
/// or, if it has no decomposition, is spelt as this module's table says (đ→d, ł→l, ø→o,
/// æ→ae, œ→oe, ı→i, þ→th, ...);
/// spaces, hyphens and dots inside a name become `-` ("Anna Maria" → `anna-maria`,
/// "Müller-Lüdenscheidt" → `mueller-luedenscheidt`); apostrophes and every other character
/// are dropped; repeated separators collapse. If one name has no usable letters the other
/// is used alone; if neither has, the result is `nutzer`. At most 64 characters.
///
/// Only people new to the directory get a localpart from these rules; a stored localpart
/// never changes, so a change of the rules never renames anyone.
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

    /// Names of the languages most often met at German schools besides German, as
    /// (language, first name, last name, expected localpart).
    const NAMES_BY_LANGUAGE: &[(&str, &str, &str, &str)] = &[
        ("Vietnamese", "Thị Hương", "Nguyễn", "thi-huong.nguyen"),
        ("Vietnamese", "Đức", "Trần", "duc.tran"),
        ("Vietnamese", "Dũng", "Đặng", "dung.dang"),
        ("Vietnamese", "Quỳnh", "Trương", "quynh.truong"),
        ("Vietnamese", "Thơ", "Huỳnh", "tho.huynh"),
        (
            "Polish",
            "Małgorzata",
            "Wiśniewska",
            "malgorzata.wisniewska",
        ),
        ("Polish", "Grażyna", "Żółć", "grazyna.zolc"),
        ("Polish", "Jędrzej", "Dąbrowski", "jedrzej.dabrowski"),
        ("Polish", "Łucja", "Szczęsna", "lucja.szczesna"),
        ("Turkish", "Ayşegül", "Yıldırım", "ayseguel.yildirim"),
        ("Turkish", "Buğra", "Doğan", "bugra.dogan"),
        ("Turkish", "İsmail", "Kılıç", "ismail.kilic"),
        ("Turkish", "Gökhan", "Öztürk", "goekhan.oeztuerk"),
        ("Romanian", "Ștefan", "Mureșan", "stefan.muresan"),
        ("Romanian", "Răzvan", "Țăranu", "razvan.taranu"),
        ("Romanian", "Ionuț", "Câmpeanu", "ionut.campeanu"),
        ("Romanian", "Ştefania", "Ţepeş", "stefania.tepes"),
        ("Hungarian", "Győző", "Szőke", "gyozo.szoke"),
        ("Hungarian", "Erzsébet", "Kovács", "erzsebet.kovacs"),
        ("Hungarian", "Zsófia", "Hűvös", "zsofia.huvoes"),
        ("Hungarian", "Ödön", "Bíró", "oedoen.biro"),
        ("Czech", "Jiří", "Dvořák", "jiri.dvorak"),
        ("Czech", "Tomáš", "Růžička", "tomas.ruzicka"),
        ("Czech", "Kateřina", "Šťastná", "katerina.stastna"),
        ("Czech", "Ďulie", "Čapková", "dulie.capkova"),
        ("Scandinavian", "Søren", "Kierkegaard", "soren.kierkegaard"),
        ("Scandinavian", "Bjørn", "Ødegård", "bjorn.odegard"),
        ("Scandinavian", "Guðrún", "Þórsdóttir", "gudrun.thorsdottir"),
        ("Scandinavian", "Åsa", "Öberg", "asa.oeberg"),
        ("Scandinavian", "Ánde", "Ŋuolla", "ande.nuolla"),
        ("French", "François", "Lefèvre", "francois.lefevre"),
        ("French", "Maëlle", "Aubé", "maelle.aube"),
        ("French", "Noël", "Cœur", "noel.coeur"),
        ("French", "Anaïs", "Chrétien", "anais.chretien"),
        ("Croatian", "Đurđica", "Ćosić", "durdica.cosic"),
        ("Maltese", "Ħanna", "Żammit", "hanna.zammit"),
        ("Azerbaijani", "Əli", "Həsənov", "ali.hasanov"),
        ("Dutch", "Ĳsbrand", "van Dĳk", "ijsbrand.van-dijk"),
        ("Hausa", "Ɗahiru", "Ƙabir", "dahiru.kabir"),
    ];

    #[test]
    fn transliterates_names_of_every_latin_script_language() {
        for (language, first, last, expected) in NAMES_BY_LANGUAGE {
            let localpart = base_localpart(first, last);
            assert_eq!(localpart, *expected, "{language}: {first} {last}");
        }
    }

    #[test]
    fn decomposed_input_transliterates_like_composed_input() {
        let decomposed = "Mu\u{308}ller Nguye\u{302}\u{303}n";
        assert_eq!(ascii_fold(decomposed), "mueller nguyen");
    }

    #[test]
    fn letters_without_decomposition_have_an_ascii_spelling() {
        let cases = [
            ("đĐðÐɗɖ", "dddddd"),
            ("łŁŀĿ", "llll"),
            ("øØɔǿ", "oooo"),
            ("æÆǣ", "aeaeae"),
            ("œŒ", "oeoe"),
            ("ıɨ", "ii"),
            ("ßẞ", "ssss"),
            ("þÞ", "thth"),
            ("ŋŊŉ", "nnn"),
            ("ħĦ", "hh"),
            ("ŧŦ", "tt"),
            ("ĸ", "q"),
            ("ĳĲ", "ijij"),
            ("ſ", "s"),
            ("ǆǉǌ", "dzljnj"),
            ("əƏ", "aa"),
            ("ɛ", "e"),
            ("ɓƙƴʋƒǥʒ", "bkyvfgz"),
        ];
        for (letters, expected) in cases {
            assert_eq!(ascii_fold(letters), expected, "{letters}");
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
