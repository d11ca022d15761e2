//! Which part of a room's state a read needs: all of it, or every event of some types plus
//! the member events of some users. A client asking for a room's name, encryption and the
//! senders of its newest message does not need the 1,500 member events of a school-wide room.

use std::collections::BTreeSet;

use crate::events::placeholders;

/// More member keys than this are read as all member events (one statement's placeholders
/// stay well below both engines' limits).
const MAX_MEMBER_KEYS: usize = 500;

/// A part of a room's state: some or all member events, and some or all other events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePart {
    /// Types read whole, other than the member type; `None`: every other type.
    types: Option<BTreeSet<String>>,
    /// Users whose member events are read; `None`: every member event.
    members: Option<BTreeSet<String>>,
}

impl StatePart {
    /// The member event type, whose state keys are user IDs (the one type whose events are
    /// chosen by key).
    pub const MEMBER_TYPE: &'static str = "m.room.member";

    /// Every state event.
    pub const ALL: StatePart = StatePart {
        types: None,
        members: None,
    };

    /// No state at all; widened with [`add_type`](Self::add_type),
    /// [`add_member`](Self::add_member) and the like.
    pub fn nothing() -> StatePart {
        StatePart {
            types: Some(BTreeSet::new()),
            members: Some(BTreeSet::new()),
        }
    }

    /// Adds every event of `event_type` (for the member type: every member event).
    pub fn add_type(&mut self, event_type: &str) {
        if event_type == Self::MEMBER_TYPE {
            self.members = None;
        } else if let Some(types) = &mut self.types {
            types.insert(event_type.to_owned());
        }
    }

    /// Adds every event of a type other than the member type.
    pub fn add_every_other_type(&mut self) {
        self.types = None;
    }

    /// Adds `user_id`'s member event.
    pub fn add_member(&mut self, user_id: &str) {
        if let Some(members) = &mut self.members {
            members.insert(user_id.to_owned());
        }
    }

    /// Whether the state event `(event_type, state_key)` belongs to this part.
    pub fn contains(&self, event_type: &str, state_key: &str) -> bool {
        let (set, key) = if event_type == Self::MEMBER_TYPE {
            (&self.members, state_key)
        } else {
            (&self.types, event_type)
        };
        set.as_ref().is_none_or(|set| set.contains(key))
    }

    /// The SQL condition on `event_type` and `state_key` selecting this part, with its
    /// placeholders numbered from `first`, and the values to bind to them in order; `None`
    /// for all state. An empty part selects nothing (`1 = 0`).
    pub(crate) fn sql_condition(&self, first: usize) -> Option<(String, Vec<&str>)> {
        let members = self.members.as_ref().filter(|m| m.len() <= MAX_MEMBER_KEYS);
        if self.types.is_none() && members.is_none() {
            return None;
        }
        let mut values = Vec::new();
        let mut clauses = Vec::new();
        match &self.types {
            None => clauses.push(format!("event_type <> '{}'", Self::MEMBER_TYPE)),
            Some(types) if !types.is_empty() => {
                clauses.push(format!(
                    "event_type IN ({})",
                    placeholders(first, types.len())
                ));
                values.extend(types.iter().map(String::as_str));
            }
            Some(_) => {}
        }
        match members {
            None => clauses.push(format!("event_type = '{}'", Self::MEMBER_TYPE)),
            Some(members) if !members.is_empty() => {
                clauses.push(format!(
                    "(event_type = '{}' AND state_key IN ({}))",
                    Self::MEMBER_TYPE,
                    placeholders(first + values.len(), members.len())
                ));
                values.extend(members.iter().map(String::as_str));
            }
            Some(_) => {}
        }
        if clauses.is_empty() {
            return Some(("1 = 0".to_owned(), values));
        }
        Some((format!("({})", clauses.join(" OR ")), values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(types: &[&str], members: &[&str]) -> StatePart {
        let mut part = StatePart::nothing();
        types.iter().for_each(|t| part.add_type(t));
        members.iter().for_each(|m| part.add_member(m));
        part
    }

    fn every_other_type_and(members: &[&str]) -> StatePart {
        let mut part = part(&[], members);
        part.add_every_other_type();
        part
    }

    #[test]
    fn a_part_contains_its_types_and_members() {
        let lazy = every_other_type_and(&["@anna:s"]);
        assert!(lazy.contains("m.room.name", ""));
        assert!(lazy.contains("m.room.member", "@anna:s"));
        assert!(!lazy.contains("m.room.member", "@ben:s"));
        let members = part(&["m.room.member"], &[]);
        assert!(members.contains("m.room.member", "@ben:s"));
        assert!(!members.contains("m.room.create", ""));
    }

    #[test]
    fn the_sql_condition_binds_types_then_members() {
        assert_eq!(StatePart::ALL.sql_condition(1), None);
        assert_eq!(
            StatePart::nothing().sql_condition(1),
            Some(("1 = 0".to_owned(), vec![]))
        );
        let named = part(&["m.room.name"], &["@anna:s", "@ben:s"]);
        let (sql, binds) = named.sql_condition(3).unwrap();
        assert_eq!(
            sql,
            "(event_type IN ($3) OR (event_type = 'm.room.member' AND state_key IN ($4, $5)))"
        );
        assert_eq!(binds, ["m.room.name", "@anna:s", "@ben:s"]);
        let lazy = every_other_type_and(&["@anna:s"]);
        let (sql, binds) = lazy.sql_condition(1).unwrap();
        assert_eq!(
            sql,
            "(event_type <> 'm.room.member' OR (event_type = 'm.room.member' AND state_key IN ($1)))"
        );
        assert_eq!(binds, ["@anna:s"]);
        let members = part(&["m.room.member"], &[]);
        let (sql, binds) = members.sql_condition(1).unwrap();
        assert_eq!(sql, "(event_type = 'm.room.member')");
        assert!(binds.is_empty());
    }

    #[test]
    fn too_many_members_are_read_as_all_members() {
        let many: Vec<String> = (0..=MAX_MEMBER_KEYS).map(|i| format!("@u{i}:s")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let named = part(&["m.room.name"], &many);
        let (sql, binds) = named.sql_condition(1).unwrap();
        assert_eq!(sql, "(event_type IN ($1) OR event_type = 'm.room.member')");
        assert_eq!(binds, ["m.room.name"]);
        assert_eq!(every_other_type_and(&many).sql_condition(1), None);
    }
}
