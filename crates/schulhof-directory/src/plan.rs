//! Comparing an import file with the directory: what an import adds, changes and removes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::csv::{ImportFile, ImportRow};
use crate::localpart::{assign_localpart, base_localpart};
use crate::model::{parents_group_of, Directory, Group, GroupKind, Person, PersonStatus};
use crate::ImportError;

/// A person who stays in the directory with changed data (or status, see
/// [`ImportPlan::reactivated`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonChange {
    /// The person as stored before the import.
    pub before: Person,
    /// The person after the import (same import ID and localpart).
    pub after: Person,
}

impl PersonChange {
    /// Groups the person joins.
    pub fn groups_added(&self) -> impl Iterator<Item = &str> {
        difference(&self.after.groups, &self.before.groups)
    }

    /// Groups the person leaves.
    pub fn groups_removed(&self) -> impl Iterator<Item = &str> {
        difference(&self.before.groups, &self.after.groups)
    }

    /// What changed, in German ("Name: A → B; Gruppen: +X −Y"); `localpart_of` turns a
    /// child's import ID into something readable.
    fn describe(&self, localpart_of: impl Fn(&str) -> String) -> String {
        let (before, after) = (&self.before, &self.after);
        let mut parts = Vec::new();
        if before.first_name != after.first_name || before.last_name != after.last_name {
            parts.push(format!(
                "Name: {} → {}",
                before.display_name(),
                after.display_name()
            ));
        }
        if before.role != after.role {
            parts.push(format!(
                "Rolle: {} → {}",
                before.role.german(),
                after.role.german()
            ));
        }
        if before.groups != after.groups {
            let added = self.groups_added().map(|g| format!("+{g}"));
            let removed = self.groups_removed().map(|g| format!("−{g}"));
            parts.push(format!("Gruppen: {}", join(added.chain(removed), " ")));
        }
        if before.children != after.children {
            let added = difference(&after.children, &before.children);
            let removed = difference(&before.children, &after.children);
            let added = added.map(|c| format!("+{}", localpart_of(c)));
            let removed = removed.map(|c| format!("−{}", localpart_of(c)));
            parts.push(format!("Kinder: {}", join(added.chain(removed), " ")));
        }
        if before.consent != after.consent {
            parts.push(format!(
                "Einwilligung: {} → {}",
                yes_no(before.consent),
                yes_no(after.consent)
            ));
        }
        parts.join("; ")
    }
}

/// A group the import creates or removes. Only imported groups (`created_by: None`)
/// appear here; groups teachers created are never touched by an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", content = "group", rename_all = "snake_case")]
pub enum GroupChange {
    /// A group that is new (listed in the file for the first time, or a newly derived
    /// parents' group).
    Added(Group),
    /// An imported group that no one in the file belongs to any more.
    Removed(Group),
}

impl GroupChange {
    /// The group added or removed.
    pub fn group(&self) -> &Group {
        match self {
            GroupChange::Added(group) | GroupChange::Removed(group) => group,
        }
    }
}

/// What an import does: the diff against the current directory and the directory after it.
///
/// All person lists are sorted by localpart, group changes by kind of change (added first)
/// and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    /// People new to the school, with freshly assigned localparts, status `Active`.
    pub added: Vec<Person>,
    /// People (active or locked) whose name, role, groups, children or consent change.
    /// Locked people stay locked.
    pub changed: Vec<PersonChange>,
    /// Deactivated people who are in the file again: status `Active`, same localpart,
    /// data as in the file.
    pub reactivated: Vec<PersonChange>,
    /// Active or locked people missing from the file, as they were before the import.
    /// In [`result`](Self::result) their status is `Deactivated { since_ms: now_ms }` and
    /// they have left every group, teacher-created groups included.
    pub deactivated: Vec<Person>,
    /// Imported groups that appear or disappear.
    pub group_changes: Vec<GroupChange>,
    /// Number of people in the file whose data does not change.
    pub unchanged: usize,
    /// The whole directory after the import (people already deactivated before and
    /// missing from the file are kept unchanged, as are teacher-created groups).
    pub result: Directory,
}

