//! One test (at least) per rule, and the escalation paths of the issue; `docs/policy.md`
//! names them.

mod common;

use common::{direct, directory, outcome, room, school};
use schulhof_directory::{DirectoryIndex, Group, GroupKind, Role};
use schulhof_policy::{
    decide, unavailability, Action, Channel, History, JoinVia, Managed, Reach, Rights, RoomFacts,
    Rule, StateChange, UnknownUsers,
};

/// The outcome with the default rights on the test school.
fn check(actor: &str, action: Action<'_>) -> &'static str {
    outcome(actor, &action, &school(), &Rights::default())
}

/// A direct message from `actor` to `target`.
fn write_to(actor: &str, target: &str, dir: &DirectoryIndex, rights: &Rights) -> &'static str {
    let invitees = [target];
    let action = Action::CreateRoom {
        direct: true,
        invitees: &invitees,
        public: false,
        managed: Managed::No,
    };
    outcome(actor, &action, dir, rights)
}

/// A plain text message into `room`.
fn send<'a>(room: &'a RoomFacts<'a>) -> Action<'a> {
    Action::SendMessage {
        room,
        event_type: "m.room.message",
    }
}

/// Moves Ben (8.1) into class 9.2, with the parents' groups of his mother Clara (who has
/// Mia in 9.2 already).
fn ben_moves_to_9_2() -> DirectoryIndex {
    let mut directory = directory();
    let ben = directory.people.get_mut("S1").unwrap();
    ben.groups.remove("Klasse 8.1");
    ben.groups.insert("Klasse 9.2".into());
    let clara = directory.people.get_mut("E1").unwrap();
    clara.groups.remove("Sorgeberechtigte 8.1");
    directory.index()
}

#[test]
fn restricted_account_can_do_nothing() {
    assert_eq!(check("lena.wolf", Action::Report), "account_restricted");
    assert_eq!(
        write_to("lena.wolf", "tim.koch", &school(), &Rights::default()),
        "account_restricted"
    );
}

#[test]
fn locked_account_can_do_nothing() {
    assert_eq!(check("karl.lang", Action::SetTask), "account_locked");
}

#[test]
fn deactivated_account_can_do_nothing() {
    assert_eq!(check("emma.alt", Action::Report), "account_deactivated");
}

#[test]
fn consent_required_is_a_setting() {
    let mut directory = directory();
    directory.people.get_mut("L2").unwrap().consent = false;
    directory.people.get_mut("S3").unwrap().consent = false;
    let dir = directory.index();
    let mut rights = Rights::default();
    // Teachers need no consent by default; Lena (no consent) is restricted.
    assert_eq!(
        outcome("otto.weber", &Action::SetTask, &dir, &rights),
        "allow"
    );
    assert_eq!(
        outcome("lena.wolf", &Action::Report, &dir, &rights),
        "account_restricted"
    );
    rights.consent_required = vec![Role::Teacher];
    assert_eq!(
        outcome("otto.weber", &Action::SetTask, &dir, &rights),
        "account_restricted"
    );
    assert_eq!(
        outcome("lena.wolf", &Action::Report, &dir, &rights),
        "allow"
    );
}

#[test]
fn unknown_accounts_follow_the_setting() {
    let dir = school();
    let allow = Rights::default();
    let deny = Rights {
        unknown_users: UnknownUsers::Deny,
        ..Rights::default()
    };
    // Allowed: a service account acts like an admin (but cannot import or change rights),
    // and everyone may write to it.
    assert_eq!(write_to("bot", "nora.fischer", &dir, &allow), "allow");
    assert_eq!(
        outcome("bot", &Action::ImportUsers, &dir, &allow),
        "admin_only"
    );
    assert_eq!(write_to("ben.mueller", "bot", &dir, &allow), "allow");
    // Denied: it can do nothing, nobody can write to or invite it; admins still find it.
    assert_eq!(
        write_to("bot", "nora.fischer", &dir, &deny),
        "account_not_in_directory"
    );
    assert_eq!(
        write_to("ben.mueller", "bot", &dir, &deny),
        "target_not_in_directory"
    );
    assert_eq!(
        write_to("birgit.schaefer", "bot", &dir, &deny),
        "target_not_in_directory"
    );
    let search = Action::SearchDirectory { target: "bot" };
    assert_eq!(outcome("birgit.schaefer", &search, &dir, &deny), "allow");
    assert_eq!(
        outcome("anna.schmidt", &search, &dir, &deny),
        "target_not_in_directory"
    );
    // A student's chat with a service account stops when the setting changes.
    let members = ["ben.mueller", "bot"];
    let chat = direct(Some(Role::Student), &members);
    assert_eq!(outcome("ben.mueller", &send(&chat), &dir, &allow), "allow");
    assert_eq!(
        outcome("ben.mueller", &send(&chat), &dir, &deny),
        "conversation_no_longer_allowed"
    );
}

#[test]
fn unavailable_people_cannot_be_invited_or_found() {
    // Lena has no consent, Karl is locked, Emma deactivated.
    for target in ["lena.wolf", "karl.lang", "emma.alt"] {
        assert_eq!(
            write_to("anna.schmidt", target, &school(), &Rights::default()),
            "target_unavailable"
        );
        assert_eq!(
            check("tim.koch", Action::SearchDirectory { target }),
            "target_unavailable"
        );
        assert_eq!(
            check("olaf.gruen", Action::SearchDirectory { target }),
            "allow"
        );
    }
}

