//! Teachers' own groups: a teacher (anyone whose role may create groups, `may_create_groups`)
//! creates a group from people they may write to, adds and removes people and dissolves it.
//! Such a group is a directory group of kind `custom` with its owner in `created_by` (the
//! appservice gives it a room of kind `teacher_group`); imports keep it, and drop from it only
//! people who left the school.
//!
//! Every change is one [`DirectoryChange`]: validated in full against the directory read in
//! the change's transaction (nothing is written if one person or the name is refused), stored
//! with an audit entry, and in the policy's snapshot of this process before the call returns
//! (other processes reload within a second through the directory version).

use ruma::UserId;
use schulhof_directory::{Directory, DirectoryIndex, Group, GroupKind, Person};
use schulhof_policy::{decide, Action, Address, Decision};

use crate::service::school::directory::DirectoryChange;
use crate::service::school::policy::Context;
use crate::state::AppState;
use crate::{Error, Result};

/// Shortest group name, in characters.
pub const NAME_MIN: usize = 3;
/// Longest group name, in characters.
pub const NAME_MAX: usize = 60;
/// Most people one change may name.
pub const MEMBERS_MAX: usize = 300;

/// The audit log's actions.
const AUDIT_CREATE: &str = "group.create";
const AUDIT_ADD: &str = "group.add_members";
const AUDIT_REMOVE: &str = "group.remove_member";
const AUDIT_DISSOLVE: &str = "group.dissolve";

/// A group a teacher owns, with its members (the owner included), by display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnGroup {
    /// The group's name.
    pub name: String,
    /// `(localpart, display name)` of each member, sorted by display name.
    pub members: Vec<(String, String)>,
}

