//! The rights table: every role × action × target relation, generated in code and compared
//! with the expected decisions written out below (rule id, or `allow`).

mod common;

use std::collections::BTreeSet;

use common::{direct, outcome, room, school};
use schulhof_directory::{DirectoryIndex, Role};
use schulhof_policy::{
    Action, Channel, History, JoinVia, Managed, Rights, StateChange, UnknownUsers,
};

/// The acting people (columns of [`WITHOUT_TARGET`], rows of [`WITH_TARGET`]).
const ACTORS: [(&str, &str); 5] = [
    ("teacher", "anna.schmidt"),
    ("student", "ben.mueller"),
    ("parent", "eva.koch"),
    ("admin", "birgit.schaefer"),
    ("unknown", "service.bot"),
];

/// Target relations (columns of [`WITH_TARGET`]).
const RELATIONS: [&str; 8] = [
    "same_group",
    "other_group",
    "teacher",
    "own_family",
    "other_family",
    "admin",
    "unavailable",
    "unknown",
];

/// The target of each relation, per actor (`-`: no such relation).
fn targets(actor: &str) -> [&'static str; 8] {
    match actor {
        // Tim: classmate; Nora: 9.2; Clara: own parent; Eva: a classmate's parent;
        // Lena: classmate without consent.
        "student" => [
            "tim.koch",
            "nora.fischer",
            "otto.weber",
            "clara.mueller",
            "eva.koch",
            "olaf.gruen",
            "lena.wolf",
            "bot",
        ],
        // Uwe: same parents' group; Jo: 9.2 parent; Tim: own child; Ben: a child of
        // another parent in her child's class.
        "parent" => [
            "uwe.wolf",
            "jo.klein",
            "otto.weber",
            "tim.koch",
            "ben.mueller",
            "olaf.gruen",
            "lena.wolf",
            "bot",
        ],
        "unknown" => [
            "ben.mueller",
            "nora.fischer",
            "otto.weber",
            "-",
            "jo.klein",
            "olaf.gruen",
            "lena.wolf",
            "other.bot",
        ],
        // Teacher and admin: Ben is in Anna's class 8.1, Nora and Jo's son Paul in 9.2.
        _ => [
            "ben.mueller",
            "nora.fischer",
            "otto.weber",
            "-",
            "jo.klein",
            "olaf.gruen",
            "lena.wolf",
            "bot",
        ],
    }
}

