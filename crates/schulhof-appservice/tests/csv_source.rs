//! The school's CSV export as the directory source (`--directory-csv`, e.g. against Synapse):
//! read from a real file, it leaves out of every room exactly the people Schulhof's directory
//! read leaves out (restricted for want of consent under the school's rights).

use std::path::PathBuf;

use schulhof_appservice::{desired, Config, CsvExport, DesiredSchool, DirectoryCsv, RoomKey};

/// A class teacher of 8.1 and 8.2; Ben (8.1) with consent, Zoe (8.1) and Mia (8.2) without;
/// Clara, mother of Ben only; Paul, father of Zoe only; Rita, mother of Mia and Ben (one of
/// her children consents); Olga, mother of Ben, without consent of her own.
const SCHOOL: &str = "\
ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8.1, Klasse 8.2;;ja
S-1;Ben;Weber;Schüler;Klasse 8.1;;ja
S-2;Zoe;Yilmaz;Schülerin;Klasse 8.1;;nein
S-3;Mia;Wolf;Schülerin;Klasse 8.2;;nein
E-1;Clara;Weber;Sorgeberechtigte;;S-1;ja
E-2;Paul;Yilmaz;Sorgeberechtigter;;S-2;ja
E-3;Rita;Wolf;Sorgeberechtigte;;S-3, S-1;ja
E-4;Olga;Weber;Sorgeberechtigte;;S-1;nein
";

/// A directory of its own for one test, with `files` (name, text) written into it.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str, files: &[(&str, &str)]) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("schulhof-csv-source-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("scratch file");
        }
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The desired rooms for the CSV file `school.csv` in `scratch`, read with `settings`.
fn rooms(scratch: &Scratch, settings: &DirectoryCsv) -> DesiredSchool {
    let export = CsvExport::open(scratch.path("school.csv"), settings).expect("rights readable");
    let version = export.read().expect("readable export");
    desired(&version.directory, &Config::default())
}

/// The members of the room of `group` (the bot left out).
fn members(want: &DesiredSchool, group: &str) -> Vec<String> {
    want.rooms[&RoomKey::group(group)]
        .members
        .keys()
        .filter(|user| user.as_str() != want.bot)
        .cloned()
        .collect()
}

/// Everyone in some room or space (the bot left out).
fn in_any_room(want: &DesiredSchool) -> Vec<String> {
    let mut all: Vec<String> = want
        .rooms
        .values()
        .flat_map(|room| room.members.keys())
        .filter(|user| user.as_str() != want.bot)
        .cloned()
        .collect();
    all.sort();
    all.dedup();
    all
}

#[test]
fn students_without_consent_and_parents_without_a_consenting_child_are_in_no_room() {
    let scratch = Scratch::new("default", &[("school.csv", SCHOOL)]);
    let want = rooms(&scratch, &DirectoryCsv::default());

    assert_eq!(members(&want, "Klasse 8.1"), ["anna.schmidt", "ben.weber"]);
    assert_eq!(members(&want, "Klasse 8.2"), ["anna.schmidt"]);
    assert_eq!(
        members(&want, "Sorgeberechtigte 8.1"),
        ["anna.schmidt", "clara.weber", "rita.wolf"],
        "Clara and Rita (one consenting child is enough); not Paul (his only child lacks \
         consent), not Olga (no consent of her own)"
    );
    assert_eq!(
        members(&want, "Sorgeberechtigte 8.2"),
        ["anna.schmidt", "rita.wolf"]
    );
    assert_eq!(
        in_any_room(&want),
        ["anna.schmidt", "ben.weber", "clara.weber", "rita.wolf"],
        "Zoe, Mia, Paul and Olga are in no room or space"
    );
    let active: Vec<&str> = want.active.iter().map(String::as_str).collect();
    assert_eq!(
        active,
        ["anna.schmidt", "ben.weber", "clara.weber", "rita.wolf"]
    );
}

#[test]
fn a_named_rights_file_and_the_parents_switch_decide() {
    let scratch = Scratch::new(
        "rights",
        &[
            ("school.csv", SCHOOL),
            ("students.toml", "consent_required = [\"student\"]\n"),
            ("nobody.toml", "consent_required = []\n"),
        ],
    );

    // Only students need consent: Olga is in without her own; Paul still not (his only
    // child lacks consent) while parents need a consenting child.
    let students = DirectoryCsv {
        rights_file: Some(scratch.path("students.toml")),
        ..DirectoryCsv::default()
    };
    assert_eq!(
        members(&rooms(&scratch, &students), "Sorgeberechtigte 8.1"),
        ["anna.schmidt", "clara.weber", "olga.weber", "rita.wolf"]
    );

    // Parents no longer need a consenting child: Paul is in; Zoe still not.
    let parents_free = DirectoryCsv {
        restrict_parents_of_students_without_consent: false,
        ..students
    };
    let want = rooms(&scratch, &parents_free);
    assert_eq!(
        members(&want, "Sorgeberechtigte 8.1"),
        [
            "anna.schmidt",
            "clara.weber",
            "olga.weber",
            "paul.yilmaz",
            "rita.wolf"
        ]
    );
    assert_eq!(members(&want, "Klasse 8.1"), ["anna.schmidt", "ben.weber"]);

    // Nobody needs consent: everyone is in.
    let nobody = DirectoryCsv {
        rights_file: Some(scratch.path("nobody.toml")),
        ..DirectoryCsv::default()
    };
    let want = rooms(&scratch, &nobody);
    assert_eq!(
        members(&want, "Klasse 8.1"),
        ["anna.schmidt", "ben.weber", "zoe.yilmaz"]
    );
    assert_eq!(in_any_room(&want).len(), 8);
}

#[test]
fn a_named_rights_file_that_is_missing_or_invalid_stops_the_start() {
    let scratch = Scratch::new(
        "broken",
        &[
            ("school.csv", SCHOOL),
            (
                "broken.toml",
                "consent_required = [\"student\"]\nfarbe = 1\n",
            ),
        ],
    );
    let open = |file: &str| {
        let settings = DirectoryCsv {
            rights_file: Some(scratch.path(file)),
            ..DirectoryCsv::default()
        };
        CsvExport::open(scratch.path("school.csv"), &settings)
            .expect_err(file)
            .to_string()
    };
    let missing = open("missing.toml");
    assert!(missing.contains("missing.toml"), "{missing}");
    let broken = open("broken.toml");
    assert!(
        broken.contains("broken.toml") && broken.contains("Zeile 2") && broken.contains("farbe"),
        "{broken}"
    );
}
