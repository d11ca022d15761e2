//! Generated escalation sequences: random rooms, invitations, joins, messages, receipts,
//! typing, profile updates, state changes, kicks and bans, to-device messages, presence and
//! key lookups, and group changes on small synthetic schools, with every step decided by the
//! policy. Whatever the sequence, a student or parent never ends up in a room together with
//! another student or parent they share no group (or family link) with, unless a teacher or
//! admin invited them; they never say anything (a message, a receipt, a state or membership
//! change) in a room of students or parents with such a person; a membership event about
//! someone outside the room never reaches such a person; and outside rooms (to-device,
//! presence, profile, keys) they reach only related people, staff, and people they share a
//! room with in which they could send.

use schulhof_directory::{
    parents_group_of, parse_csv, plan_import, Directory, DirectoryIndex, Person, Role, SplitMix64,
    SyntheticSchool,
};
use schulhof_policy::{decide, Action, Channel, JoinVia, Managed, Rights, RoomFacts, StateChange};

/// Number of generated sequences.
const SEQUENCES: u64 = 1500;

/// Steps per sequence.
const STEPS: usize = 60;

/// A simulated room.
struct Room {
    creator_role: Option<Role>,
    is_direct: bool,
    joined: Vec<String>,
    /// Pending invitations: (invited, inviter).
    invited: Vec<(String, String)>,
}

impl Room {
    /// Joined and invited localparts.
    fn members(&self) -> Vec<&str> {
        let invited = self.invited.iter().map(|(target, _)| target.as_str());
        self.joined
            .iter()
            .map(String::as_str)
            .chain(invited)
            .collect()
    }

    /// Whether `localpart` is joined or invited.
    fn has(&self, localpart: &str) -> bool {
        self.members().contains(&localpart)
    }
}

/// Counts of what happened, to show the sequences explore something.
#[derive(Default, Debug)]
struct Stats {
    rooms: usize,
    peer_joins: usize,
    denied_joins: usize,
    peer_sends: usize,
    peer_state_changes: usize,
    peer_membership_changes: usize,
    outsiders_reached: usize,
    contacts: usize,
    denied_contacts: usize,
    group_changes: usize,
}

/// One generated sequence on one school.
struct Sim {
    directory: Directory,
    dir: DirectoryIndex,
    people: Vec<String>,
    rooms: Vec<Room>,
    rights: Rights,
    rng: SplitMix64,
}

/// Teachers and admins.
fn is_staff(person: &Person) -> bool {
    matches!(person.role, Role::Teacher | Role::Admin)
}

/// The oracle's relation, written independently of the policy: sharing any group, or
/// being parent and child.
fn related(a: &Person, b: &Person) -> bool {
    a.groups.intersection(&b.groups).next().is_some()
        || a.children.contains(&b.import_id)
        || b.children.contains(&a.import_id)
}

impl Sim {
    /// A sequence on the synthetic school of `seed`: two classes of four, three teachers.
    fn new(seed: u64) -> Sim {
        let school = SyntheticSchool {
            seed,
            first_grade: 8,
            grades: 1,
            classes_per_grade: 2,
            students_per_class: 4,
            teachers: 3,
        };
        let file = parse_csv(school.csv().as_bytes()).expect("valid synthetic school");
        let directory = plan_import(&Directory::default(), &file, 0)
            .expect("importable")
            .result;
        let dir = directory.index();
        let people = directory
            .people
            .values()
            .map(|p| p.localpart.clone())
            .collect();
        Sim {
            directory,
            dir,
            people,
            rooms: Vec::new(),
            rights: Rights::default(),
            rng: SplitMix64::new(seed),
        }
    }

    /// The person with this localpart.
    fn person(&self, localpart: &str) -> &Person {
        self.dir.person(localpart).expect("in the directory")
    }

    /// Whether the policy allows `action` by `actor`.
    fn allows(&self, actor: &str, action: &Action<'_>) -> bool {
        decide(actor, action, &self.dir, &self.rights).is_allowed()
    }