/// Expected decisions of actions without a target: one row per action, one column per actor.
const WITHOUT_TARGET: &str = "
# action                       teacher        student                   parent                    admin          unknown
create_room                    allow          student_create_room       allow                     allow          allow
create_public_room             allow          room_public_staff_only    room_public_staff_only    allow          allow
join_alias                     allow          join_requires_invite      join_requires_invite      allow          allow
join_knock                     allow          join_requires_invite      join_requires_invite      allow          allow
join_public                    allow          join_requires_invite      join_requires_invite      allow          allow
join_invited_by_teacher        allow          allow                     allow                     allow          allow
send_staff_room                allow          allow                     allow                     allow          allow
send_call_invite               allow          start_video_not_allowed   start_video_not_allowed   allow          allow
send_call_answer               allow          allow                     allow                     allow          allow
state_join_rules_public        allow          room_public_staff_only    room_public_staff_only    allow          allow
state_join_rules_invite        allow          allow                     allow                     allow          allow
state_history_world_readable   allow          room_public_staff_only    room_public_staff_only    allow          allow
state_history_shared           allow          room_settings_staff_only  room_settings_staff_only  allow          allow
state_history_joined           allow          allow                     allow                     allow          allow
state_history_invited          allow          allow                     allow                     allow          allow
state_guest_access             allow          allow                     allow                     allow          allow
state_power_levels_raise_self  allow          room_settings_staff_only  power_level_raise_self    allow          allow
state_power_levels             allow          room_settings_staff_only  allow                     allow          allow
state_encryption               allow          allow                     allow                     allow          allow
state_name                     allow          room_name_not_allowed     allow                     allow          allow
state_topic                    allow          room_name_not_allowed     allow                     allow          allow
state_avatar                   allow          room_name_not_allowed     allow                     allow          allow
state_canonical_alias          allow          room_public_staff_only    room_public_staff_only    allow          allow
state_server_acl               allow          room_settings_staff_only  room_settings_staff_only  allow          allow
state_tombstone                allow          room_settings_staff_only  room_settings_staff_only  allow          allow
state_other                    allow          room_settings_staff_only  room_settings_staff_only  allow          allow
state_call_start               allow          start_video_not_allowed   start_video_not_allowed   allow          allow
state_call_join                allow          allow                     allow                     allow          allow
state_call_widget              allow          start_video_not_allowed   start_video_not_allowed   allow          allow
upgrade_room                   allow          room_upgrade_staff_only   room_upgrade_staff_only   allow          allow
publish_room                   allow          room_public_staff_only    room_public_staff_only    allow          allow
report                         allow          allow                     allow                     allow          allow
create_group                   allow          create_group_not_allowed  create_group_not_allowed  allow          allow
create_space                   allow          student_create_room       create_group_not_allowed  allow          allow
invite_group                   allow          invite_group_not_allowed  invite_group_not_allowed  allow          allow
invite_unknown_group           unknown_group  invite_group_not_allowed  invite_group_not_allowed  unknown_group  unknown_group
set_task                       allow          set_task_not_allowed      set_task_not_allowed      allow          allow
submit_task                    allow          allow                     allow                     allow          allow
start_video_conference         allow          start_video_not_allowed   start_video_not_allowed   allow          allow
join_video_conference          allow          allow                     allow                     allow          allow
import_users                   admin_only     admin_only                admin_only                allow          admin_only
change_rights                  admin_only     admin_only                admin_only                allow          admin_only
change_display_name            allow          display_name_not_allowed  allow                     allow          allow
change_avatar                  allow          allow                     allow                     allow          allow
change_password                allow          allow                     allow                     allow          allow
";

