//! Desired rooms, plans and their convergence, as tables over the synthetic school and small
//! hand-made directories.

use std::collections::BTreeSet;

use schulhof_appservice::{
    desired, plan, render, Change, Config, CurrentSchool, DesiredSchool, Language, Membership,
    Reason, RoomKey,
};
use schulhof_directory::{
    parse_csv, plan_import, Directory, Group, GroupKind, Person, PersonStatus, Role,
    SyntheticSchool,
};

/// The bot's localpart in the default configuration.
const BOT: &str = "schulhof-schule";

/// A person with these groups (import ID = localpart).
fn person(localpart: &str, role: Role, groups: &[&str]) -> Person {
    Person {
        import_id: localpart.to_owned(),
        localpart: localpart.to_owned(),
        first_name: localpart.to_owned(),
        last_name: "Test".to_owned(),
        role,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        children: BTreeSet::new(),
        consent: true,
        status: PersonStatus::Active,
    }
}

/// A directory of `people`, with every group they name.
fn directory(people: Vec<Person>) -> Directory {
    let mut directory = Directory::default();
    for person in people {
        for name in &person.groups {
            directory.groups.insert(
                name.clone(),
                Group {
                    name: name.clone(),
                    kind: GroupKind::of_name(name),
                    created_by: None,
                },
            );
        }
        directory.people.insert(person.import_id.clone(), person);
    }
    directory
}

/// Two classes of year 8, one of year 9, their parents, two teachers, an admin, staff, a
/// subject conference, a custom group, a locked and a deactivated student.
fn small_school() -> Directory {
    let mut locked = person("lena.locked", Role::Student, &["Klasse 8.1"]);
    locked.status = PersonStatus::Locked;
    let mut gone = person("gero.gone", Role::Student, &["Klasse 8.1"]);
    gone.status = PersonStatus::Deactivated { since_ms: 1 };
    directory(vec![
        person("anna", Role::Student, &["Klasse 8.1", "AG Theater"]),
        person("ben", Role::Student, &["Klasse 8.1"]),
        person("cem", Role::Student, &["Klasse 8.2"]),
        person("dora", Role::Student, &["Klasse 9.1"]),
        person("eva.mutter", Role::Parent, &["Sorgeberechtigte 8.1"]),
        person("finn.vater", Role::Parent, &["Sorgeberechtigte 9.1"]),
        person(
            "frau.lehmann",
            Role::Teacher,
            &[
                "Klasse 8.1",
                "Lehrer",
                "Fachkonferenz Englisch",
                "AG Theater",
            ],
        ),
        person("herr.kurz", Role::Teacher, &["Klasse 9.1", "Lehrer"]),
        person("frau.chefin", Role::Admin, &["Lehrer"]),
        locked,
        gone,
    ])
}

/// The synthetic school (about 580 people) as imported.
fn synthetic(school: &SyntheticSchool) -> Directory {
    let file = parse_csv(school.csv().as_bytes()).expect("valid synthetic school");
    plan_import(&Directory::default(), &file, 0)
        .expect("importable")
        .result
}

/// The rooms (by key) `user` is a member of.
fn rooms_of(want: &DesiredSchool, user: &str) -> Vec<String> {
    want.rooms
        .iter()
        .filter(|(_, room)| room.members.contains_key(user))
        .map(|(key, _)| key.to_string())
        .collect()
}

/// The level of `user` in `room`.
fn level(want: &DesiredSchool, room: &str, user: &str) -> Option<i64> {
    want.rooms[&RoomKey::from_stored(room)]
        .members
        .get(user)
        .copied()
}

/// Applies plans until none is left (at most three rounds); returns the state.
fn converge(want: &DesiredSchool, mut state: CurrentSchool) -> CurrentSchool {
    for _ in 0..3 {
        let changes = plan(want, &state);
        if changes.is_empty() {
            return state;
        }
        state.apply_all(BOT, &changes);
    }
    panic!("no convergence: {:?}", plan(want, &state));
}

/// The state after fully applying the first plan for `want`.
fn built(want: &DesiredSchool) -> CurrentSchool {
    let mut state = CurrentSchool::default();
    state.apply_all(BOT, &plan(want, &CurrentSchool::default()));
    assert_eq!(plan(want, &state), Vec::new(), "idempotent after one plan");
    state
}