    /// A random person.
    fn someone(&mut self) -> String {
        let n = self.rng.below(self.people.len());
        self.people[n].clone()
    }

    /// Runs one random step.
    fn step(&mut self, stats: &mut Stats) {
        match self.rng.below(100) {
            0..=17 => self.create(stats),
            18..=39 => self.invite(),
            40..=59 => self.accept(stats),
            60..=67 => self.join_uninvited(stats),
            68..=79 => self.send(stats),
            80..=85 => self.change_state(stats),
            86..=91 => self.change_membership(stats),
            92..=96 => self.contact(stats),
            _ => self.change_class(stats),
        }
    }

    /// `createRoom` with up to three invitees.
    fn create(&mut self, stats: &mut Stats) {
        let actor = self.someone();
        let direct = self.rng.below(2) == 0;
        let public = self.rng.below(10) == 0;
        let mut invitees: Vec<String> = Vec::new();
        for _ in 0..self.rng.below(4) {
            let target = self.someone();
            if target != actor && !invitees.contains(&target) {
                invitees.push(target);
            }
        }
        let refs: Vec<&str> = invitees.iter().map(String::as_str).collect();
        let action = Action::CreateRoom {
            direct,
            invitees: &refs,
            public,
            managed: Managed::No,
        };
        if self.allows(&actor, &action) {
            stats.rooms += 1;
            let invited = invitees.into_iter().map(|t| (t, actor.clone())).collect();
            self.rooms.push(Room {
                creator_role: Some(self.person(&actor).role),
                is_direct: direct,
                joined: vec![actor],
                invited,
            });
        }
    }

    /// A random room index, if there are rooms.
    fn some_room(&mut self) -> Option<usize> {
        (!self.rooms.is_empty()).then(|| self.rng.below(self.rooms.len()))
    }