impl ImportPlan {
    /// Whether the import changes nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.reactivated.is_empty()
            && self.deactivated.is_empty()
            && self.group_changes.is_empty()
    }

    /// The localpart of the person with this import ID (the ID itself if unknown).
    fn localpart_of(&self, import_id: &str) -> String {
        self.result
            .people
            .get(import_id)
            .map_or_else(|| import_id.to_owned(), |p| p.localpart.clone())
    }

    /// "anna.schmidt (Anna Schmidt, Lehrkraft; Gruppen: Lehrer; Kinder: ...)".
    fn describe(&self, person: &Person) -> String {
        let mut parts = vec![format!(
            "{}, {}",
            person.display_name(),
            person.role.german()
        )];
        if !person.groups.is_empty() {
            parts.push(format!(
                "Gruppen: {}",
                join(person.groups.iter().map(String::as_str), ", ")
            ));
        }
        if !person.children.is_empty() {
            let children = person.children.iter().map(|c| self.localpart_of(c));
            parts.push(format!("Kinder: {}", join(children, ", ")));
        }
        if !person.consent {
            parts.push("ohne Einwilligung".to_owned());
        }
        format!("{} ({})", person.localpart, parts.join("; "))
    }

    /// "~ max.mueller (Max Müller): Gruppen: +Klasse 9.1 −Klasse 8.1".
    fn describe_change(&self, prefix: &str, change: &PersonChange, suffix: &str) -> String {
        let after = &change.after;
        let what = change.describe(|id| self.localpart_of(id));
        let separator = if what.is_empty() { "" } else { ": " };
        format!(
            "{prefix} {} ({}){suffix}{separator}{what}",
            after.localpart,
            after.display_name()
        )
    }

    /// "3 neu, 1 geändert, ..." (people) and "2 neu, 1 entfernt" (groups).
    fn counts(&self) -> (String, String) {
        let added_groups = self
            .group_changes
            .iter()
            .filter(|c| matches!(c, GroupChange::Added(_)))
            .count();
        let removed_groups = self.group_changes.len() - added_groups;
        (
            format!(
                "{} neu, {} geändert, {} wieder aktiviert, {} deaktiviert, {} unverändert",
                self.added.len(),
                self.changed.len(),
                self.reactivated.len(),
                self.deactivated.len(),
                self.unchanged
            ),
            format!("{added_groups} neu, {removed_groups} entfernt"),
        )
    }
}

/// The dry-run report a school admin reads (German).
impl fmt::Display for ImportPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(
                f,
                "Keine Änderungen ({} unverändert).",
                people(self.unchanged)
            );
        }
        section(
            f,
            "Neu",
            self.added.iter().map(|p| format!("+ {}", self.describe(p))),
        )?;
        let changed = self.changed.iter();
        section(
            f,
            "Geändert",
            changed.map(|c| self.describe_change("~", c, "")),
        )?;
        let reactivated = self.reactivated.iter();
        section(
            f,
            "Wieder aktiviert",
            reactivated.map(|c| self.describe_change("↺", c, " ist wieder aktiv")),
        )?;
        let deactivated = self.deactivated.iter();
        section(
            f,
            "Deaktiviert",
            deactivated.map(|p| format!("− {}", self.describe(p))),
        )?;
        let (people_counts, group_counts) = self.counts();
        if !self.group_changes.is_empty() {
            writeln!(f, "Gruppen: {group_counts}")?;
            for change in &self.group_changes {
                let sign = match change {
                    GroupChange::Added(_) => '+',
                    GroupChange::Removed(_) => '−',
                };
                let group = change.group();
                writeln!(f, "{sign} {} ({})", group.name, group.kind.german())?;
            }
        }
        writeln!(
            f,
            "Zusammenfassung: {people_counts}; Gruppen: {group_counts}."
        )
    }
}

/// Writes "Title: n Personen" and the lines, if there are any.
fn section(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    mut lines: impl ExactSizeIterator<Item = String>,
) -> fmt::Result {
    if lines.len() == 0 {
        return Ok(());
    }
    writeln!(f, "{title}: {}", people(lines.len()))?;
    lines.try_for_each(|line| writeln!(f, "{line}"))
}