#[test]
fn memberships_per_person() {
    let want = desired(&small_school(), &Config::default());
    for (user, expected) in [
        (
            "anna",
            &[
                "group:AG Theater",
                "group:Klasse 8.1",
                "space:groups",
                "space:school",
                "space:year:8",
            ][..],
        ),
        (
            "ben",
            &["group:Klasse 8.1", "space:school", "space:year:8"][..],
        ),
        (
            "cem",
            &["group:Klasse 8.2", "space:school", "space:year:8"][..],
        ),
        (
            "dora",
            &["group:Klasse 9.1", "space:school", "space:year:9"][..],
        ),
        (
            "eva.mutter",
            &[
                "group:Sorgeberechtigte 8.1",
                "space:parents",
                "space:school",
            ][..],
        ),
        (
            "frau.lehmann",
            &[
                "group:AG Theater",
                "group:Fachkonferenz Englisch",
                "group:Klasse 8.1",
                "group:Lehrer",
                "group:Sorgeberechtigte 8.1",
                "space:groups",
                "space:parents",
                "space:school",
                "space:staff",
                "space:year:8",
            ][..],
        ),
        (
            "frau.chefin",
            &["group:Lehrer", "space:school", "space:staff"][..],
        ),
        ("lena.locked", &[][..]),
        ("gero.gone", &[][..]),
        ("unbekannt", &[][..]),
    ] {
        assert_eq!(rooms_of(&want, user), expected, "{user}");
    }
    // The bot is in every room and space at 100.
    for (key, room) in &want.rooms {
        assert_eq!(room.members.get(BOT), Some(&100), "{key}");
    }
}

#[test]
fn levels_names_and_flags() {
    let mut config = Config::default();
    config.rooms.parents.announcement = true;
    let want = desired(&small_school(), &config);
    for (room, user, expected) in [
        ("group:Klasse 8.1", "frau.lehmann", Some(50)),
        ("group:Klasse 8.1", "anna", Some(0)),
        ("group:Sorgeberechtigte 8.1", "frau.lehmann", Some(50)),
        ("group:Sorgeberechtigte 8.1", "eva.mutter", Some(0)),
        ("group:Sorgeberechtigte 9.1", "herr.kurz", Some(50)),
        ("group:Sorgeberechtigte 9.1", "frau.lehmann", None),
        ("group:Lehrer", "frau.chefin", Some(100)),
        ("space:school", "frau.chefin", Some(100)),
        ("space:school", "frau.lehmann", Some(0)),
        ("space:year:8", "anna", Some(0)),
    ] {
        assert_eq!(level(&want, room, user), expected, "{room} {user}");
    }
    for (key, name, parent, is_space, announcement, encrypted) in [
        ("space:school", "Unsere Schule", None, true, true, false),
        (
            "space:year:8",
            "Jahrgang 8",
            Some("space:school"),
            true,
            true,
            false,
        ),
        (
            "space:parents",
            "Sorgeberechtigte",
            Some("space:school"),
            true,
            true,
            false,
        ),
        (
            "group:Klasse 8.1",
            "Klasse 8.1",
            Some("space:year:8"),
            false,
            false,
            true,
        ),
        (
            "group:Sorgeberechtigte 8.1",
            "Sorgeberechtigte 8.1",
            Some("space:parents"),
            false,
            true,
            true,
        ),
        (
            "group:Lehrer",
            "Lehrer",
            Some("space:staff"),
            false,
            false,
            true,
        ),
        (
            "group:Fachkonferenz Englisch",
            "Fachkonferenz Englisch",
            Some("space:staff"),
            false,
            false,
            true,
        ),
        (
            "group:AG Theater",
            "AG Theater",
            Some("space:groups"),
            false,
            false,
            true,
        ),
    ] {
        let room = &want.rooms[&RoomKey::from_stored(key)];
        assert_eq!(room.name, name, "{key}");
        assert_eq!(room.parent.as_ref().map(RoomKey::as_str), parent, "{key}");
        assert_eq!(
            (room.is_space, room.announcement, room.encrypted),
            (is_space, announcement, encrypted),
            "{key}"
        );
    }
    assert_eq!(
        want.rooms[&RoomKey::from_stored("group:Klasse 8.1")].topic,
        "Klassenraum der Klasse 8.1"
    );
    // No year space without classes; year 10 does not exist here.
    assert!(!want.rooms.contains_key(&RoomKey::year("10")));
}