/// The groups `owner` created, by name.
pub fn own_groups(state: &AppState, owner: &UserId) -> Vec<OwnGroup> {
    let index = state.directory.snapshot();
    let Some(person) = index.person(owner.localpart()) else {
        return Vec::new();
    };
    let mut groups: Vec<OwnGroup> = index
        .groups_of(&person.localpart)
        .iter()
        .filter_map(|name| index.group(name))
        .filter(|group| group.created_by.as_deref() == Some(person.import_id.as_str()))
        .map(|group| {
            let mut members: Vec<(String, String)> = index
                .members(&group.name)
                .iter()
                .filter_map(|localpart| index.person(localpart))
                .map(|p| (p.localpart.clone(), p.display_name()))
                .collect();
            members.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            OwnGroup {
                name: group.name.clone(),
                members,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    groups
}

/// Whether `user` may create groups at all (the refusal in their form of address otherwise).
pub fn require_may_create(state: &AppState, user: &UserId) -> Result<()> {
    let ctx = Context::now(state);
    match ctx.decide(user, &Action::CreateGroup) {
        Decision::Allow => Ok(()),
        Decision::Deny(denial) => {
            let text = denial.rule.text();
            Err(Error::forbidden(text.de(ctx.address(state, user)), text.en))
        }
    }
}

/// Creates the group `name` owned by `owner` with the people `members` names (user names,
/// separated by commas, spaces or lines; the owner is always a member).
pub async fn create(state: &AppState, owner: &UserId, name: &str, members: &str) -> Result<()> {
    let name = valid_name(name)?;
    let mut change = DirectoryChange::begin(state).await?;
    let checker = Checker::new(state, owner, &change.before)?;
    checker.require_free_name(&name)?;
    let mut people = checker.people(members)?;
    people.push(checker.owner.import_id.clone());
    change.after.groups.insert(
        name.clone(),
        Group {
            name: name.clone(),
            kind: GroupKind::Custom,
            created_by: Some(checker.owner.import_id.clone()),
        },
    );
    join(&mut change.after, &name, &people);
    let detail = format!("members={}", people.len());
    change.audit(owner.as_str(), AUDIT_CREATE, &name, detail);
    change.commit(state).await
}

/// Adds the people `members` names to `owner`'s group `group`.
pub async fn add(state: &AppState, owner: &UserId, group: &str, members: &str) -> Result<()> {
    let mut change = DirectoryChange::begin(state).await?;
    let checker = Checker::new(state, owner, &change.before)?;
    checker.require_own(group)?;
    let people = checker.people(members)?;
    if people.is_empty() {
        return Err(no_people());
    }
    if let Some(already) = people
        .iter()
        .filter_map(|id| change.before.people.get(id))
        .find(|p| p.groups.contains(group))
    {
        return Err(Error::invalid_param(
            format!("{} ist schon in der Gruppe.", who(already)),
            format!("{} is already in the group.", who(already)),
        ));
    }
    join(&mut change.after, group, &people);
    let detail = format!("added={}", people.len());
    change.audit(owner.as_str(), AUDIT_ADD, group, detail);
    change.commit(state).await
}

/// Removes the person with localpart `member` from `owner`'s group `group` (not the owner:
/// a group without its owner is dissolved instead).
pub async fn remove(state: &AppState, owner: &UserId, group: &str, member: &str) -> Result<()> {
    let mut change = DirectoryChange::begin(state).await?;
    let checker = Checker::new(state, owner, &change.before)?;
    checker.require_own(group)?;
    let person = change
        .before
        .by_localpart(member)
        .filter(|p| p.groups.contains(group) && p.import_id != checker.owner.import_id)
        .ok_or_else(|| {
            Error::invalid_param(
                format!("„{member}“ ist nicht in der Gruppe „{group}“."),
                format!("“{member}” is not in the group “{group}”."),
            )
        })?;
    let import_id = person.import_id.clone();
    if let Some(p) = change.after.people.get_mut(&import_id) {
        p.groups.remove(group);
    }
    change.audit(
        owner.as_str(),
        AUDIT_REMOVE,
        group,
        format!("member={member}"),
    );
    change.commit(state).await
}

/// Dissolves `owner`'s group `group`: nobody is in it any more and it is gone from the
/// directory (its room is archived by the appservice; nothing of it is deleted).
pub async fn dissolve(state: &AppState, owner: &UserId, group: &str) -> Result<()> {
    let mut change = DirectoryChange::begin(state).await?;
    let checker = Checker::new(state, owner, &change.before)?;
    checker.require_own(group)?;
    change.after.groups.remove(group);
    for person in change.after.people.values_mut() {
        person.groups.remove(group);
    }
    change.audit(owner.as_str(), AUDIT_DISSOLVE, group, "");
    change.commit(state).await
}

/// Puts the people with these import IDs into `group`.
fn join(directory: &mut Directory, group: &str, import_ids: &[String]) {
    for id in import_ids {
        if let Some(person) = directory.people.get_mut(id) {
            person.groups.insert(group.to_owned());
        }
    }
}

/// A group name as entered, trimmed, if it is acceptable: 3–60 characters, no control
/// characters, not a name the school's administration uses for its own kinds of groups.
pub fn valid_name(name: &str) -> Result<String> {
    let name = name.trim();
    let length = name.chars().count();
    if !(NAME_MIN..=NAME_MAX).contains(&length) || name.chars().any(char::is_control) {
        return Err(Error::invalid_param(
            format!("Der Gruppenname muss {NAME_MIN} bis {NAME_MAX} Zeichen lang sein."),
            format!("The group name must be {NAME_MIN} to {NAME_MAX} characters long."),
        ));
    }
    if GroupKind::of_name(name) != GroupKind::Custom {
        return Err(Error::invalid_param(
            "Namen wie „Klasse …“, „Sorgeberechtigte …“, „Fachkonferenz …“ oder „Kollegium“ \
             sind den Gruppen der Schulverwaltung vorbehalten. Bitte wähle einen anderen Namen.",
            "Names like “Klasse …”, “Sorgeberechtigte …”, “Fachkonferenz …” or “Kollegium” \
             are reserved for the school administration's groups. Please choose another name.",
        ));
    }
    Ok(name.to_owned())
}

/// Nobody named.
fn no_people() -> Error {
    Error::invalid_param(
        "Bitte gib mindestens einen Benutzernamen an.",
        "Please enter at least one user name.",
    )
}

/// "„Ben Müller“ (ben.mueller)".
fn who(person: &Person) -> String {
    format!("„{}“ ({})", person.display_name(), person.localpart)
}

/// The checks of one change, against the directory read in its transaction.
struct Checker<'a> {
    index: DirectoryIndex,
    rights: std::sync::Arc<schulhof_policy::Rights>,
    owner: Person,
    actor: &'a UserId,
    address: Address,
    directory: &'a Directory,
}

impl<'a> Checker<'a> {
    /// The checks for `owner` on `directory`: the owner must be in it and may create groups.
    fn new(state: &AppState, owner: &'a UserId, directory: &'a Directory) -> Result<Checker<'a>> {
        require_may_create(state, owner)?;
        let index = DirectoryIndex::new(directory.clone());
        let person = index.person(owner.localpart()).cloned().ok_or_else(|| {
            Error::forbidden(
                "Nur Personen aus dem Schulverzeichnis können Gruppen anlegen.",
                "Only people in the school directory can create groups.",
            )
        })?;
        Ok(Checker {
            index,
            rights: state.policy.rights(),
            owner: person,
            actor: owner,
            address: Context::now(state).address(state, owner),
            directory,
        })
    }

    /// Refuses a name any group already has (ignoring case).
    fn require_free_name(&self, name: &str) -> Result<()> {
        let lower = name.to_lowercase();
        if self
            .directory
            .groups
            .keys()
            .any(|g| g.to_lowercase() == lower)
        {
            return Err(Error::invalid_param(
                format!("Eine Gruppe „{name}“ gibt es schon. Bitte wähle einen anderen Namen."),
                format!("A group “{name}” already exists. Please choose another name."),
            ));
        }
        Ok(())
    }

    /// Refuses a group that does not exist or that the owner did not create.
    fn require_own(&self, group: &str) -> Result<()> {
        let own = self
            .directory
            .groups
            .get(group)
            .is_some_and(|g| g.created_by.as_deref() == Some(self.owner.import_id.as_str()));
        if own {
            return Ok(());
        }
        Err(Error::not_found(
            format!("Die Gruppe „{group}“ gibt es nicht unter deinen Gruppen."),
            format!("There is no group “{group}” among your groups."),
        ))
    }

    /// The import IDs of the people `list` names (user names or Matrix IDs, separated by
    /// commas, semicolons or white space), each checked: known, named once, not the owner
    /// (who is always a member), and someone the owner may write to. The first problem is
    /// the error.
    fn people(&self, list: &str) -> Result<Vec<String>> {
        let names: Vec<&str> = list
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|n| !n.is_empty())
            .collect();
        if names.len() > MEMBERS_MAX {
            return Err(Error::invalid_param(
                format!("Bitte nenne höchstens {MEMBERS_MAX} Personen auf einmal."),
                format!("Please name at most {MEMBERS_MAX} people at once."),
            ));
        }
        let mut seen = Vec::with_capacity(names.len());
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let localpart = localpart_of(name);
            if seen.contains(&localpart) {
                return Err(Error::invalid_param(
                    format!("„{name}“ steht mehrfach in der Liste."),
                    format!("“{name}” is in the list more than once."),
                ));
            }
            let Some(person) = self.index.person(&localpart) else {
                return Err(Error::invalid_param(
                    format!("„{name}“ gibt es im Schulverzeichnis nicht."),
                    format!("“{name}” is not in the school directory."),
                ));
            };
            if person.import_id == self.owner.import_id {
                return Err(Error::invalid_param(
                    "Du selbst gehörst immer zu deinen Gruppen; bitte nenne nur die anderen.",
                    "You always belong to your groups; please name only the others.",
                ));
            }
            let add = Action::AddGroupMember {
                target: &person.localpart,
            };
            if let Decision::Deny(denial) =
                decide(self.actor.localpart(), &add, &self.index, &self.rights)
            {
                let text = denial.rule.text();
                return Err(Error::forbidden(
                    format!("{}: {}", who(person), text.de(self.address)),
                    format!("{}: {}", who(person), text.en),
                ));
            }
            ids.push(person.import_id.clone());
            seen.push(localpart);
        }
        Ok(ids)
    }
}

/// The localpart a name in the list stands for (`@ben.mueller:schule.test` → `ben.mueller`),
/// lower case.
fn localpart_of(name: &str) -> String {
    crate::service::school::policy::localpart(name).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(valid_name("  AG Schach ").unwrap(), "AG Schach");
        for bad in [
            "",
            "AG",
            &"x".repeat(61),
            "Klasse 8.1",
            "Kollegium",
            "Neu\nZeile",
        ] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
        assert!(valid_name(&"ä".repeat(60)).is_ok());
    }

    #[test]
    fn list_entries_become_localparts() {
        assert_eq!(localpart_of("@Ben.Mueller:schule.test"), "ben.mueller");
        assert_eq!(localpart_of("tim.koch"), "tim.koch");
    }
}