/// "1 Person" / "n Personen".
fn people(n: usize) -> String {
    if n == 1 {
        "1 Person".to_owned()
    } else {
        format!("{n} Personen")
    }
}

/// "ja" / "nein".
fn yes_no(value: bool) -> &'static str {
    if value {
        "ja"
    } else {
        "nein"
    }
}

/// Joins displayable items.
fn join<S: AsRef<str>>(items: impl Iterator<Item = S>, separator: &str) -> String {
    items
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(separator)
}

/// Elements of `a` that are not in `b`.
fn difference<'a>(
    a: &'a BTreeSet<String>,
    b: &'a BTreeSet<String>,
) -> impl Iterator<Item = &'a str> {
    a.difference(b).map(String::as_str)
}

/// The groups every row belongs to: the file's groups plus, for parents, the derived
/// parents' group of each child's class.
fn memberships(file: &ImportFile) -> Vec<BTreeSet<String>> {
    let by_id: HashMap<&str, &ImportRow> = file
        .rows()
        .iter()
        .map(|row| (row.import_id.as_str(), row))
        .collect();
    let child_classes = |row: &ImportRow| {
        let children = row.children.iter().filter_map(|id| by_id.get(id.as_str()));
        children
            .flat_map(|child| child.groups.iter().filter_map(|g| parents_group_of(g)))
            .collect::<Vec<_>>()
    };
    file.rows()
        .iter()
        .map(|row| {
            row.groups
                .iter()
                .cloned()
                .chain(child_classes(row))
                .collect()
        })
        .collect()
}

/// Imported group names and the first line that brings each in.
fn group_lines(file: &ImportFile, memberships: &[BTreeSet<String>]) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for (row, groups) in file.rows().iter().zip(memberships) {
        for group in groups {
            lines.entry(group.clone()).or_insert(row.line);
        }
    }
    lines
}

/// Errors for imported groups whose name a teacher already uses for a group.
fn collisions(lines: &BTreeMap<String, usize>, teacher_groups: &HashSet<&str>) -> Vec<ImportError> {
    lines
        .iter()
        .filter(|(name, _)| teacher_groups.contains(name.as_str()))
        .map(|(name, &line)| ImportError {
            line,
            field: "Gruppen".to_owned(),
            message: format!(
                "Eine Lehrkraft hat bereits eine Gruppe „{name}“ angelegt; bitte die \
                 Gruppe in der Datei umbenennen."
            ),
        })
        .collect()
}

/// A person with the data of `row`.
fn person_from(
    row: &ImportRow,
    groups: BTreeSet<String>,
    localpart: String,
    status: PersonStatus,
) -> Person {
    Person {
        import_id: row.import_id.clone(),
        localpart,
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        role: row.role,
        groups,
        children: row.children.iter().cloned().collect(),
        consent: row.consent,
        status,
    }
}

/// Builds an [`ImportPlan`] step by step.
struct Planner<'a> {
    current: &'a Directory,
    teacher_groups: HashSet<&'a str>,
    plan: ImportPlan,
}