#[test]
fn synthetic_school_student_parent_teacher() {
    let directory = synthetic(&SyntheticSchool::new(7));
    let want = desired(&directory, &Config::default());
    let classes: Vec<String> = (8..=10)
        .flat_map(|g| (1..=3).map(move |n| format!("group:Klasse {g}.{n}")))
        .collect();
    let students = directory
        .people
        .values()
        .filter(|p| p.role == Role::Student);
    for student in students {
        let rooms = rooms_of(&want, &student.localpart);
        let class = student
            .groups
            .iter()
            .find(|g| g.starts_with("Klasse"))
            .expect("class");
        let year = &class["Klasse ".len()..class.find('.').expect("dot")];
        let in_classes: Vec<&String> = classes.iter().filter(|c| rooms.contains(c)).collect();
        assert_eq!(
            in_classes,
            [&format!("group:{class}")],
            "{}",
            student.localpart
        );
        for space in ["space:school".to_owned(), format!("space:year:{year}")] {
            assert!(rooms.contains(&space), "{} in {space}", student.localpart);
        }
        assert!(!rooms
            .iter()
            .any(|r| r.contains("Sorgeberechtigte") || r == "space:staff"));
        assert_eq!(
            level(&want, &format!("group:{class}"), &student.localpart),
            Some(0)
        );
    }
    for parent in directory.people.values().filter(|p| p.role == Role::Parent) {
        let rooms = rooms_of(&want, &parent.localpart);
        for group in &parent.groups {
            assert!(rooms.contains(&format!("group:{group}")), "{group}");
        }
        assert!(!rooms.iter().any(|r| r.starts_with("group:Klasse")));
    }
    let mut moderated = 0;
    for teacher in directory
        .people
        .values()
        .filter(|p| p.role == Role::Teacher)
    {
        for class in teacher.groups.iter().filter(|g| g.starts_with("Klasse")) {
            let parents = format!("group:Sorgeberechtigte {}", &class["Klasse ".len()..]);
            assert_eq!(
                level(&want, &format!("group:{class}"), &teacher.localpart),
                Some(50)
            );
            assert_eq!(level(&want, &parents, &teacher.localpart), Some(50));
            moderated += 1;
        }
    }
    assert_eq!(moderated, 9, "every class has its class teacher");
    // Every group has a room; five spaces: school, years 8–10, parents, staff, groups.
    let spaces = want.rooms.values().filter(|r| r.is_space).count();
    assert_eq!(want.rooms.len(), directory.groups.len() + spaces);
    assert_eq!(spaces, 7);
}

#[test]
fn first_plan_creates_spaces_before_children_and_converges() {
    let directory = synthetic(&SyntheticSchool::new(3));
    let want = desired(&directory, &Config::default());
    let changes = plan(&want, &CurrentSchool::default());
    assert_eq!(
        changes,
        plan(&want, &CurrentSchool::default()),
        "deterministic"
    );
    let created: Vec<&RoomKey> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Create { room, .. } => Some(room),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), want.rooms.len());
    assert_eq!(created[0], &RoomKey::school());
    for (index, key) in created.iter().enumerate() {
        if let Some(parent) = &want.rooms[*key].parent {
            let at = created
                .iter()
                .position(|k| *k == parent)
                .expect("parent created");
            assert!(at < index, "{parent} before {key}");
        }
    }
    // No removals, no archives in a first plan; the bot joins nothing (it created them).
    assert!(!changes
        .iter()
        .any(|c| matches!(c, Change::Remove { .. } | Change::Archive { .. })));
    assert!(!changes
        .iter()
        .any(|c| matches!(c, Change::Join { user, .. } if user == BOT)));
    built(&want);
}