/// Expected decisions of actions with a target: one row per actor and action, one column
/// per relation (see [`targets`]).
const WITH_TARGET: &str = "
# actor  action          same_group  other_group                     teacher  own_family  other_family                    admin  unavailable                     unknown
teacher  dm              allow       allow                           allow    -           allow                           allow  target_unavailable              allow
teacher  invite          allow       allow                           allow    -           allow                           allow  target_unavailable              allow
teacher  search          allow       allow                           allow    -           allow                           allow  target_unavailable              allow
teacher  profile         allow       allow                           allow    -           allow                           allow  allow                           allow
teacher  reset_password  allow       reset_password_outside_groups   reset_password_outside_groups  -  reset_password_outside_groups  reset_password_outside_groups  allow  reset_password_outside_groups
teacher  send_dm         allow       allow                           allow    -           allow                           allow  allow                           allow
teacher  accept_dm       allow       allow                           allow    -           allow                           allow  allow                           allow
student  dm              allow       student_contact_outside_groups  allow    allow       student_contact_outside_groups  allow  target_unavailable              allow
student  invite          student_create_room  student_create_room  student_create_room  student_create_room  student_create_room  student_create_room  student_create_room  student_create_room
student  search          allow       directory_not_visible           allow    allow       directory_not_visible           allow  target_unavailable              allow
student  profile         allow       directory_not_visible           allow    allow       directory_not_visible           allow  allow                           allow
student  reset_password  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed
student  send_dm         allow       conversation_no_longer_allowed  allow    allow       conversation_no_longer_allowed  allow  allow                           allow
student  accept_dm       allow       invite_outdated                 allow    allow       invite_outdated                 allow  allow                           allow
parent   dm              allow       parent_contact_outside_groups   allow    allow       parent_contact_outside_groups   allow  target_unavailable              allow
parent   invite          allow       parent_room_outside_groups      allow    parent_room_outside_groups  parent_room_outside_groups  allow  target_unavailable  allow
parent   search          allow       directory_not_visible           allow    allow       directory_not_visible           allow  target_unavailable              allow
parent   profile         allow       directory_not_visible           allow    allow       directory_not_visible           allow  directory_not_visible           allow
parent   reset_password  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed  reset_password_not_allowed
parent   send_dm         allow       conversation_no_longer_allowed  allow    allow       conversation_no_longer_allowed  allow  conversation_no_longer_allowed  allow
parent   accept_dm       allow       invite_outdated                 allow    allow       invite_outdated                 allow  invite_outdated                 allow
admin    dm              allow       allow                           allow    -           allow                           allow  target_unavailable              allow
admin    invite          allow       allow                           allow    -           allow                           allow  target_unavailable              allow
admin    search          allow       allow                           allow    -           allow                           allow  allow                           allow
admin    profile         allow       allow                           allow    -           allow                           allow  allow                           allow
admin    reset_password  allow       allow                           allow    -           allow                           allow  allow                           allow
admin    send_dm         allow       allow                           allow    -           allow                           allow  allow                           allow
admin    accept_dm       allow       allow                           allow    -           allow                           allow  allow                           allow
unknown  dm              allow       allow                           allow    -           allow                           allow  target_unavailable              allow
unknown  invite          allow       allow                           allow    -           allow                           allow  target_unavailable              allow
unknown  search          allow       allow                           allow    -           allow                           allow  allow                           allow
unknown  profile         allow       allow                           allow    -           allow                           allow  allow                           allow
unknown  reset_password  allow       allow                           allow    -           allow                           allow  allow                           allow
unknown  send_dm         allow       allow                           allow    -           allow                           allow  allow                           allow
unknown  accept_dm       allow       allow                           allow    -           allow                           allow  allow                           allow
";

/// Actions without a target, in table order.
const CASES: [&str; 45] = [
    "create_room",
    "create_public_room",
    "join_alias",
    "join_knock",
    "join_public",
    "join_invited_by_teacher",
    "send_staff_room",
    "send_call_invite",
    "send_call_answer",
    "state_join_rules_public",
    "state_join_rules_invite",
    "state_history_world_readable",
    "state_history_shared",
    "state_history_joined",
    "state_history_invited",
    "state_guest_access",
    "state_power_levels_raise_self",
    "state_power_levels",
    "state_encryption",
    "state_name",
    "state_topic",
    "state_avatar",
    "state_canonical_alias",
    "state_server_acl",
    "state_tombstone",
    "state_other",
    "state_call_start",
    "state_call_join",
    "state_call_widget",
    "upgrade_room",
    "publish_room",
    "report",
    "create_group",
    "create_space",
    "invite_group",
    "invite_unknown_group",
    "set_task",
    "submit_task",
    "start_video_conference",
    "join_video_conference",
    "import_users",
    "change_rights",
    "change_display_name",
    "change_avatar",
    "change_password",
];

/// Actions with a target, in table order.
const TARGET_CASES: [&str; 7] = [
    "dm",
    "invite",
    "search",
    "profile",
    "reset_password",
    "send_dm",
    "accept_dm",
];