impl Planner<'_> {
    /// `person`'s memberships in teacher-created groups (kept by every import).
    fn kept_groups<'s>(&'s self, person: &'s Person) -> impl Iterator<Item = String> + 's {
        let groups = person.groups.iter();
        groups
            .filter(|g| self.teacher_groups.contains(g.as_str()))
            .cloned()
    }

    /// A person in the file who is already known.
    fn update(&mut self, before: &Person, row: &ImportRow, mut groups: BTreeSet<String>) {
        groups.extend(self.kept_groups(before));
        let was_deactivated = matches!(before.status, PersonStatus::Deactivated { .. });
        let status = if was_deactivated {
            PersonStatus::Active
        } else {
            before.status
        };
        let after = person_from(row, groups, before.localpart.clone(), status);
        self.insert(after.clone());
        let change = PersonChange {
            before: before.clone(),
            after,
        };
        if was_deactivated {
            self.plan.reactivated.push(change);
        } else if change.before != change.after {
            self.plan.changed.push(change);
        } else {
            self.plan.unchanged += 1;
        }
    }

    /// A known person missing from the file: deactivated, and out of every group (also
    /// teachers' own groups, which keep everyone else: someone who left the school is in no
    /// group any more).
    fn remove(&mut self, before: &Person, now_ms: i64) {
        if matches!(before.status, PersonStatus::Deactivated { .. }) {
            self.insert(before.clone());
            return;
        }
        let after = Person {
            groups: BTreeSet::new(),
            status: PersonStatus::Deactivated { since_ms: now_ms },
            ..before.clone()
        };
        self.insert(after);
        self.plan.deactivated.push(before.clone());
    }

    /// Puts a person into the resulting directory.
    fn insert(&mut self, person: Person) {
        self.plan
            .result
            .people
            .insert(person.import_id.clone(), person);
    }

    /// The resulting groups and the group changes.
    fn groups(&mut self, lines: &BTreeMap<String, usize>) {
        let current = &self.current.groups;
        let kept = current.values().filter(|g| g.created_by.is_some());
        let mut groups: BTreeMap<String, Group> =
            kept.map(|g| (g.name.clone(), g.clone())).collect();
        for name in lines.keys() {
            let group = Group {
                name: name.clone(),
                kind: GroupKind::of_name(name),
                created_by: None,
            };
            if !current.contains_key(name) {
                self.plan
                    .group_changes
                    .push(GroupChange::Added(group.clone()));
            }
            groups.insert(name.clone(), group);
        }
        let removed = current
            .values()
            .filter(|g| g.created_by.is_none() && !lines.contains_key(&g.name));
        let removed = removed.map(|g| GroupChange::Removed(g.clone()));
        self.plan.group_changes.extend(removed);
        self.plan.result.groups = groups;
    }
}

/// Compares `file` with `current`: see [`ImportPlan`]. `now_ms` (ms since the epoch) is the
/// deactivation time for people missing from the file.
///
/// Fails (with every problem found) only if an imported or derived group has the name of
/// a group a teacher created. Equivalent to [`plan_import_reserving`] with nothing
/// reserved.
pub fn plan_import(
    current: &Directory,
    file: &ImportFile,
    now_ms: i64,
) -> Result<ImportPlan, Vec<ImportError>> {
    plan_import_reserving(current, file, now_ms, |_| false)
}