#[test]
fn crash_at_any_point_converges() {
    let want = desired(&small_school(), &Config::default());
    let changes = plan(&want, &CurrentSchool::default());
    for cut in 0..=changes.len() {
        let mut state = CurrentSchool::default();
        state.apply_all(BOT, &changes[..cut]);
        let rest = plan(&want, &state);
        state.apply_all(BOT, &rest);
        assert_eq!(plan(&want, &state), Vec::new(), "after a crash at {cut}");
        assert_eq!(state, built(&want), "same result after a crash at {cut}");
    }
}

/// The plan after changing the small school with `edit`, from a built state.
fn replan(edit: impl FnOnce(&mut Directory)) -> (CurrentSchool, Vec<Change>, DesiredSchool) {
    let config = Config::default();
    let mut directory = small_school();
    let state = built(&desired(&directory, &config));
    edit(&mut directory);
    let want = desired(&directory, &config);
    let changes = plan(&want, &state);
    (state, changes, want)
}

/// A join change.
fn join(room: &str, user: &str) -> Change {
    Change::Join {
        room: RoomKey::from_stored(room),
        user: user.to_owned(),
    }
}

/// A removal change.
fn remove(room: &str, user: &str, reason: Reason) -> Change {
    Change::Remove {
        room: RoomKey::from_stored(room),
        user: user.to_owned(),
        reason,
    }
}

#[test]
fn moving_a_student_gives_exactly_leave_and_join() {
    let moved = |to: &'static str| {
        move |d: &mut Directory| {
            d.people.get_mut("ben").expect("ben").groups = BTreeSet::from([to.to_owned()]);
        }
    };
    let left = |room: &str| Reason::LeftGroup {
        room_name: room.to_owned(),
    };
    let (_, changes, _) = replan(moved("Klasse 8.2"));
    assert_eq!(
        changes,
        [
            join("group:Klasse 8.2", "ben"),
            remove("group:Klasse 8.1", "ben", left("Klasse 8.1"))
        ]
    );
    let (_, changes, _) = replan(moved("Klasse 9.1"));
    assert_eq!(
        changes,
        [
            join("group:Klasse 9.1", "ben"),
            join("space:year:9", "ben"),
            remove("group:Klasse 8.1", "ben", left("Klasse 8.1")),
            remove("space:year:8", "ben", left("Jahrgang 8")),
        ]
    );
}

#[test]
fn a_student_who_left_is_removed_everywhere() {
    for status in [
        PersonStatus::Deactivated { since_ms: 5 },
        PersonStatus::Locked,
    ] {
        let (mut state, changes, want) = replan(|d| {
            d.people.get_mut("anna").expect("anna").status = status;
        });
        let rooms = [
            "group:AG Theater",
            "group:Klasse 8.1",
            "space:groups",
            "space:school",
            "space:year:8",
        ];
        let expected: Vec<Change> = rooms
            .iter()
            .map(|room| remove(room, "anna", Reason::LeftSchool))
            .collect();
        assert_eq!(changes, expected);
        state.apply_all(BOT, &changes);
        assert!(state.rooms.values().all(|room| !room.is_in("anna")));
        assert_eq!(plan(&want, &state), Vec::new());
    }
}

#[test]
fn a_dissolved_group_is_archived_and_can_return() {
    let (mut state, changes, want) = replan(|d| {
        d.groups.remove("AG Theater");
        for person in d.people.values_mut() {
            person.groups.remove("AG Theater");
        }
    });
    let key = RoomKey::from_stored("group:AG Theater");
    let groups_space = RoomKey::from_stored("space:groups");
    assert_eq!(
        changes,
        [
            // The groups space is empty now: taken out of the school space and archived too.
            Change::RemoveChild {
                space: RoomKey::school(),
                child: groups_space.clone()
            },
            Change::Archive {
                room: key.clone(),
                name: "AG Theater (Archiv)".to_owned()
            },
            Change::Archive {
                room: groups_space,
                name: "Gruppen und AGs (Archiv)".to_owned()
            },
        ]
    );
    state.apply_all(BOT, &changes);
    let archived = &state.rooms[&key];
    assert!(archived.archived && archived.announcement);
    assert_eq!(archived.name, "AG Theater (Archiv)");
    assert!(archived.is_in("anna"), "members keep the history");
    assert_eq!(plan(&want, &state), Vec::new());
    // The group comes back: the same room returns under its name.
    let original = desired(&small_school(), &Config::default());
    let back = plan(&original, &state);
    assert!(back.contains(&Change::Unarchive { room: key.clone() }));
    assert!(back.contains(&Change::SetName {
        room: key.clone(),
        name: "AG Theater".to_owned()
    }));
    assert_eq!(converge(&original, state), built(&original));
}