#[test]
fn student_dm_outside_groups_denied() {
    let (dir, rights) = (school(), Rights::default());
    assert_eq!(write_to("ben.mueller", "tim.koch", &dir, &rights), "allow");
    // Paul is in 9.2 but shares the "AG Theater" with Ben.
    assert_eq!(
        write_to("ben.mueller", "paul.klein", &dir, &rights),
        "allow"
    );
    assert_eq!(
        write_to("ben.mueller", "otto.weber", &dir, &rights),
        "allow"
    );
    assert_eq!(
        write_to("ben.mueller", "nora.fischer", &dir, &rights),
        "student_contact_outside_groups"
    );
    // Siblings in different classes share no group.
    assert_eq!(
        write_to("ben.mueller", "mia.mueller", &dir, &rights),
        "student_contact_outside_groups"
    );
    let denial = decide(
        "ben.mueller",
        &Action::CreateRoom {
            direct: true,
            invitees: &["nora.fischer"],
            public: false,
            managed: Managed::No,
        },
        &dir,
        &rights,
    )
    .into_result()
    .unwrap_err();
    assert_eq!(denial.rule, Rule::StudentContactOutsideGroups);
    assert!(denial
        .rule
        .text()
        .du
        .starts_with("Du kannst nur Personen aus deiner Klasse"));
}

#[test]
fn students_may_message_own_parents_setting() {
    let dir = school();
    let mut rights = Rights::default();
    assert_eq!(
        write_to("ben.mueller", "clara.mueller", &dir, &rights),
        "allow"
    );
    assert_eq!(
        write_to("clara.mueller", "ben.mueller", &dir, &rights),
        "allow"
    );
    rights.student.may_message_own_parents = false;
    rights.parent.may_message_own_children = false;
    assert_eq!(
        write_to("ben.mueller", "clara.mueller", &dir, &rights),
        "student_contact_outside_groups"
    );
    assert_eq!(
        write_to("clara.mueller", "ben.mueller", &dir, &rights),
        "parent_contact_outside_groups"
    );
}

#[test]
fn parent_dm_outside_groups_denied() {
    let (dir, rights) = (school(), Rights::default());
    assert_eq!(write_to("eva.koch", "uwe.wolf", &dir, &rights), "allow");
    assert_eq!(write_to("eva.koch", "tim.koch", &dir, &rights), "allow");
    assert_eq!(write_to("eva.koch", "anna.schmidt", &dir, &rights), "allow");
    assert_eq!(
        write_to("eva.koch", "jo.klein", &dir, &rights),
        "parent_contact_outside_groups"
    );
    // Another child of the same class is not reachable for a parent.
    assert_eq!(
        write_to("eva.koch", "ben.mueller", &dir, &rights),
        "parent_contact_outside_groups"
    );
}

#[test]
fn derived_parent_groups_setting() {
    let dir = school();
    let mut rights = Rights::default();
    assert_eq!(write_to("eva.koch", "uwe.wolf", &dir, &rights), "allow");
    rights.derived_parent_groups_count_as_shared = false;
    assert_eq!(
        write_to("eva.koch", "uwe.wolf", &dir, &rights),
        "parent_contact_outside_groups"
    );
    // Imported groups of parents still count.
    let mut directory = directory();
    for id in ["E2", "E4"] {
        let parent = directory.people.get_mut(id).unwrap();
        parent.groups.insert("Elternbeirat".into());
    }
    let group = Group {
        name: "Elternbeirat".into(),
        kind: GroupKind::Custom,
        created_by: None,
    };
    directory.groups.insert(group.name.clone(), group);
    assert_eq!(
        write_to("eva.koch", "uwe.wolf", &directory.index(), &rights),
        "allow"
    );
}

#[test]
fn teacher_reach_is_a_setting() {
    let dir = school();
    let mut rights = Rights::default();
    assert_eq!(
        write_to("anna.schmidt", "nora.fischer", &dir, &rights),
        "allow"
    );
    rights.teacher.may_message = Reach::OwnGroupsAndTeachers;
    assert_eq!(
        write_to("anna.schmidt", "nora.fischer", &dir, &rights),
        "teacher_contact_outside_groups"
    );
    assert_eq!(
        write_to("anna.schmidt", "ben.mueller", &dir, &rights),
        "allow"
    );
    assert_eq!(
        write_to("anna.schmidt", "otto.weber", &dir, &rights),
        "allow"
    );
}

#[test]
fn reach_teachers_only() {
    let dir = school();
    let mut rights = Rights::default();
    rights.student.may_message = Reach::Teachers;
    rights.parent.room_members = Reach::Teachers;
    assert_eq!(
        write_to("ben.mueller", "tim.koch", &dir, &rights),
        "contact_teachers_only"
    );
    assert_eq!(
        write_to("ben.mueller", "clara.mueller", &dir, &rights),
        "allow"
    );
    assert_eq!(
        write_to("ben.mueller", "anna.schmidt", &dir, &rights),
        "allow"
    );
    let members = ["eva.koch"];
    let own = room(Some(Role::Parent), &members);
    let invite = |target| Action::Invite { target, room: &own };
    assert_eq!(
        outcome("eva.koch", &invite("uwe.wolf"), &dir, &rights),
        "contact_teachers_only"
    );
    assert_eq!(
        outcome("eva.koch", &invite("anna.schmidt"), &dir, &rights),
        "allow"
    );
}

/// Escalation: a parent's room into which they invite someone outside their groups.
#[test]
fn parent_invites_outside_groups_into_own_room_denied() {
    let members = ["eva.koch", "anna.schmidt"];
    let own = room(Some(Role::Parent), &members);
    let invite = |target| Action::Invite { target, room: &own };
    assert_eq!(check("eva.koch", invite("uwe.wolf")), "allow");
    assert_eq!(
        check("eva.koch", invite("jo.klein")),
        "parent_room_outside_groups"
    );
    // Own children: direct messages yes, chat rooms no.
    assert_eq!(
        check("eva.koch", invite("tim.koch")),
        "parent_room_outside_groups"
    );
    // The same through createRoom.
    let create = |invitees| Action::CreateRoom {
        direct: false,
        invitees,
        public: false,
        managed: Managed::No,
    };
    assert_eq!(
        check("eva.koch", create(&["uwe.wolf", "anna.schmidt"])),
        "allow"
    );
    assert_eq!(
        check("eva.koch", create(&["uwe.wolf", "jo.klein"])),
        "parent_room_outside_groups"
    );
    // A group chat marked as direct is a chat room too.
    let group_dm = Action::CreateRoom {
        direct: true,
        invitees: &["uwe.wolf", "jo.klein"],
        public: false,
        managed: Managed::No,
    };
    assert_eq!(check("eva.koch", group_dm), "parent_room_outside_groups");
}

