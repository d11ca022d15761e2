//! A small school for the policy tests.
//!
//! | localpart | role | groups | note |
//! |---|---|---|---|
//! | anna.schmidt | teacher | Lehrer, Klasse 8.1, Fachkonferenz Englisch | |
//! | otto.weber | teacher | Lehrer, Klasse 9.2 | |
//! | karl.lang | teacher | Lehrer | locked |
//! | birgit.schaefer | admin | Lehrer, Schulleitung | |
//! | olaf.gruen | admin | Schulleitung | |
//! | ben.mueller | student | Klasse 8.1, AG Theater | child of clara |
//! | tim.koch | student | Klasse 8.1 | child of eva |
//! | lena.wolf | student | Klasse 8.1 | no consent (restricted); child of uwe |
//! | emma.alt | student | Klasse 8.1 | deactivated |
//! | mia.mueller | student | Klasse 9.2 | child of clara (ben's sister) |
//! | paul.klein | student | Klasse 9.2, AG Theater | child of jo |
//! | nora.fischer | student | Klasse 9.2 | no parents |
//! | finn.wolf | student | Klasse 8.1 | child of uwe (lena's brother) |
//! | clara.mueller | parent | Sorgeberechtigte 8.1, Sorgeberechtigte 9.2 | |
//! | eva.koch | parent | Sorgeberechtigte 8.1 | |
//! | uwe.wolf | parent | Sorgeberechtigte 8.1 | |
//! | rita.wolf | parent | Sorgeberechtigte 8.1 | restricted: her only child, lena, has no consent |
//! | jo.klein | parent | Sorgeberechtigte 9.2 | |
//!
//! `bot` and `other.bot` are accounts outside the directory.

#![allow(dead_code)] // each test binary uses a part

use schulhof_directory::{parse_csv, plan_import, Directory, DirectoryIndex, PersonStatus, Role};
use schulhof_policy::{decide, Action, Managed, Rights, RoomFacts};

/// The school as an import file.
const SCHOOL: &str = "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8.1, Fachkonferenz Englisch;;ja
L2;Otto;Weber;Lehrkraft;Lehrer, Klasse 9.2;;ja
L3;Karl;Lang;Lehrkraft;Lehrer;;ja
A1;Birgit;Schäfer;Schulleitung;Lehrer, Schulleitung;;ja
A2;Olaf;Grün;Admin;Schulleitung;;ja
S1;Ben;Müller;Schüler;Klasse 8.1, AG Theater;;ja
S2;Tim;Koch;Schüler;Klasse 8.1;;ja
S3;Lena;Wolf;Schüler;Klasse 8.1;;nein
S4;Mia;Müller;Schüler;Klasse 9.2;;ja
S5;Paul;Klein;Schüler;Klasse 9.2, AG Theater;;ja
S6;Nora;Fischer;Schüler;Klasse 9.2;;ja
S7;Emma;Alt;Schüler;Klasse 8.1;;ja
S8;Finn;Wolf;Schüler;Klasse 8.1;;ja
E1;Clara;Müller;Sorgeberechtigte;;S1, S4;ja
E2;Eva;Koch;Sorgeberechtigte;;S2;ja
E3;Jo;Klein;Sorgeberechtigte;;S5;ja
E4;Uwe;Wolf;Sorgeberechtigte;;S3, S8;ja
E5;Rita;Wolf;Sorgeberechtigte;;S3;ja
";

/// The school's directory (Karl locked, Emma deactivated).
pub fn directory() -> Directory {
    let file = parse_csv(SCHOOL.as_bytes()).expect("valid test school");
    let mut directory = plan_import(&Directory::default(), &file, 0)
        .expect("importable test school")
        .result;
    directory.people.get_mut("L3").unwrap().status = PersonStatus::Locked;
    directory.people.get_mut("S7").unwrap().status = PersonStatus::Deactivated { since_ms: 0 };
    directory
}

/// The school's index.
pub fn school() -> DirectoryIndex {
    directory().index()
}

/// The rule id that denies, or "allow".
pub fn outcome(
    actor: &str,
    action: &Action<'_>,
    dir: &DirectoryIndex,
    rights: &Rights,
) -> &'static str {
    decide(actor, action, dir, rights)
        .rule()
        .map_or("allow", |rule| rule.id())
}

/// A chat room created by someone with `creator` role.
pub fn room<'a>(creator: Option<Role>, members: &'a [&'a str]) -> RoomFacts<'a> {
    RoomFacts {
        creator_role: creator,
        members,
        is_direct: false,
        managed: Managed::No,
    }
}

/// A direct chat created by someone with `creator` role.
pub fn direct<'a>(creator: Option<Role>, members: &'a [&'a str]) -> RoomFacts<'a> {
    RoomFacts {
        is_direct: true,
        ..room(creator, members)
    }
}