#[test]
fn drift_is_repaired() {
    let want = desired(&small_school(), &Config::default());
    let class = RoomKey::from_stored("group:Klasse 8.1");
    let mut state = built(&want);
    let room = state.rooms.get_mut(&class).expect("class room");
    room.name = "Klasse 8.1 (umbenannt)".to_owned();
    room.topic = String::new();
    room.encrypted = false;
    room.power.insert("anna".to_owned(), 100);
    room.power.insert("ben".to_owned(), 0); // an explicit 0 is no drift
    room.members.insert("cem".to_owned(), Membership::Join); // a stranger
    room.members.insert("ben".to_owned(), Membership::Leave); // left by hand
    room.members.insert("anna".to_owned(), Membership::Ban); // banned by a teacher
    room.children.insert(RoomKey::from_stored("group:Lehrer"));
    let changes = plan(&want, &state);
    let class_room = || class.clone();
    assert_eq!(
        changes,
        [
            Change::SetName {
                room: class_room(),
                name: "Klasse 8.1".to_owned()
            },
            Change::SetTopic {
                room: class_room(),
                topic: "Klassenraum der Klasse 8.1".to_owned()
            },
            Change::EnableEncryption { room: class_room() },
            join("group:Klasse 8.1", "ben"),
            Change::SetPowerLevels {
                room: class_room(),
                users: want.rooms[&class].power_users(),
                announcement: false,
                writer_level: 50,
                changed: vec![("anna".to_owned(), 100, 0)],
            },
            remove(
                "group:Klasse 8.1",
                "cem",
                Reason::LeftGroup {
                    room_name: "Klasse 8.1".to_owned()
                }
            ),
            Change::RemoveChild {
                space: class_room(),
                child: RoomKey::from_stored("group:Lehrer")
            },
        ]
    );
    state.apply_all(BOT, &changes);
    assert_eq!(plan(&want, &state), Vec::new());
    assert_eq!(
        state.rooms[&class].members.get("anna"),
        Some(&Membership::Ban),
        "a ban by a moderator stands"
    );
}

#[test]
fn listing_in_german_and_english() {
    let (_, changes, _) = replan(|d| {
        d.people.get_mut("ben").expect("ben").groups = BTreeSet::from(["Klasse 8.2".to_owned()]);
    });
    assert_eq!(
        render(&changes, Language::German),
        "2 Änderungen geplant.\n\nBeitreten (1):\n  group:Klasse 8.2: + ben\n\nEntfernen (1):\n  \
         group:Klasse 8.1: − ben (Nicht mehr in „Klasse 8.1“ laut Schulverwaltung)\n"
    );
    assert_eq!(
        render(&changes, Language::English),
        "2 changes planned.\n\nJoin (1):\n  group:Klasse 8.2: + ben\n\nRemove (1):\n  \
         group:Klasse 8.1: − ben (No longer in “Klasse 8.1” according to the school's records)\n"
    );
    assert!(render(&[], Language::German).starts_with("Keine Änderungen"));
    let want = desired(&small_school(), &Config::default());
    let first = render(&plan(&want, &CurrentSchool::default()), Language::German);
    for expected in [
        "\nAnlegen (",
        "  Space „Unsere Schule“ (space:school)\n",
        "  Raum „Klasse 8.1“ (group:Klasse 8.1)\n",
        "\nBeitreten (",
        "\nIn Spaces aufnehmen (",
        "  space:year:8 ⊃ group:Klasse 8.1\n",
    ] {
        assert!(first.contains(expected), "{expected:?} in\n{first}");
    }
}

/// The synthetic school's CSV and the directory imported from it.
fn synthetic_csv_and_directory() -> (String, Directory) {
    let csv = SyntheticSchool::new(5).csv();
    let file = parse_csv(csv.as_bytes()).expect("valid");
    let directory = plan_import(&Directory::default(), &file, 0)
        .expect("importable")
        .result;
    (csv, directory)
}