/// Escalation: invites through a third person. Clara (children in 8.1 and 9.2) may write
/// to Eva (8.1) and to Jo (9.2); Eva may not write to Jo.
#[test]
fn invite_through_third_person_denied() {
    assert_eq!(
        write_to("clara.mueller", "jo.klein", &school(), &Rights::default()),
        "allow"
    );
    let members = ["clara.mueller", "eva.koch"];
    let with_eva = room(Some(Role::Parent), &members);
    let invite_jo = Action::Invite {
        target: "jo.klein",
        room: &with_eva,
    };
    // (Members include pending invitations: it makes no difference whether Eva has joined.)
    assert_eq!(check("clara.mueller", invite_jo), "room_member_no_contact");
    // A teacher may put them together.
    assert_eq!(check("anna.schmidt", invite_jo), "allow");
    // A teacher's room with students of two classes: a parent cannot add another parent
    // the students may not write to.
    let members = ["anna.schmidt", "clara.mueller", "nora.fischer"];
    let staff_room = room(Some(Role::Teacher), &members);
    let invite_eva = Action::Invite {
        target: "eva.koch",
        room: &staff_room,
    };
    assert_eq!(check("clara.mueller", invite_eva), "room_member_no_contact");
}

#[test]
fn create_room_with_unrelated_invitees_denied() {
    // Clara may write to Eva and Jo, but they may not write to each other.
    let create = Action::CreateRoom {
        direct: false,
        invitees: &["eva.koch", "anna.schmidt", "jo.klein"],
        public: false,
        managed: Managed::No,
    };
    assert_eq!(check("clara.mueller", create), "room_member_no_contact");
    assert_eq!(check("anna.schmidt", create), "allow");
}

/// Escalation: an invitation sent before a group change is accepted after it.
#[test]
fn invite_sent_before_group_change_fails_after_it() {
    let members = ["tim.koch", "ben.mueller"];
    // Tim invited Ben (classmates) into a direct chat; Ben moves to 9.2, then accepts.
    let chat = direct(Some(Role::Student), &members);
    let accept = Action::Join {
        room: &chat,
        via: JoinVia::Invite {
            inviter: "tim.koch",
        },
    };
    let rights = Rights::default();
    assert_eq!(outcome("ben.mueller", &accept, &school(), &rights), "allow");
    assert_eq!(
        outcome("ben.mueller", &accept, &ben_moves_to_9_2(), &rights),
        "invite_outdated"
    );
    // The members are re-checked too: Clara invited Jo next to Eva while Eva was not yet
    // in the room.
    let members = ["clara.mueller", "eva.koch", "jo.klein"];
    let parents = room(Some(Role::Parent), &members);
    let accept = Action::Join {
        room: &parents,
        via: JoinVia::Invite {
            inviter: "clara.mueller",
        },
    };
    assert_eq!(
        outcome("jo.klein", &accept, &school(), &rights),
        "invite_outdated"
    );
    // A teacher's invitation holds.
    let accept = Action::Join {
        room: &parents,
        via: JoinVia::Invite {
            inviter: "anna.schmidt",
        },
    };
    assert_eq!(outcome("jo.klein", &accept, &school(), &rights), "allow");
}

/// Escalation: a group change while a direct chat exists. The chat stays (readable), but
/// sending into it stops while the two share no group.
#[test]
fn group_change_while_dm_exists_blocks_sending() {
    let rights = Rights::default();
    let members = ["ben.mueller", "tim.koch"];
    let chat = direct(Some(Role::Student), &members);
    assert_eq!(
        outcome("tim.koch", &send(&chat), &school(), &rights),
        "allow"
    );
    let moved = ben_moves_to_9_2();
    assert_eq!(
        outcome("tim.koch", &send(&chat), &moved, &rights),
        "conversation_no_longer_allowed"
    );
    assert_eq!(
        outcome("ben.mueller", &send(&chat), &moved, &rights),
        "conversation_no_longer_allowed"
    );
    // A chat of parents stops the same way when a member is no longer in their groups.
    let members = ["eva.koch", "clara.mueller", "uwe.wolf"];
    let parents = room(Some(Role::Parent), &members);
    assert_eq!(
        outcome("eva.koch", &send(&parents), &school(), &rights),
        "allow"
    );
    assert_eq!(
        outcome("eva.koch", &send(&parents), &moved, &rights),
        "conversation_no_longer_allowed"
    );
    // Rooms created by teachers are not re-checked: the teacher put them there.
    let members = ["anna.schmidt", "ben.mueller", "tim.koch"];
    let staff_chat = direct(Some(Role::Teacher), &members);
    assert_eq!(
        outcome("tim.koch", &send(&staff_chat), &moved, &rights),
        "allow"
    );
}

/// Escalation: after a group change, nothing else is said in the chat either — state (its
/// content reaches everyone, even closing the room), a kick or ban of a member (with its
/// reason) — while staff rooms stay open.
#[test]
fn group_change_blocks_state_and_membership_changes_too() {
    let rights = Rights::default();
    let members = ["ben.mueller", "tim.koch"];
    let chat = direct(Some(Role::Student), &members);
    let moved = ben_moves_to_9_2();
    let guests = Action::ChangeRoomState {
        change: StateChange::GuestAccess,
        room: Some(&chat),
    };
    let kick = Action::ChangeMembership {
        target: "ben.mueller",
        room: &chat,
    };
    let closing = Action::ChangeRoomState {
        change: StateChange::JoinRules { invite_only: true },
        room: Some(&chat),
    };
    for action in [guests, kick, closing] {
        assert_eq!(outcome("tim.koch", &action, &school(), &rights), "allow");
        assert_eq!(
            outcome("tim.koch", &action, &moved, &rights),
            "conversation_no_longer_allowed",
            "{action:?}"
        );
    }
    let members = ["eva.koch", "clara.mueller"];
    let parents = room(Some(Role::Parent), &members);
    let name = Action::ChangeRoomState {
        change: StateChange::Name,
        room: Some(&parents),
    };
    assert_eq!(outcome("eva.koch", &name, &school(), &rights), "allow");
    assert_eq!(
        outcome("eva.koch", &name, &moved, &rights),
        "conversation_no_longer_allowed"
    );
    let members = ["anna.schmidt", "ben.mueller", "tim.koch"];
    let staff_room = room(Some(Role::Teacher), &members);
    let kick = Action::ChangeMembership {
        target: "ben.mueller",
        room: &staff_room,
    };
    assert_eq!(outcome("anna.schmidt", &kick, &moved, &rights), "allow");
}