/// The decision for `actor` doing `case` (without a target).
fn run(actor: &str, case: &str, dir: &DirectoryIndex, rights: &Rights) -> &'static str {
    let state = |change| Action::ChangeRoomState { change, room: None };
    let members = ["anna.schmidt", actor, "nora.fischer"];
    let staff_room = room(Some(Role::Teacher), &members);
    let join = |via| Action::Join {
        room: &staff_room,
        via,
    };
    let send = |event_type| Action::SendMessage {
        room: &staff_room,
        event_type,
    };
    let create = |public| Action::CreateRoom {
        direct: false,
        invitees: &[],
        public,
        managed: Managed::No,
    };
    let action = match case {
        "create_room" => create(false),
        "create_public_room" => create(true),
        "join_alias" => join(JoinVia::Alias),
        "join_knock" => join(JoinVia::Knock),
        "join_public" => join(JoinVia::Public),
        "join_invited_by_teacher" => join(JoinVia::Invite {
            inviter: "anna.schmidt",
        }),
        "send_staff_room" => send("m.room.message"),
        "send_call_invite" => send("m.call.invite"),
        "send_call_answer" => send("m.call.answer"),
        "state_join_rules_public" => state(StateChange::JoinRules { invite_only: false }),
        "state_join_rules_invite" => state(StateChange::JoinRules { invite_only: true }),
        "state_history_world_readable" => state(StateChange::HistoryVisibility {
            visibility: History::WorldReadable,
        }),
        "state_history_shared" => state(StateChange::HistoryVisibility {
            visibility: History::Shared,
        }),
        "state_history_joined" => state(StateChange::HistoryVisibility {
            visibility: History::Joined,
        }),
        "state_history_invited" => state(StateChange::HistoryVisibility {
            visibility: History::Invited,
        }),
        "state_guest_access" => state(StateChange::GuestAccess),
        "state_power_levels_raise_self" => state(StateChange::PowerLevels { raises_self: true }),
        "state_power_levels" => state(StateChange::PowerLevels { raises_self: false }),
        "state_encryption" => state(StateChange::Encryption),
        "state_name" => state(StateChange::Name),
        "state_topic" => state(StateChange::Topic),
        "state_avatar" => state(StateChange::Avatar),
        "state_canonical_alias" => state(StateChange::CanonicalAlias),
        "state_server_acl" => state(StateChange::ServerAcl),
        "state_tombstone" => state(StateChange::Tombstone),
        "state_other" => state(StateChange::Other),
        "state_call_start" => state(StateChange::CallMember { starts_call: true }),
        "state_call_join" => state(StateChange::CallMember { starts_call: false }),
        "state_call_widget" => state(StateChange::CallWidget),
        "upgrade_room" => Action::UpgradeRoom,
        "publish_room" => Action::PublishRoom,
        "report" => Action::Report,
        "create_group" => Action::CreateGroup,
        "create_space" => Action::CreateSpace,
        "invite_group" => Action::InviteGroup {
            group: "Klasse 9.2",
        },
        "invite_unknown_group" => Action::InviteGroup {
            group: "Klasse 12.7",
        },
        "set_task" => Action::SetTask,
        "submit_task" => Action::SubmitTask,
        "start_video_conference" => Action::StartVideoConference,
        "join_video_conference" => Action::JoinVideoConference,
        "import_users" => Action::ImportUsers,
        "change_rights" => Action::ChangeRights,
        "change_display_name" => Action::ChangeDisplayName,
        "change_avatar" => Action::ChangeAvatar,
        "change_password" => Action::ChangePassword,
        other => panic!("no such case {other}"),
    };
    outcome(actor, &action, dir, rights)
}

/// The decision for `actor` doing `case` to `target`.
fn run_with_target(
    actor: &str,
    case: &str,
    target: &str,
    dir: &DirectoryIndex,
    rights: &Rights,
) -> &'static str {
    let role = |localpart| dir.person(localpart).map(|p| p.role);
    let own_room = [actor];
    let own_room = room(role(actor), &own_room);
    let pair = [actor, target];
    let dm_by_actor = direct(role(actor), &pair);
    let dm_by_target = direct(role(target), &pair);
    let invitees = [target];
    let action = match case {
        "dm" => Action::CreateRoom {
            direct: true,
            invitees: &invitees,
            public: false,
            managed: Managed::No,
        },
        "invite" => Action::Invite {
            target,
            room: &own_room,
        },
        "search" => Action::SearchDirectory { target },
        "profile" => Action::Contact {
            target,
            shares_room: false,
            channel: Channel::Profile,
        },
        "reset_password" => Action::ResetPassword { target },
        "send_dm" => Action::SendMessage {
            room: &dm_by_actor,
            event_type: "m.room.message",
        },
        "accept_dm" => Action::Join {
            room: &dm_by_target,
            via: JoinVia::Invite { inviter: target },
        },
        other => panic!("no such case {other}"),
    };
    outcome(actor, &action, dir, rights)
}