    /// The facts of room `n` (with `members` from [`Room::members`]).
    fn facts<'a>(&self, n: usize, members: &'a [&'a str]) -> RoomFacts<'a> {
        RoomFacts {
            creator_role: self.rooms[n].creator_role,
            members,
            is_direct: self.rooms[n].is_direct,
            managed: Managed::No,
        }
    }

    /// A joined member invites someone.
    fn invite(&mut self) {
        let Some(n) = self.some_room() else { return };
        let actor = self.rng.pick(&self.rooms[n].joined).clone();
        let target = self.someone();
        if self.rooms[n].has(&target) {
            return;
        }
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        let allowed = self.allows(
            &actor,
            &Action::Invite {
                target: &target,
                room: &room,
            },
        );
        if allowed {
            self.rooms[n].invited.push((target, actor));
        }
    }

    /// Someone accepts a pending invitation (or, denied, sometimes rejects it).
    fn accept(&mut self, stats: &mut Stats) {
        let Some(n) = self.some_room() else { return };
        if self.rooms[n].invited.is_empty() {
            return;
        }
        let i = self.rng.below(self.rooms[n].invited.len());
        let (joiner, inviter) = self.rooms[n].invited[i].clone();
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        let join = Action::Join {
            room: &room,
            via: JoinVia::Invite { inviter: &inviter },
        };
        if self.allows(&joiner, &join) {
            let by_staff = is_staff(self.person(&inviter));
            self.assert_may_join(n, &joiner, by_staff, stats);
            self.rooms[n].invited.remove(i);
            self.rooms[n].joined.push(joiner);
        } else {
            stats.denied_joins += 1;
            if self.rng.below(2) == 0 {
                self.rooms[n].invited.remove(i);
            }
        }
    }

    /// Someone joins a room by alias, by knocking or as a public room.
    fn join_uninvited(&mut self, stats: &mut Stats) {
        let Some(n) = self.some_room() else { return };
        let actor = self.someone();
        if self.rooms[n].has(&actor) {
            return;
        }
        let via = *self
            .rng
            .pick(&[JoinVia::Alias, JoinVia::Knock, JoinVia::Public]);
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        if self.allows(&actor, &Action::Join { room: &room, via }) {
            self.assert_may_join(n, &actor, false, stats);
            self.rooms[n].joined.push(actor);
        }
    }

    /// The invariant for `joiner` joining room `n` (`by_staff`: on a staff invitation).
    fn assert_may_join(&self, n: usize, joiner: &str, by_staff: bool, stats: &mut Stats) {
        let j = self.person(joiner);
        if is_staff(j) || by_staff {
            return;
        }
        stats.peer_joins += 1;
        for member in &self.rooms[n].joined {
            let m = self.person(member);
            assert!(
                is_staff(m) || related(j, m),
                "{joiner} joined room {n} with unrelated {member}: {:?}",
                self.rooms[n].joined
            );
        }
    }

    /// A joined member sends a message, a receipt, a typing notification or a new profile.
    fn send(&mut self, stats: &mut Stats) {
        let Some(n) = self.some_room() else { return };
        let sender = self.rng.pick(&self.rooms[n].joined).clone();
        let event_type =
            *self
                .rng
                .pick(&["m.room.message", "m.receipt", "m.typing", "m.room.member"]);
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        let action = Action::SendMessage {
            room: &room,
            event_type,
        };
        if self.said_in_room(n, &sender, &action) {
            stats.peer_sends += 1;
        }
    }

    /// A joined member changes the room's state.
    fn change_state(&mut self, stats: &mut Stats) {
        let Some(n) = self.some_room() else { return };
        let sender = self.rng.pick(&self.rooms[n].joined).clone();
        let change = *self.rng.pick(&[
            StateChange::Name,
            StateChange::GuestAccess,
            StateChange::Encryption,
            StateChange::JoinRules { invite_only: true },
            StateChange::PowerLevels { raises_self: false },
        ]);
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        let action = Action::ChangeRoomState {
            change,
            room: Some(&room),
        };
        if self.said_in_room(n, &sender, &action) {
            stats.peer_state_changes += 1;
        }
    }

    /// A joined member kicks, bans or unbans someone, in the room or not.
    fn change_membership(&mut self, stats: &mut Stats) {
        let Some(n) = self.some_room() else { return };
        let actor = self.rng.pick(&self.rooms[n].joined).clone();
        let target = self.someone();
        if target == actor {
            return;
        }
        let members = self.rooms[n].members();
        let room = self.facts(n, &members);
        let action = Action::ChangeMembership {
            target: &target,
            room: &room,
        };
        if self.rooms[n].has(&target) {
            if self.said_in_room(n, &actor, &action) {
                stats.peer_membership_changes += 1;
            }
            if self.allows(&actor, &action) {
                let room = &mut self.rooms[n];
                room.joined.retain(|j| *j != target);
                room.invited.retain(|(i, _)| *i != target);
            }
            return;
        }
        if !self.allows(&actor, &action) {
            return;
        }
        // The event reaches the target like an invitation.
        let (a, t) = (self.person(&actor), self.person(&target));
        if !is_staff(a) && !is_staff(t) {
            stats.outsiders_reached += 1;
            assert!(
                related(a, t),
                "{actor} reached unrelated {target} through a membership change in room {n}"
            );
        }
    }

    /// Someone sends a to-device message to, or looks up the presence, profile or keys of,
    /// someone else.
    fn contact(&mut self, stats: &mut Stats) {
        let actor = self.someone();
        let target = self.someone();
        let channel = *self.rng.pick(&[
            Channel::ToDevice,
            Channel::Presence,
            Channel::Profile,
            Channel::Keys,
        ]);
        let shares_room = (0..self.rooms.len()).any(|n| {
            let members = self.rooms[n].members();
            let room = self.facts(n, &members);
            let send = Action::SendMessage {
                room: &room,
                event_type: "m.room.message",
            };
            members.contains(&target.as_str())
                && members.contains(&actor.as_str())
                && self.allows(&actor, &send)
        });
        let action = Action::Contact {
            target: &target,
            shares_room,
            channel,
        };
        if !self.allows(&actor, &action) {
            stats.denied_contacts += 1;
            return;
        }
        let (a, t) = (self.person(&actor), self.person(&target));
        if is_staff(a) || is_staff(t) || actor == target {
            return;
        }
        stats.contacts += 1;
        let legitimately_together = (0..self.rooms.len()).any(|n| {
            let members = self.rooms[n].members();
            members.contains(&actor.as_str())
                && members.contains(&target.as_str())
                && self.may_speak_in(n, a)
        });
        assert!(
            related(a, t) || legitimately_together,
            "{actor} reached unrelated {target} outside rooms ({channel:?})"
        );
    }

    /// The oracle for speaking in room `n`: a staff room, or every other member is staff or
    /// related to `person`.
    fn may_speak_in(&self, n: usize, person: &Person) -> bool {
        let staff_room = matches!(
            self.rooms[n].creator_role,
            Some(Role::Teacher | Role::Admin)
        );
        staff_room
            || self.rooms[n]
                .members()
                .iter()
                .filter(|m| **m != person.localpart)
                .all(|m| {
                    let m = self.person(m);
                    is_staff(m) || related(person, m)
                })
    }

    /// Whether `actor` said something with `action` in room `n` as a student or parent in a
    /// room of students or parents; if so, every other member is staff or related to them.
    fn said_in_room(&self, n: usize, actor: &str, action: &Action<'_>) -> bool {
        let staff_room = matches!(
            self.rooms[n].creator_role,
            Some(Role::Teacher | Role::Admin)
        );
        let a = self.person(actor);
        if staff_room || is_staff(a) || !self.allows(actor, action) {
            return false;
        }
        assert!(
            self.may_speak_in(n, a),
            "{actor} said {action:?} in room {n} with unrelated members: {:?}",
            self.rooms[n].members()
        );
        true
    }

    /// A random student changes class; their parents' groups follow.
    fn change_class(&mut self, stats: &mut Stats) {
        let students: Vec<String> = self
            .directory
            .people
            .values()
            .filter(|p| p.role == Role::Student)
            .map(|p| p.import_id.clone())
            .collect();
        let id = self.rng.pick(&students).clone();
        let class = format!("Klasse 8.{}", 1 + self.rng.below(2));
        let student = self.directory.people.get_mut(&id).unwrap();
        student.groups.retain(|g| !g.starts_with("Klasse "));
        student.groups.insert(class);
        self.derive_parent_groups();
        self.dir = self.directory.index();
        stats.group_changes += 1;
    }

    /// Recomputes every parent's derived groups from their children's classes.
    fn derive_parent_groups(&mut self) {
        let people = &self.directory.people;
        let derived: Vec<(String, Vec<String>)> = people
            .values()
            .filter(|p| p.role == Role::Parent)
            .map(|parent| {
                let groups = parent
                    .children
                    .iter()
                    .flat_map(|child| &people[child].groups)
                    .filter_map(|group| parents_group_of(group))
                    .collect();
                (parent.import_id.clone(), groups)
            })
            .collect();
        for (id, groups) in derived {
            let parent = self.directory.people.get_mut(&id).unwrap();
            parent
                .groups
                .retain(|g| !g.starts_with("Sorgeberechtigte "));
            parent.groups.extend(groups);
        }
    }
}

#[test]
fn no_sequence_puts_unrelated_students_or_parents_together() {
    let mut stats = Stats::default();
    for seed in 0..SEQUENCES {
        let mut sim = Sim::new(seed);
        for _ in 0..STEPS {
            sim.step(&mut stats);
        }
    }
    // The sequences reach the interesting cases.
    assert!(stats.rooms > 5_000, "{stats:?}");
    assert!(stats.peer_joins > 1_000, "{stats:?}");
    assert!(stats.denied_joins > 50, "{stats:?}");
    assert!(stats.peer_sends > 2_000, "{stats:?}");
    assert!(stats.peer_state_changes > 500, "{stats:?}");
    assert!(stats.peer_membership_changes > 30, "{stats:?}");
    assert!(stats.outsiders_reached > 100, "{stats:?}");
    assert!(stats.contacts > 500, "{stats:?}");
    assert!(stats.denied_contacts > 1_000, "{stats:?}");
    assert!(stats.group_changes > 2_000, "{stats:?}");
}