/// Escalation: a membership event about someone not in the room (a ban, an unban, a
/// `PUT /state/m.room.member/…`) reaches them like an invitation and is decided as one.
#[test]
fn membership_changes_of_outsiders_are_invitations() {
    let members = ["ben.mueller", "tim.koch"];
    let chat = direct(Some(Role::Student), &members);
    let ban = |target| Action::ChangeMembership {
        target,
        room: &chat,
    };
    // Nora is in another class: Ben may not reach her, by invitation or by a ban.
    assert_eq!(
        check("ben.mueller", ban("nora.fischer")),
        "student_create_room"
    );
    let alone = ["ben.mueller"];
    let own = direct(Some(Role::Student), &alone);
    let ban_alone = |target| Action::ChangeMembership { target, room: &own };
    assert_eq!(
        check("ben.mueller", ban_alone("nora.fischer")),
        "student_contact_outside_groups"
    );
    assert_eq!(check("ben.mueller", ban_alone("tim.koch")), "allow");
    // A parent's room: outside her groups, as for invitations.
    let members = ["eva.koch"];
    let parents = room(Some(Role::Parent), &members);
    let kick = |target| Action::ChangeMembership {
        target,
        room: &parents,
    };
    assert_eq!(
        check("eva.koch", kick("jo.klein")),
        "parent_room_outside_groups"
    );
    assert_eq!(check("eva.koch", kick("lena.wolf")), "target_unavailable");
    // Members are not reached anew: kicking Tim is something said in the room.
    assert_eq!(check("ben.mueller", ban("tim.koch")), "allow");
    // Staff reach everyone who can use Schulhof; trusted accounts too.
    assert_eq!(check("anna.schmidt", ban("nora.fischer")), "allow");
    assert_eq!(check("bot", ban("lena.wolf")), "target_unavailable");
}

/// Profiles, presence, keys and to-device messages: the people one may write to, and those
/// one shares a room with in which one may send.
#[test]
fn contact_outside_rooms_needs_reach_or_a_shared_room() {
    let contact = |target, shares_room, channel| Action::Contact {
        target,
        shares_room,
        channel,
    };
    for channel in [Channel::Profile, Channel::Presence, Channel::Keys] {
        assert_eq!(
            check("ben.mueller", contact("nora.fischer", false, channel)),
            "directory_not_visible"
        );
    }
    assert_eq!(
        check(
            "ben.mueller",
            contact("nora.fischer", false, Channel::ToDevice)
        ),
        "student_contact_outside_groups"
    );
    assert_eq!(
        check("eva.koch", contact("jo.klein", false, Channel::ToDevice)),
        "parent_contact_outside_groups"
    );
    // With `unknown_users = "deny"`, an account outside the directory is out of reach like
    // anyone else (not "not in the directory": that would tell it exists).
    let rights = Rights {
        unknown_users: UnknownUsers::Deny,
        ..Rights::default()
    };
    let lookup = contact("other.bot", false, Channel::Profile);
    assert_eq!(
        outcome("ben.mueller", &lookup, &school(), &rights),
        "directory_not_visible"
    );
    for channel in [
        Channel::Profile,
        Channel::Presence,
        Channel::Keys,
        Channel::ToDevice,
    ] {
        assert_eq!(
            check("ben.mueller", contact("nora.fischer", true, channel)),
            "allow"
        );
        assert_eq!(
            check("ben.mueller", contact("tim.koch", false, channel)),
            "allow"
        );
        assert_eq!(
            check("anna.schmidt", contact("nora.fischer", false, channel)),
            "allow"
        );
        assert_eq!(
            check("lena.wolf", contact("tim.koch", true, channel)),
            "account_restricted"
        );
    }
}

/// Restricted is one definition: a parent none of whose children has consent is restricted
/// like a student without consent, unless the setting is off; so is a parent without consent.
#[test]
fn parents_are_restricted_through_their_childrens_consent() {
    let dir = school();
    let mut rights = Rights::default();
    assert_eq!(check("rita.wolf", Action::Report), "account_restricted");
    assert_eq!(
        write_to("eva.koch", "rita.wolf", &dir, &rights),
        "target_unavailable"
    );
    // Uwe has Finn, who has consent: one child is enough.
    assert_eq!(check("uwe.wolf", Action::Report), "allow");
    let rita = dir.person("rita.wolf").unwrap();
    assert_eq!(
        unavailability(rita, &dir, &rights),
        Some(Rule::AccountRestricted)
    );
    rights.parents_need_a_consenting_child = false;
    assert_eq!(unavailability(rita, &dir, &rights), None);
    assert_eq!(
        outcome("rita.wolf", &Action::Report, &dir, &rights),
        "allow"
    );
    // Without students needing consent, their parents do not either.
    let rights = Rights {
        consent_required: vec![Role::Parent],
        ..Rights::default()
    };
    assert_eq!(unavailability(rita, &dir, &rights), None);
    // A parent's own consent counts as well.
    let mut directory = directory();
    directory.people.get_mut("E2").unwrap().consent = false;
    let dir = directory.index();
    let eva = dir.person("eva.koch").unwrap();
    assert_eq!(
        unavailability(eva, &dir, &Rights::default()),
        Some(Rule::AccountRestricted)
    );
}