/// The directory after re-importing `csv` over `directory`.
fn reimport(directory: &Directory, csv: &str) -> Directory {
    let file = parse_csv(csv.as_bytes()).expect("valid");
    plan_import(directory, &file, 1).expect("importable").result
}

/// The first student row of "Klasse 8.1" without other groups: its line and import ID.
fn student_of_8_1(csv: &str) -> (String, String) {
    let line = csv
        .lines()
        .find(|line| line.starts_with('S') && line.contains(";Klasse 8.1;"))
        .expect("a student of 8.1");
    let id = line.split(';').next().expect("id");
    (line.to_owned(), id.to_owned())
}

#[test]
fn reimport_moving_a_student_moves_student_and_parents() {
    let (csv, directory) = synthetic_csv_and_directory();
    let config = Config::default();
    let state = built(&desired(&directory, &config));
    let (line, id) = student_of_8_1(&csv);
    let moved = reimport(
        &directory,
        &csv.replace(&line, &line.replace(";Klasse 8.1;", ";Klasse 8.2;")),
    );
    let student = moved.people[&id].localpart.clone();
    let parents: Vec<String> = moved
        .people
        .values()
        .filter(|p| p.children.contains(&id))
        .map(|p| p.localpart.clone())
        .collect();
    assert!(!parents.is_empty());
    let want = desired(&moved, &config);
    let changes = plan(&want, &state);
    assert!(changes.contains(&join("group:Klasse 8.2", &student)));
    let reason = Reason::LeftGroup {
        room_name: "Klasse 8.1".to_owned(),
    };
    assert!(changes.contains(&remove("group:Klasse 8.1", &student, reason)));
    for change in &changes {
        let (room, user) = match change {
            Change::Join { room, user } | Change::Remove { room, user, .. } => (room, user),
            other => panic!("only joins and removals: {other:?}"),
        };
        assert!(*user == student || parents.contains(user), "{user}");
        assert!(room.as_str().ends_with(" 8.1") || room.as_str().ends_with(" 8.2"));
    }
    // A sibling may keep a parent in the parents' room of 8.1; otherwise they move too.
    for parent in &parents {
        let still = moved
            .people
            .values()
            .any(|p| p.localpart == *parent && p.groups.contains("Sorgeberechtigte 8.1"));
        let removed = changes.iter().any(|c| {
            matches!(c, Change::Remove { room, user, .. }
                if user == parent && room.as_str() == "group:Sorgeberechtigte 8.1")
        });
        assert_eq!(removed, !still, "{parent}");
        assert!(
            changes.contains(&join("group:Sorgeberechtigte 8.2", parent)) || {
                // already there through a sibling in 8.2
                state.rooms[&RoomKey::from_stored("group:Sorgeberechtigte 8.2")].is_in(parent)
            }
        );
    }
    let mut state = state;
    state.apply_all(BOT, &changes);
    assert_eq!(plan(&want, &state), Vec::new());
}

#[test]
fn reimport_without_a_student_removes_them_everywhere() {
    let (csv, directory) = synthetic_csv_and_directory();
    let config = Config::default();
    let mut state = built(&desired(&directory, &config));
    let (line, id) = student_of_8_1(&csv);
    // The family leaves: the student's row and the rows of parents with no other child go,
    // other parents lose the child from their list.
    let rows: Vec<String> = csv
        .lines()
        .filter(|row| *row != line)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split(';').collect();
            let children: Vec<&str> = fields[5].split(',').filter(|c| *c != id).collect();
            match (fields[5].is_empty(), children.is_empty()) {
                (false, true) => None,
                (false, false) => {
                    let mut fields = fields.clone();
                    let joined = children.join(",");
                    fields[5] = &joined;
                    Some(fields.join(";"))
                }
                _ => Some(row.to_owned()),
            }
        })
        .collect();
    let left = reimport(&directory, &(rows.join("\n") + "\n"));
    assert!(matches!(
        left.people[&id].status,
        PersonStatus::Deactivated { .. }
    ));
    let student = left.people[&id].localpart.clone();
    let want = desired(&left, &config);
    let changes = plan(&want, &state);
    let removed: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Remove { room, user, reason } if *user == student => {
                assert_eq!(*reason, Reason::LeftSchool);
                Some(room.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        removed,
        ["group:Klasse 8.1", "space:school", "space:year:8"]
    );
    state.apply_all(BOT, &changes);
    assert!(state.rooms.values().all(|room| !room.is_in(&student)));
    assert_eq!(plan(&want, &state), Vec::new());
}