/// Like [`plan_import`], but new people never get a localpart for which `reserved`
/// returns true. Localparts in `current` are always avoided; use `reserved` for accounts
/// outside the directory (created by hand, or people already deleted after the retention
/// period): Matrix IDs must never be reused.
///
/// New people get their localparts in import ID order, so the result is deterministic.
/// Runs in O(n log n) for n people.
pub fn plan_import_reserving(
    current: &Directory,
    file: &ImportFile,
    now_ms: i64,
    reserved: impl Fn(&str) -> bool,
) -> Result<ImportPlan, Vec<ImportError>> {
    let memberships = memberships(file);
    let lines = group_lines(file, &memberships);
    let teacher_groups: HashSet<&str> = current
        .groups
        .values()
        .filter(|g| g.created_by.is_some())
        .map(|g| g.name.as_str())
        .collect();
    let errors = collisions(&lines, &teacher_groups);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut planner = Planner {
        current,
        teacher_groups,
        plan: ImportPlan::default(),
    };
    let mut new_people = Vec::new();
    for (row, groups) in file.rows().iter().zip(memberships) {
        match current.people.get(&row.import_id) {
            Some(before) => planner.update(before, row, groups),
            None => new_people.push((row, groups)),
        }
    }
    new_people.sort_by(|(a, _), (b, _)| a.import_id.cmp(&b.import_id));
    let mut taken: HashSet<String> = current
        .people
        .values()
        .map(|p| p.localpart.clone())
        .collect();
    for (row, groups) in new_people {
        let base = base_localpart(&row.first_name, &row.last_name);
        let localpart = assign_localpart(&base, &|c: &str| taken.contains(c) || reserved(c));
        taken.insert(localpart.clone());
        let person = person_from(row, groups, localpart, PersonStatus::Active);
        planner.insert(person.clone());
        planner.plan.added.push(person);
    }
    let in_file: HashSet<&str> = file.rows().iter().map(|r| r.import_id.as_str()).collect();
    for before in current.people.values() {
        if !in_file.contains(before.import_id.as_str()) {
            planner.remove(before, now_ms);
        }
    }
    planner.groups(&lines);
    let mut plan = planner.plan;
    plan.added.sort_by(|a, b| a.localpart.cmp(&b.localpart));
    plan.changed
        .sort_by(|a, b| a.after.localpart.cmp(&b.after.localpart));
    plan.reactivated
        .sort_by(|a, b| a.after.localpart.cmp(&b.after.localpart));
    plan.deactivated
        .sort_by(|a, b| a.localpart.cmp(&b.localpart));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_csv, Role};

    const NOW: i64 = 1_700_000_000_000;

    const SCHOOL: &str = "\
        L1;Anna;Schmidt;Lehrkraft;Lehrer,Fachkonferenz Englisch;;ja\n\
        S1;Ben;Schmidt;Schüler;Klasse 8.1;;ja\n\
        S2;Mia;Schmidt;Schüler;Klasse 9.2,AG Theater;;nein\n\
        E1;Clara;Schmidt;Sorgeberechtigte;;S1,S2;ja\n\
        A1;Olaf;Grünewald;Admin;;;ja\n";

    /// The import file with these rows (without header).
    fn file(rows: &str) -> ImportFile {
        let csv = format!("ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n{rows}");
        parse_csv(csv.as_bytes()).expect("valid file")
    }

    /// Plans `rows` (without header) against `current`.
    fn plan(current: &Directory, rows: &str) -> ImportPlan {
        plan_import(current, &file(rows), NOW).expect("plannable")
    }

    /// [`SCHOOL`] without Mia (S2).
    fn without_mia() -> String {
        let lines = SCHOOL.lines().filter(|l| !l.starts_with("S2"));
        lines
            .map(|l| format!("{l}\n").replace("S1,S2", "S1"))
            .collect()
    }

    /// The directory after importing `rows` into an empty one.
    fn school(rows: &str) -> Directory {
        plan(&Directory::default(), rows).result
    }

    fn localparts(people: &[Person]) -> Vec<&str> {
        people.iter().map(|p| p.localpart.as_str()).collect()
    }

    fn changed(changes: &[PersonChange]) -> Vec<&str> {
        changes.iter().map(|c| c.after.localpart.as_str()).collect()
    }

    fn group_changes(plan: &ImportPlan) -> Vec<(char, &str, GroupKind)> {
        let sign = |c: &GroupChange| match c {
            GroupChange::Added(_) => '+',
            GroupChange::Removed(_) => '-',
        };
        let changes = plan.group_changes.iter();
        changes
            .map(|c| (sign(c), c.group().name.as_str(), c.group().kind))
            .collect()
    }

    fn person<'d>(directory: &'d Directory, import_id: &str) -> &'d Person {
        &directory.people[import_id]
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_import_adds_everyone_with_derived_groups() {
        let plan = plan(&Directory::default(), SCHOOL);
        assert_eq!(
            localparts(&plan.added),
            [
                "anna.schmidt",
                "ben.schmidt",
                "clara.schmidt",
                "mia.schmidt",
                "olaf.gruenewald"
            ]
        );
        let parent = person(&plan.result, "E1");
        assert_eq!(
            parent.groups,
            set(&["Sorgeberechtigte 8.1", "Sorgeberechtigte 9.2"])
        );
        assert_eq!(parent.children, set(&["S1", "S2"]));
        assert_eq!(parent.status, PersonStatus::Active);
        assert!(!person(&plan.result, "S2").consent);
        use GroupKind::*;
        assert_eq!(
            group_changes(&plan),
            [
                ('+', "AG Theater", Custom),
                ('+', "Fachkonferenz Englisch", SubjectConference),
                ('+', "Klasse 8.1", Class),
                ('+', "Klasse 9.2", Class),
                ('+', "Lehrer", Staff),
                ('+', "Sorgeberechtigte 8.1", Parents),
                ('+', "Sorgeberechtigte 9.2", Parents),
            ]
        );
        assert_eq!(plan.result.groups.len(), 7);
        assert_eq!(plan.unchanged, 0);
    }

    #[test]
    fn same_file_again_changes_nothing() {
        let current = school(SCHOOL);
        let plan = plan(&current, SCHOOL);
        assert!(plan.is_empty());
        assert_eq!(plan.unchanged, 5);
        assert_eq!(plan.result, current);
        assert_eq!(
            plan.to_string(),
            "Keine Änderungen (5 Personen unverändert).\n"
        );
    }

    #[test]
    fn clashing_names_get_counters_in_import_id_order() {
        let plan = plan(
            &Directory::default(),
            "S2;Max;Müller;Schüler;;;ja\nS1;Max;Mueller;Schüler;;;ja\nL1;Max;Müller;Lehrer;;;ja\n",
        );
        let by_id = |id| person(&plan.result, id).localpart.as_str();
        assert_eq!(
            [by_id("L1"), by_id("S1"), by_id("S2")],
            ["max.mueller", "max.mueller2", "max.mueller3"]
        );
    }

    #[test]
    fn localparts_of_deactivated_and_reserved_people_are_never_reused() {
        let current = school("S1;Max;Müller;Schüler;;;ja\nS2;Eva;Schulz;Schüler;;;ja\n");
        let current = plan(&current, "S2;Eva;Schulz;Schüler;;;ja\n").result;
        assert!(matches!(
            person(&current, "S1").status,
            PersonStatus::Deactivated { .. }
        ));
        let file = file(
            "S2;Eva;Schulz;Schüler;;;ja\nS3;Max;Müller;Schüler;;;ja\nS4;Max;Müller;Schüler;;;\n",
        );
        let plan = plan_import_reserving(&current, &file, NOW, |l| l == "max.mueller2").unwrap();
        assert_eq!(localparts(&plan.added), ["max.mueller3", "max.mueller4"]);
        assert!(plan.deactivated.is_empty(), "S1 was deactivated before");
        assert_eq!(person(&plan.result, "S1"), person(&current, "S1"));
    }

    /// People imported before the transliteration of Vietnamese letters keep their ID
    /// (`nguyn`, from when `ễ` was dropped): people are matched by import ID, never by name.
    #[test]
    fn ids_from_an_older_transliteration_survive_reimport() {
        let rows = "S1;Lan;Nguyễn;Schüler;Klasse 8.1;;ja\n";
        let mut current = school(rows);
        current.people.get_mut("S1").unwrap().localpart = "lan.nguyn".to_owned();
        let plan = plan(&current, rows);
        assert!(plan.is_empty(), "no new account, no rename: {plan}");
        assert_eq!(plan.unchanged, 1);
        assert_eq!(person(&plan.result, "S1").localpart, "lan.nguyn");

        let plan = plan_import(
            &current,
            &file(&format!("{rows}S2;Lan;Nguyễn;Schüler;;;ja\n")),
            NOW,
        )
        .unwrap();
        assert_eq!(
            localparts(&plan.added),
            ["lan.nguyen"],
            "newcomers get the new ID"
        );
        assert_eq!(person(&plan.result, "S1").localpart, "lan.nguyn");
    }

    #[test]
    fn reimport_updates_names_groups_and_derived_parent_groups() {
        let current = school(SCHOOL);
        let plan = plan(
            &current,
            "L1;Anna;Schmidt-Weber;Lehrkraft;Lehrer,Fachkonferenz Englisch;;ja\n\
             S1;Ben;Schmidt;Schüler;Klasse 9.1;;ja\n\
             S2;Mia;Schmidt;Schüler;Klasse 9.2,AG Theater;;ja\n\
             E1;Clara;Schmidt;Sorgeberechtigte;;S1,S2;ja\n\
             A1;Olaf;Grünewald;Admin;;;ja\n",
        );
        assert_eq!(
            changed(&plan.changed),
            [
                "anna.schmidt",
                "ben.schmidt",
                "clara.schmidt",
                "mia.schmidt"
            ]
        );
        let anna = &plan.changed[0];
        assert_eq!(anna.after.last_name, "Schmidt-Weber");
        assert_eq!(
            anna.after.localpart, "anna.schmidt",
            "localparts never change"
        );
        let ben = &plan.changed[1];
        assert_eq!(ben.groups_added().collect::<Vec<_>>(), ["Klasse 9.1"]);
        assert_eq!(ben.groups_removed().collect::<Vec<_>>(), ["Klasse 8.1"]);
        let clara = &plan.changed[2];
        assert_eq!(
            clara.groups_added().collect::<Vec<_>>(),
            ["Sorgeberechtigte 9.1"]
        );
        assert_eq!(
            clara.groups_removed().collect::<Vec<_>>(),
            ["Sorgeberechtigte 8.1"]
        );
        assert!(plan.changed[3].after.consent);
        assert_eq!(plan.unchanged, 1);
        use GroupKind::*;
        assert_eq!(
            group_changes(&plan),
            [
                ('+', "Klasse 9.1", Class),
                ('+', "Sorgeberechtigte 9.1", Parents),
                ('-', "Klasse 8.1", Class),
                ('-', "Sorgeberechtigte 8.1", Parents),
            ]
        );
        assert!(!plan.result.groups.contains_key("Klasse 8.1"));
    }

    #[test]
    fn missing_people_are_deactivated_and_come_back() {
        let current = school(SCHOOL);
        let plan1 = plan(&current, &without_mia());
        assert_eq!(localparts(&plan1.deactivated), ["mia.schmidt"]);
        let mia = person(&plan1.result, "S2");
        assert_eq!(mia.status, PersonStatus::Deactivated { since_ms: NOW });
        assert!(mia.groups.is_empty(), "left the imported groups");
        assert_eq!(changed(&plan1.changed), ["clara.schmidt"]);
        use GroupKind::*;
        assert_eq!(
            group_changes(&plan1),
            [
                ('-', "AG Theater", Custom),
                ('-', "Klasse 9.2", Class),
                ('-', "Sorgeberechtigte 9.2", Parents)
            ]
        );

        let plan2 = plan(&plan1.result, SCHOOL);
        assert_eq!(changed(&plan2.reactivated), ["mia.schmidt"]);
        assert!(plan2.added.is_empty());
        assert_eq!(plan2.result, current, "back to the state before");
    }

    #[test]
    fn locked_people_stay_locked() {
        let mut current = school(SCHOOL);
        for id in ["L1", "A1"] {
            current.people.get_mut(id).unwrap().status = PersonStatus::Locked;
        }
        let rows = SCHOOL
            .replace("Anna;Schmidt;", "Anna;Schmitt;")
            .replace("A1;Olaf;Grünewald;Admin;;;ja\n", "");
        let plan = plan(&current, &rows);
        let anna = person(&plan.result, "L1");
        assert_eq!(
            (anna.status, anna.last_name.as_str()),
            (PersonStatus::Locked, "Schmitt")
        );
        assert_eq!(changed(&plan.changed), ["anna.schmidt"]);
        assert_eq!(localparts(&plan.deactivated), ["olaf.gruenewald"]);
        assert_eq!(
            person(&plan.result, "A1").status,
            PersonStatus::Deactivated { since_ms: NOW }
        );
    }

    #[test]
    fn teacher_created_groups_are_kept() {
        let mut current = school(SCHOOL);
        current.groups.insert(
            "Chor".into(),
            Group {
                name: "Chor".into(),
                kind: GroupKind::Custom,
                created_by: Some("L1".into()),
            },
        );
        for id in ["L1", "S1", "S2"] {
            current
                .people
                .get_mut(id)
                .unwrap()
                .groups
                .insert("Chor".into());
        }
        let plan = plan(&current, &without_mia().replace("Klasse 8.1", "Klasse 8.2"));
        assert_eq!(plan.result.groups["Chor"], current.groups["Chor"]);
        assert!(person(&plan.result, "L1").groups.contains("Chor"));
        let ben = person(&plan.result, "S1");
        assert_eq!(ben.groups, set(&["Chor", "Klasse 8.2"]));
        // Mia left the school: she is in no group any more, not even the teacher's.
        assert_eq!(person(&plan.result, "S2").groups, set(&[]));
        assert!(plan.group_changes.iter().all(|c| c.group().name != "Chor"));

        let file = file("L1;Anna;Schmidt;Lehrer;Chor;;\n");
        let errors = plan_import(&current, &file, NOW).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].field.as_str()), (2, "Gruppen"));
        assert!(errors[0].message.contains("„Chor“"));
    }

    #[test]
    fn role_change_is_a_change() {
        let current = school("P1;Jo;Kurz;Schüler;;;ja\n");
        let plan = plan(&current, "P1;Jo;Kurz;Lehrkraft;;;ja\n");
        assert_eq!(plan.changed[0].after.role, Role::Teacher);
        assert!(plan.to_string().contains("Rolle: Schüler/in → Lehrkraft"));
    }

    #[test]
    fn broken_file_yields_errors_and_no_plan() {
        let result = parse_csv(b"ID;Vorname;Nachname;Rolle\n1;Anna;;Lehrer\n")
            .and_then(|file| plan_import(&Directory::default(), &file, NOW));
        assert_eq!(result.unwrap_err()[0].field, "Nachname");
    }

    #[test]
    fn displays_a_german_dry_run() {
        let current = school(SCHOOL);
        let plan = plan(
            &current,
            "L1;Anna;Schmidt-Weber;Lehrkraft;Lehrer,Fachkonferenz Englisch;;ja\n\
             L2;Jürgen;Groß;Lehrkraft;Lehrer,Fachkonferenz Mathematik;;ja\n\
             S1;Ben;Schmidt;Schüler;Klasse 9.1;;ja\n\
             E1;Clara;Schmidt;Sorgeberechtigte;;S1;nein\n\
             A1;Olaf;Grünewald;Admin;;;ja\n",
        );
        let expected = "\
Neu: 1 Person
+ juergen.gross (Jürgen Groß, Lehrkraft; Gruppen: Fachkonferenz Mathematik, Lehrer)
Geändert: 3 Personen
~ anna.schmidt (Anna Schmidt-Weber): Name: Anna Schmidt → Anna Schmidt-Weber
~ ben.schmidt (Ben Schmidt): Gruppen: +Klasse 9.1 −Klasse 8.1
~ clara.schmidt (Clara Schmidt): Gruppen: +Sorgeberechtigte 9.1 −Sorgeberechtigte 8.1 −Sorgeberechtigte 9.2; Kinder: −mia.schmidt; Einwilligung: ja → nein
Deaktiviert: 1 Person
− mia.schmidt (Mia Schmidt, Schüler/in; Gruppen: AG Theater, Klasse 9.2; ohne Einwilligung)
Gruppen: 3 neu, 5 entfernt
+ Fachkonferenz Mathematik (Fachkonferenz)
+ Klasse 9.1 (Klasse)
+ Sorgeberechtigte 9.1 (Sorgeberechtigte)
− AG Theater (Gruppe)
− Klasse 8.1 (Klasse)
− Klasse 9.2 (Klasse)
− Sorgeberechtigte 8.1 (Sorgeberechtigte)
− Sorgeberechtigte 9.2 (Sorgeberechtigte)
Zusammenfassung: 1 neu, 3 geändert, 0 wieder aktiviert, 1 deaktiviert, 1 unverändert; Gruppen: 3 neu, 5 entfernt.
";
        assert_eq!(plan.to_string(), expected);

        let text = self::plan(&plan.result, SCHOOL).to_string();
        assert!(
            text.contains(
                "Wieder aktiviert: 1 Person\n↺ mia.schmidt (Mia Schmidt) ist wieder aktiv: \
             Gruppen: +AG Theater +Klasse 9.2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Deaktiviert: 1 Person\n− juergen.gross"),
            "{text}"
        );
        assert!(text.contains("Kinder: +mia.schmidt"), "{text}");
    }
}