#[test]
fn teacher_rooms_mix_groups() {
    // Anna puts Ben (8.1) and Nora (9.2) into one room; both take part.
    let members = ["anna.schmidt", "ben.mueller", "nora.fischer"];
    let course = room(Some(Role::Teacher), &members);
    assert_eq!(
        check(
            "anna.schmidt",
            Action::Invite {
                target: "nora.fischer",
                room: &course
            }
        ),
        "allow"
    );
    let accept = Action::Join {
        room: &course,
        via: JoinVia::Invite {
            inviter: "anna.schmidt",
        },
    };
    assert_eq!(check("nora.fischer", accept), "allow");
    assert_eq!(check("nora.fischer", send(&course)), "allow");
    assert_eq!(check("ben.mueller", send(&course)), "allow");
}

#[test]
fn student_cannot_create_rooms_but_can_dm() {
    assert_eq!(
        write_to("ben.mueller", "tim.koch", &school(), &Rights::default()),
        "allow"
    );
    for (direct, invitees) in [
        (false, &["tim.koch"][..]),
        (true, &[][..]),
        (true, &["tim.koch", "anna.schmidt"][..]),
    ] {
        let create = Action::CreateRoom {
            direct,
            invitees,
            public: false,
            managed: Managed::No,
        };
        assert_eq!(check("ben.mueller", create), "student_create_room");
    }
    // Students cannot add a third person to their direct chat...
    let members = ["ben.mueller", "tim.koch"];
    let chat = direct(Some(Role::Student), &members);
    let invite = Action::Invite {
        target: "paul.klein",
        room: &chat,
    };
    assert_eq!(check("ben.mueller", invite), "student_create_room");
    // ...but may invite the partner back into it.
    let members = ["ben.mueller"];
    let left = direct(Some(Role::Student), &members);
    let invite = Action::Invite {
        target: "tim.koch",
        room: &left,
    };
    assert_eq!(check("ben.mueller", invite), "allow");
    // Not in a direct chat a teacher created (staff rooms are not re-checked on send).
    let from_teacher = direct(Some(Role::Teacher), &members);
    let invite = Action::Invite {
        target: "tim.koch",
        room: &from_teacher,
    };
    assert_eq!(check("ben.mueller", invite), "student_create_room");
}

#[test]
fn create_room_is_a_setting() {
    let dir = school();
    let mut rights = Rights::default();
    rights.parent.may_create_rooms = false;
    rights.teacher.may_create_rooms = false;
    rights.student.may_create_rooms = true;
    let create = Action::CreateRoom {
        direct: false,
        invitees: &["tim.koch"],
        public: false,
        managed: Managed::No,
    };
    assert_eq!(
        outcome("eva.koch", &create, &dir, &rights),
        "create_room_not_allowed"
    );
    assert_eq!(
        outcome("anna.schmidt", &create, &dir, &rights),
        "create_room_not_allowed"
    );
    assert_eq!(outcome("ben.mueller", &create, &dir, &rights), "allow");
    // Students' rooms follow their message reach.
    let create = Action::CreateRoom {
        direct: false,
        invitees: &["nora.fischer"],
        public: false,
        managed: Managed::No,
    };
    assert_eq!(
        outcome("ben.mueller", &create, &dir, &rights),
        "student_contact_outside_groups"
    );
    // Direct messages stay possible.
    assert_eq!(
        write_to("anna.schmidt", "ben.mueller", &dir, &rights),
        "allow"
    );
}