#[test]
fn configuration_shapes_the_rooms() {
    let mut config = Config::default();
    config.rooms.parents.space = schulhof_appservice::SpaceSlot::Year;
    config.rooms.parents.class_teachers = false;
    config.rooms.class.announcement = true;
    config.rooms.class.encrypted = false;
    config.power_levels.teacher = 75;
    config.power_levels.student = 10;
    let mut directory = small_school();
    directory.groups.insert(
        "Lerngruppe Mathe".to_owned(),
        Group {
            name: "Lerngruppe Mathe".to_owned(),
            kind: GroupKind::Custom,
            created_by: Some("frau.lehmann".to_owned()),
        },
    );
    directory
        .people
        .get_mut("ben")
        .expect("ben")
        .groups
        .insert("Lerngruppe Mathe".to_owned());
    let want = desired(&directory, &config);
    let room = |key: &str| &want.rooms[&RoomKey::from_stored(key)];
    assert_eq!(
        room("group:Sorgeberechtigte 8.1").parent,
        Some(RoomKey::year("8"))
    );
    assert!(!room("group:Sorgeberechtigte 8.1")
        .members
        .contains_key("frau.lehmann"));
    assert!(!want
        .rooms
        .contains_key(&RoomKey::from_stored("space:parents")));
    let class = room("group:Klasse 8.1");
    assert!(class.announcement && !class.encrypted);
    assert_eq!(class.writer_level, 75);
    assert_eq!(class.members.get("frau.lehmann"), Some(&75));
    assert_eq!(class.members.get("anna"), Some(&10));
    assert_eq!(
        class.power_users().keys().collect::<Vec<_>>(),
        ["anna", "ben", "frau.lehmann", "schulhof-schule"]
    );
    let teachers_group = room("group:Lerngruppe Mathe");
    assert_eq!(teachers_group.topic, "Von einer Lehrkraft angelegte Gruppe");
    assert_eq!(
        teachers_group.parent,
        Some(RoomKey::from_stored("space:groups"))
    );
    assert_eq!(
        teachers_group.members.keys().collect::<Vec<_>>(),
        ["ben", "schulhof-schule"],
        "only members of the group (its creator is not one here)"
    );
    // The year-8 space now holds the parents of year 8 as well.
    assert!(room("space:year:8").members.contains_key("eva.mutter"));
}

#[test]
fn a_layout_change_moves_rooms_between_spaces() {
    let directory = small_school();
    let before = desired(&directory, &Config::default());
    let mut state = built(&before);
    let mut config = Config::default();
    config.rooms.parents.space = schulhof_appservice::SpaceSlot::Year;
    let after = desired(&directory, &config);
    let changes = plan(&after, &state);
    let parents_space = RoomKey::from_stored("space:parents");
    for (year, room) in [
        ("8", "group:Sorgeberechtigte 8.1"),
        ("9", "group:Sorgeberechtigte 9.1"),
    ] {
        let child = RoomKey::from_stored(room);
        assert!(changes.contains(&Change::AddChild {
            space: RoomKey::year(year),
            child
        }));
    }
    assert!(changes.contains(&Change::RemoveChild {
        space: RoomKey::school(),
        child: parents_space.clone()
    }));
    assert!(changes.contains(&Change::Archive {
        room: parents_space,
        name: "Sorgeberechtigte (Archiv)".to_owned()
    }));
    // Parents join the year spaces; nobody loses a group room.
    assert!(changes.contains(&join("space:year:8", "eva.mutter")));
    assert!(!changes
        .iter()
        .any(|c| matches!(c, Change::Remove { room, .. } if room.as_str().starts_with("group:"))));
    state.apply_all(BOT, &changes);
    assert_eq!(plan(&after, &state), Vec::new());
}
