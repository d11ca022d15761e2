//! `decide` on a synthetic school of about 3,000 people in about 150 groups.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-release cargo bench -p schulhof-policy`; medians
//! are in `target/criterion/<name>/new/estimates.json` (`median.point_estimate`, ns).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use schulhof_directory::{
    parse_csv, plan_import, Directory, DirectoryIndex, Role, SyntheticSchool,
};
use schulhof_policy::{decide, Action, JoinVia, Managed, Rights, RoomFacts};

/// Grades 5–12 with eight classes of 20 each, 100 teachers: 1,280 students, their
/// parents, 102 staff; 64 classes, 64 parents' groups, staff, subject and other groups.
fn big_school() -> DirectoryIndex {
    let school = SyntheticSchool {
        seed: 7,
        first_grade: 5,
        grades: 8,
        classes_per_grade: 8,
        students_per_class: 20,
        teachers: 100,
    };
    let file = parse_csv(school.csv().as_bytes()).expect("valid synthetic school");
    let directory = plan_import(&Directory::default(), &file, 0)
        .expect("importable")
        .result;
    let groups = directory.groups.len();
    let dir = directory.index();
    eprintln!("school: {} people in {groups} groups", dir.len());
    dir
}

/// Members of `group` with `role` and consent, sorted.
fn members<'a>(dir: &'a DirectoryIndex, group: &str, role: Role) -> Vec<&'a str> {
    dir.members(group)
        .iter()
        .filter(|lp| dir.person(lp).is_some_and(|p| p.role == role && p.consent))
        .map(String::as_str)
        .collect()
}

/// The benchmarks.
fn bench(c: &mut Criterion) {
    let dir = big_school();
    let rights = Rights::default();
    let class = members(&dir, "Klasse 7.3", Role::Student);
    let other_class = members(&dir, "Klasse 9.5", Role::Student);
    let parents = members(&dir, "Sorgeberechtigte 7.3", Role::Parent);
    let teacher = members(&dir, "Klasse 7.3", Role::Teacher)[0];
    let (student, classmate, stranger) = (class[0], class[1], other_class[0]);
    let (parent, newcomer) = (parents[0], parents[parents.len() - 1]);
    // A parents' room of 30: 29 parents of the class (or as many as there are) and the
    // class teacher; the newcomer is invited into it.
    let mut room_members: Vec<&str> = parents[..parents.len() - 1]
        .iter()
        .copied()
        .take(29)
        .collect();
    room_members.push(teacher);
    room_members.truncate(30);
    let parents_room = RoomFacts {
        creator_role: Some(Role::Parent),
        members: &room_members,
        is_direct: false,
        managed: Managed::No,
    };
    let class_room = RoomFacts {
        creator_role: Some(Role::Teacher),
        ..parents_room
    };
    let mut group = c.benchmark_group("decide");
    let mut run = |name: &str, actor: &str, action: Action<'_>| {
        group.bench_function(name, |b| {
            b.iter(|| decide(black_box(actor), black_box(&action), &dir, &rights))
        });
    };
    let dm = |target| Action::CreateRoom {
        direct: true,
        invitees: std::slice::from_ref(target),
        public: false,
        managed: Managed::No,
    };
    run("student_dm_classmate", student, dm(&classmate));
    run("student_dm_other_class", student, dm(&stranger));
    run("student_dm_teacher", student, dm(&teacher));
    let invitees = [parents[1], teacher];
    run(
        "parent_create_room",
        parent,
        Action::CreateRoom {
            direct: false,
            invitees: &invitees,
            public: false,
            managed: Managed::No,
        },
    );
    run(
        "parent_invite_room_of_30",
        parent,
        Action::Invite {
            target: newcomer,
            room: &parents_room,
        },
    );
    run(
        "teacher_invite_room_of_30",
        teacher,
        Action::Invite {
            target: newcomer,
            room: &class_room,
        },
    );
    run(
        "accept_parent_invite_room_of_30",
        newcomer,
        Action::Join {
            room: &parents_room,
            via: JoinVia::Invite { inviter: parent },
        },
    );
    let send = |room| Action::SendMessage {
        room,
        event_type: "m.room.message",
    };
    run("parent_send_room_of_30", parent, send(&parents_room));
    run("student_send_teacher_room", student, send(&class_room));
    // The floor of the room checks: looking up 30 people in the directory index.
    group.bench_function("baseline_30_lookups", |b| {
        b.iter(|| {
            room_members
                .iter()
                .filter(|m| dir.person(black_box(m)).is_some())
                .count()
        })
    });
    group.finish();
    eprintln!("room of {} members", room_members.len());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