/// Rooms the school manages, as a table: every action in a managed room by each kind of
/// actor (the appservice that manages the room passes everything).
#[test]
fn managed_rooms_follow_the_table() {
    let members = ["anna.schmidt", "ben.mueller", "tim.koch", "eva.koch"];
    let facts = |managed| RoomFacts {
        managed,
        ..room(None, &members)
    };
    let (school_room, by_actor) = (facts(Managed::Yes), facts(Managed::ByActor));
    let state = |change, room| Action::ChangeRoomState {
        change,
        room: Some(room),
    };
    let create = |managed| Action::CreateRoom {
        direct: false,
        invitees: &[],
        public: false,
        managed,
    };
    let r = &school_room;
    // Columns: teacher, student, parent, admin, account outside the directory.
    const STAFF_ONLY: [&str; 5] = [
        "allow",
        "managed_room_staff_only",
        "managed_room_staff_only",
        "allow",
        "managed_room_staff_only",
    ];
    let rows: Vec<(&str, Action<'_>, [&str; 5])> = vec![
        (
            "invite",
            Action::Invite {
                target: "finn.wolf",
                room: r,
            },
            ["group_room_managed"; 5],
        ),
        (
            "kick a member",
            Action::ChangeMembership {
                target: "tim.koch",
                room: r,
            },
            STAFF_ONLY,
        ),
        (
            "ban an outsider",
            Action::ChangeMembership {
                target: "nora.fischer",
                room: r,
            },
            STAFF_ONLY,
        ),
        (
            "leave",
            Action::Leave { room: r },
            [
                "allow",
                "managed_room_leave",
                "managed_room_leave",
                "allow",
                "allow",
            ],
        ),
        (
            "accept the appservice's invitation",
            Action::Join {
                room: r,
                via: JoinVia::Invite { inviter: "bot" },
            },
            ["allow"; 5],
        ),
        (
            "join by alias",
            Action::Join {
                room: r,
                via: JoinVia::Alias,
            },
            [
                "allow",
                "join_requires_invite",
                "join_requires_invite",
                "allow",
                "allow",
            ],
        ),
        (
            "send a message",
            Action::SendMessage {
                room: r,
                event_type: "m.room.message",
            },
            ["allow"; 5],
        ),
        (
            "power levels",
            state(StateChange::PowerLevels { raises_self: false }, r),
            STAFF_ONLY,
        ),
        ("name", state(StateChange::Name, r), STAFF_ONLY),
        ("topic", state(StateChange::Topic, r), STAFF_ONLY),
        ("avatar", state(StateChange::Avatar, r), STAFF_ONLY),
        ("encryption", state(StateChange::Encryption, r), STAFF_ONLY),
        (
            "join rules (invite)",
            state(StateChange::JoinRules { invite_only: true }, r),
            STAFF_ONLY,
        ),
        (
            "history visibility",
            state(
                StateChange::HistoryVisibility {
                    visibility: History::Joined,
                },
                r,
            ),
            STAFF_ONLY,
        ),
        (
            "space child or parent",
            state(StateChange::Other, r),
            STAFF_ONLY,
        ),
        (
            "start a call",
            state(StateChange::CallMember { starts_call: true }, r),
            [
                "allow",
                "start_video_not_allowed",
                "start_video_not_allowed",
                "allow",
                "allow",
            ],
        ),
        (
            "create with the marker",
            create(Managed::Yes),
            ["managed_room_reserved"; 5],
        ),
    ];
    let actors = [
        "anna.schmidt",
        "ben.mueller",
        "eva.koch",
        "birgit.schaefer",
        "bot",
    ];
    let mut wrong = Vec::new();
    for (what, action, expected) in &rows {
        for (actor, expected) in actors.iter().zip(expected) {
            let got = check(actor, *action);
            if got != *expected {
                wrong.push(format!("{what} by {actor}: {got}, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The appservice managing the room passes everything, also where nobody else may.
    let b = &by_actor;
    for action in [
        Action::Invite {
            target: "finn.wolf",
            room: b,
        },
        Action::ChangeMembership {
            target: "tim.koch",
            room: b,
        },
        Action::Leave { room: b },
        state(StateChange::PowerLevels { raises_self: true }, b),
        state(StateChange::Other, b),
        create(Managed::ByActor),
    ] {
        assert_eq!(check("bot", action), "allow", "{action:?}");
        let strict = Rights {
            unknown_users: UnknownUsers::Deny,
            ..Rights::default()
        };
        assert_eq!(
            outcome("bot", &action, &school(), &strict),
            "allow",
            "{action:?}"
        );
    }
    // An account the school switched off may always leave; so may anyone an ordinary room.
    assert_eq!(check("emma.alt", Action::Leave { room: r }), "allow");
    let ordinary = room(Some(Role::Student), &members);
    assert_eq!(
        check("ben.mueller", Action::Leave { room: &ordinary }),
        "allow"
    );
    // Students in a managed room need not reach every other member to write there.
    let mixed = ["ben.mueller", "nora.fischer"];
    let managed_mixed = RoomFacts {
        managed: Managed::Yes,
        ..room(None, &mixed)
    };
    let strict = Rights {
        unknown_users: UnknownUsers::Deny,
        ..Rights::default()
    };
    let send = Action::SendMessage {
        room: &managed_mixed,
        event_type: "m.room.message",
    };
    assert_eq!(outcome("ben.mueller", &send, &school(), &strict), "allow");
    let unmanaged_mixed = room(None, &mixed);
    let send = Action::SendMessage {
        room: &unmanaged_mixed,
        event_type: "m.room.message",
    };
    assert_eq!(
        outcome("ben.mueller", &send, &school(), &strict),
        "conversation_no_longer_allowed"
    );
}

/// Escalation: joining by alias a room one was not invited to.
#[test]
fn join_by_alias_without_invite_denied() {
    let members = ["anna.schmidt"];
    let staff_room = room(Some(Role::Teacher), &members);
    for via in [JoinVia::Alias, JoinVia::Knock, JoinVia::Public] {
        let join = Action::Join {
            room: &staff_room,
            via,
        };
        assert_eq!(check("ben.mueller", join), "join_requires_invite");
        assert_eq!(check("eva.koch", join), "join_requires_invite");
        assert_eq!(check("otto.weber", join), "allow");
    }
}

/// Escalation: a student making a room public or changing join rules.
#[test]
fn student_cannot_make_room_public() {
    let state = |change| Action::ChangeRoomState { change, room: None };
    for action in [
        state(StateChange::JoinRules { invite_only: false }),
        state(StateChange::HistoryVisibility {
            visibility: History::WorldReadable,
        }),
        state(StateChange::CanonicalAlias),
        Action::PublishRoom,
        Action::CreateRoom {
            direct: true,
            invitees: &["tim.koch"],
            public: true,
            managed: Managed::No,
        },
    ] {
        assert_eq!(
            check("ben.mueller", action),
            "room_public_staff_only",
            "{action:?}"
        );
        assert_eq!(
            check("eva.koch", action),
            "room_public_staff_only",
            "{action:?}"
        );
        assert_eq!(check("anna.schmidt", action), "allow", "{action:?}");
    }
    // Closing a room is harmless.
    assert_eq!(
        check(
            "ben.mueller",
            state(StateChange::JoinRules { invite_only: true })
        ),
        "allow"
    );
}

#[test]
fn student_cannot_change_room_settings() {
    for change in [
        StateChange::HistoryVisibility {
            visibility: History::Shared,
        },
        StateChange::PowerLevels { raises_self: false },
        StateChange::ServerAcl,
        StateChange::Tombstone,
        StateChange::Other,
    ] {
        let action = Action::ChangeRoomState { change, room: None };
        assert_eq!(
            check("ben.mueller", action),
            "room_settings_staff_only",
            "{change:?}"
        );
    }
}

/// Escalation: raising one's own power level.
#[test]
fn raising_own_power_level_denied() {
    let raise = Action::ChangeRoomState {
        change: StateChange::PowerLevels { raises_self: true },
        room: None,
    };
    assert_eq!(check("ben.mueller", raise), "room_settings_staff_only");
    assert_eq!(check("eva.koch", raise), "power_level_raise_self");
    assert_eq!(check("anna.schmidt", raise), "allow");
    let others = Action::ChangeRoomState {
        change: StateChange::PowerLevels { raises_self: false },
        room: None,
    };
    assert_eq!(check("eva.koch", others), "allow");
}

#[test]
fn room_name_follows_the_setting() {
    let dir = school();
    let mut rights = Rights::default();
    let name = Action::ChangeRoomState {
        change: StateChange::Name,
        room: None,
    };
    assert_eq!(
        outcome("ben.mueller", &name, &dir, &rights),
        "room_name_not_allowed"
    );
    assert_eq!(outcome("eva.koch", &name, &dir, &rights), "allow");
    rights.student.may_set_room_name = true;
    rights.parent.may_set_room_name = false;
    assert_eq!(outcome("ben.mueller", &name, &dir, &rights), "allow");
    assert_eq!(
        outcome("eva.koch", &name, &dir, &rights),
        "room_name_not_allowed"
    );
}

#[test]
fn profile_and_password_changes_follow_the_rights() {
    let dir = school();
    let mut rights = Rights::default();
    let cases = [
        (Action::ChangeDisplayName, "display_name_not_allowed"),
        (Action::ChangeAvatar, "avatar_not_allowed"),
        (Action::ChangePassword, "password_change_not_allowed"),
    ];
    // Students keep the name from the directory; everything else is allowed by default.
    assert_eq!(
        outcome("ben.mueller", &Action::ChangeDisplayName, &dir, &rights),
        "display_name_not_allowed"
    );
    for (action, _) in &cases[1..] {
        assert_eq!(outcome("ben.mueller", action, &dir, &rights), "allow");
    }
    for actor in ["anna.schmidt", "eva.koch", "birgit.schaefer", "bot"] {
        for (action, _) in &cases {
            assert_eq!(outcome(actor, action, &dir, &rights), "allow", "{actor}");
        }
    }
    for role in [
        &mut rights.teacher.may_change_display_name,
        &mut rights.teacher.may_change_avatar,
        &mut rights.teacher.may_change_password,
        &mut rights.parent.may_change_display_name,
        &mut rights.parent.may_change_avatar,
        &mut rights.parent.may_change_password,
        &mut rights.student.may_change_avatar,
        &mut rights.student.may_change_password,
    ] {
        *role = false;
    }
    for actor in ["anna.schmidt", "eva.koch", "ben.mueller"] {
        for (action, rule) in &cases {
            assert_eq!(outcome(actor, action, &dir, &rights), *rule, "{actor}");
        }
    }
    // Admins may always.
    assert_eq!(
        outcome("birgit.schaefer", &Action::ChangePassword, &dir, &rights),
        "allow"
    );
}

#[test]
fn encryption_is_a_setting() {
    let dir = school();
    let rights = Rights {
        allow_encryption: false,
        ..Rights::default()
    };
    let encrypt = Action::ChangeRoomState {
        change: StateChange::Encryption,
        room: None,
    };
    assert_eq!(
        outcome("ben.mueller", &encrypt, &dir, &Rights::default()),
        "allow"
    );
    assert_eq!(
        outcome("ben.mueller", &encrypt, &dir, &rights),
        "encryption_disabled"
    );
    assert_eq!(
        outcome("anna.schmidt", &encrypt, &dir, &rights),
        "encryption_disabled"
    );
    assert_eq!(outcome("birgit.schaefer", &encrypt, &dir, &rights), "allow");
}

/// Escalation: upgrading a room.
#[test]
fn upgrading_a_room_is_staff_only() {
    assert_eq!(
        check("ben.mueller", Action::UpgradeRoom),
        "room_upgrade_staff_only"
    );
    assert_eq!(
        check("eva.koch", Action::UpgradeRoom),
        "room_upgrade_staff_only"
    );
    let tombstone = Action::ChangeRoomState {
        change: StateChange::Tombstone,
        room: None,
    };
    assert_eq!(check("eva.koch", tombstone), "room_settings_staff_only");
    assert_eq!(check("anna.schmidt", Action::UpgradeRoom), "allow");
}

#[test]
fn directory_shows_only_contacts() {
    let search = |target| Action::SearchDirectory { target };
    assert_eq!(check("ben.mueller", search("tim.koch")), "allow");
    assert_eq!(check("ben.mueller", search("otto.weber")), "allow");
    assert_eq!(
        check("ben.mueller", search("nora.fischer")),
        "directory_not_visible"
    );
    assert_eq!(
        check("eva.koch", search("jo.klein")),
        "directory_not_visible"
    );
    let profile = |target, shares_room| Action::Contact {
        target,
        shares_room,
        channel: Channel::Profile,
    };
    assert_eq!(
        check("ben.mueller", profile("nora.fischer", false)),
        "directory_not_visible"
    );
    // Names of people in a shared room are visible anyway.
    assert_eq!(check("ben.mueller", profile("nora.fischer", true)), "allow");
    // Everyone sees themselves, even without groups.
    let mut directory = directory();
    directory.people.get_mut("S6").unwrap().groups.clear();
    let dir = directory.index();
    let rights = Rights::default();
    assert_eq!(
        outcome("nora.fischer", &search("nora.fischer"), &dir, &rights),
        "allow"
    );
    assert_eq!(
        outcome(
            "nora.fischer",
            &profile("nora.fischer", false),
            &dir,
            &rights
        ),
        "allow"
    );
}

#[test]
fn groups_are_for_teachers() {
    assert_eq!(check("anna.schmidt", Action::CreateGroup), "allow");
    assert_eq!(
        check("ben.mueller", Action::CreateGroup),
        "create_group_not_allowed"
    );
    assert_eq!(
        check("eva.koch", Action::CreateGroup),
        "create_group_not_allowed"
    );
    let invite = |group| Action::InviteGroup { group };
    assert_eq!(
        check("anna.schmidt", invite("Sorgeberechtigte 9.2")),
        "allow"
    );
    assert_eq!(
        check("eva.koch", invite("Sorgeberechtigte 8.1")),
        "invite_group_not_allowed"
    );
    assert_eq!(check("anna.schmidt", invite("Klasse 5.1")), "unknown_group");
    let dir = school();
    let mut rights = Rights::default();
    rights.teacher.may_create_groups = false;
    rights.teacher.may_invite_groups = false;
    rights.parent.may_create_groups = true;
    assert_eq!(
        outcome("anna.schmidt", &Action::CreateGroup, &dir, &rights),
        "create_group_not_allowed"
    );
    assert_eq!(
        outcome("anna.schmidt", &invite("Klasse 8.1"), &dir, &rights),
        "invite_group_not_allowed"
    );
    assert_eq!(
        outcome("eva.koch", &Action::CreateGroup, &dir, &rights),
        "allow"
    );
}

/// A teacher's own group holds people the teacher may write to; students and parents add
/// nobody (they create no groups).
#[test]
fn teachers_add_people_they_reach_to_their_groups() {
    let add = |target| Action::AddGroupMember { target };
    let cases = [
        ("anna.schmidt", "ben.mueller", "allow"),
        ("anna.schmidt", "otto.weber", "allow"),
        ("anna.schmidt", "lena.wolf", "target_unavailable"),
        ("anna.schmidt", "emma.alt", "target_unavailable"),
        ("anna.schmidt", "nobody.here", "allow"),
        ("birgit.schaefer", "nora.fischer", "allow"),
        ("ben.mueller", "tim.koch", "create_group_not_allowed"),
        ("eva.koch", "uwe.wolf", "create_group_not_allowed"),
    ];
    for (actor, target, expected) in cases {
        assert_eq!(check(actor, add(target)), expected, "{actor} adds {target}");
    }
    let dir = school();
    let mut rights = Rights::default();
    rights.teacher.may_message = Reach::OwnGroupsAndTeachers;
    rights.unknown_users = UnknownUsers::Deny;
    let strict = |actor, target| outcome(actor, &add(target), &dir, &rights);
    assert_eq!(strict("anna.schmidt", "ben.mueller"), "allow");
    assert_eq!(
        strict("anna.schmidt", "nora.fischer"),
        "teacher_contact_outside_groups"
    );
    assert_eq!(
        strict("anna.schmidt", "nobody.here"),
        "target_not_in_directory"
    );
}

#[test]
fn teachers_reset_passwords_of_their_groups() {
    let reset = |target| Action::ResetPassword { target };
    // Anna teaches 8.1: Ben, his mother Clara, Tim's mother Eva.
    for target in ["ben.mueller", "clara.mueller", "eva.koch"] {
        assert_eq!(check("anna.schmidt", reset(target)), "allow", "{target}");
    }
    for target in [
        "nora.fischer",
        "jo.klein",
        "otto.weber",
        "olaf.gruen",
        "bot",
    ] {
        assert_eq!(
            check("anna.schmidt", reset(target)),
            "reset_password_outside_groups",
            "{target}"
        );
    }
    // Restricted people (no consent yet) can get a new start code; locked and deactivated
    // ones cannot.
    assert_eq!(check("anna.schmidt", reset("lena.wolf")), "allow");
    assert_eq!(
        check("anna.schmidt", reset("emma.alt")),
        "target_unavailable"
    );
    assert_eq!(
        check("anna.schmidt", reset("karl.lang")),
        "target_unavailable"
    );
    assert_eq!(check("olaf.gruen", reset("otto.weber")), "allow");
    assert_eq!(
        check("eva.koch", reset("tim.koch")),
        "reset_password_not_allowed"
    );
    let rights = Rights {
        teacher: schulhof_policy::TeacherRights {
            may_reset_passwords: false,
            ..Default::default()
        },
        ..Rights::default()
    };
    assert_eq!(
        outcome("anna.schmidt", &reset("ben.mueller"), &school(), &rights),
        "reset_password_not_allowed"
    );
}

#[test]
fn tasks_follow_the_table() {
    assert_eq!(check("anna.schmidt", Action::SetTask), "allow");
    assert_eq!(
        check("ben.mueller", Action::SetTask),
        "set_task_not_allowed"
    );
    assert_eq!(check("ben.mueller", Action::SubmitTask), "allow");
    assert_eq!(check("eva.koch", Action::SubmitTask), "allow");
    let mut rights = Rights::default();
    rights.student.may_submit_tasks = false;
    rights.teacher.may_set_tasks = false;
    let dir = school();
    assert_eq!(
        outcome("ben.mueller", &Action::SubmitTask, &dir, &rights),
        "submit_task_not_allowed"
    );
    assert_eq!(
        outcome("anna.schmidt", &Action::SetTask, &dir, &rights),
        "set_task_not_allowed"
    );
}

#[test]
fn video_conferences_follow_the_table() {
    assert_eq!(check("anna.schmidt", Action::StartVideoConference), "allow");
    assert_eq!(
        check("ben.mueller", Action::StartVideoConference),
        "start_video_not_allowed"
    );
    assert_eq!(check("ben.mueller", Action::JoinVideoConference), "allow");
    assert_eq!(check("eva.koch", Action::JoinVideoConference), "allow");
    // A legacy 1:1 call in a direct chat: starting is `m.call.invite`, joining `m.call.answer`.
    let members = ["ben.mueller", "anna.schmidt"];
    let chat = direct(Some(Role::Teacher), &members);
    let call = |event_type| Action::SendMessage {
        room: &chat,
        event_type,
    };
    assert_eq!(
        check("ben.mueller", call("m.call.invite")),
        "start_video_not_allowed"
    );
    assert_eq!(check("ben.mueller", call("m.call.answer")), "allow");
    let mut rights = Rights::default();
    rights.student.may_join_video_conferences = false;
    assert_eq!(
        outcome("ben.mueller", &call("m.call.answer"), &school(), &rights),
        "join_video_not_allowed"
    );
}

#[test]
fn import_and_rights_are_admin_only() {
    for action in [Action::ImportUsers, Action::ChangeRights] {
        assert_eq!(check("anna.schmidt", action), "admin_only");
        assert_eq!(check("ben.mueller", action), "admin_only");
        assert_eq!(check("birgit.schaefer", action), "allow");
    }
}