/// The rows of a table: whitespace-separated cells, comments and blank lines skipped.
fn rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_whitespace().collect())
        .collect()
}

/// Panics with every difference between expected and generated cells.
fn assert_no_differences(differences: &[String]) {
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn actions_without_target_follow_the_table() {
    let (dir, rights) = (school(), Rights::default());
    let rows = rows(WITHOUT_TARGET);
    let listed: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    assert_eq!(listed, CASES, "the table lists every case once, in order");
    let mut differences = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), 1 + ACTORS.len(), "{row:?}");
        for ((name, actor), expected) in ACTORS.iter().zip(&row[1..]) {
            let got = run(actor, row[0], &dir, &rights);
            if got != *expected {
                differences.push(format!("{name} {}: expected {expected}, got {got}", row[0]));
            }
        }
    }
    assert_no_differences(&differences);
}

#[test]
fn actions_with_target_follow_the_table() {
    let (dir, rights) = (school(), Rights::default());
    let rows = rows(WITH_TARGET);
    let listed: BTreeSet<(&str, &str)> = rows.iter().map(|row| (row[0], row[1])).collect();
    let generated: BTreeSet<(&str, &str)> = ACTORS
        .iter()
        .flat_map(|(name, _)| TARGET_CASES.iter().map(move |case| (*name, *case)))
        .collect();
    assert_eq!(listed, generated, "the table lists every actor and action");
    assert_eq!(rows.len(), generated.len(), "no row twice");
    let mut differences = Vec::new();
    for row in &rows {
        assert_eq!(row.len(), 2 + RELATIONS.len(), "{row:?}");
        let (name, case) = (row[0], row[1]);
        let actor = ACTORS.iter().find(|(n, _)| *n == name).unwrap().1;
        for ((relation, target), expected) in RELATIONS.iter().zip(targets(name)).zip(&row[2..]) {
            let got = if target == "-" {
                "-"
            } else {
                run_with_target(actor, case, target, &dir, &rights)
            };
            if got != *expected {
                differences.push(format!(
                    "{name} {case} {relation} ({target}): expected {expected}, got {got}"
                ));
            }
        }
    }
    assert_no_differences(&differences);
}

#[test]
fn inactive_and_unknown_accounts_can_do_nothing() {
    let dir = school();
    let deny_unknown = Rights {
        unknown_users: UnknownUsers::Deny,
        ..Rights::default()
    };
    let accounts = [
        ("lena.wolf", Rights::default(), "account_restricted"),
        ("karl.lang", Rights::default(), "account_locked"),
        ("emma.alt", Rights::default(), "account_deactivated"),
        ("service.bot", deny_unknown, "account_not_in_directory"),
    ];
    let mut differences = Vec::new();
    for (actor, rights, expected) in &accounts {
        let without_target = CASES.iter().map(|case| run(actor, case, &dir, rights));
        let with_target = TARGET_CASES.iter().flat_map(|case| {
            targets("student")
                .into_iter()
                .map(|target| run_with_target(actor, case, target, &dir, rights))
        });
        let got: BTreeSet<&str> = without_target.chain(with_target).collect();
        if got != BTreeSet::from([*expected]) {
            differences.push(format!("{actor}: expected only {expected}, got {got:?}"));
        }
    }
    assert_no_differences(&differences);
}
