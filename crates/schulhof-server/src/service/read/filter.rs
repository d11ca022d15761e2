//! Matching events against a client's `RoomEventFilter`.

use std::collections::BTreeSet;

use ruma::api::client::filter::{LazyLoadOptions, RoomEventFilter, UrlFilter};
use schulhof_store::{EventRow, StatePart};

/// Whether an event type matches a filter pattern (`*` is a wildcard).
fn type_matches(pattern: &str, kind: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == kind,
        Some((prefix, suffix)) => {
            kind.len() >= prefix.len() + suffix.len()
                && kind.starts_with(prefix)
                && kind.ends_with(suffix)
        }
    }
}

/// Whether a stored event passes the filter's type, sender and URL conditions.
pub fn event_matches(filter: &RoomEventFilter, event: &EventRow) -> bool {
    if filter
        .not_types
        .iter()
        .any(|p| type_matches(p, &event.event_type))
    {
        return false;
    }
    if let Some(types) = &filter.types {
        if !types.iter().any(|p| type_matches(p, &event.event_type)) {
            return false;
        }
    }
    if filter
        .not_senders
        .iter()
        .any(|s| s.as_str() == event.sender)
    {
        return false;
    }
    if let Some(senders) = &filter.senders {
        if !senders.iter().any(|s| s.as_str() == event.sender) {
            return false;
        }
    }
    if let Some(url_filter) = &filter.url_filter {
        let has_url = serde_json::from_str::<serde_json::Value>(&event.json)
            .ok()
            .and_then(|v| v.get("content")?.get("url").cloned())
            .is_some();
        let want = matches!(url_filter, UrlFilter::EventsWithUrl);
        if has_url != want {
            return false;
        }
    }
    true
}

/// Whether the filter asks for lazy-loaded members.
pub fn lazy_load_members(filter: &RoomEventFilter) -> bool {
    matches!(filter.lazy_load_options, LazyLoadOptions::Enabled { .. })
}

/// The part of a room's state a state filter can let through: the types it names (every type
/// where it names none or uses a wildcard), and the member events it lets through — with
/// lazy-loaded members only those of `me` and of `senders`. Reading just this part and then
/// filtering gives what filtering the whole state gives.
pub fn state_part(filter: &RoomEventFilter, me: &str, senders: &BTreeSet<&str>) -> StatePart {
    let passes = |kind: &str| {
        !filter.not_types.iter().any(|p| type_matches(p, kind))
            && filter
                .types
                .as_ref()
                .is_none_or(|types| types.iter().any(|p| type_matches(p, kind)))
    };
    let mut part = StatePart::nothing();
    match &filter.types {
        Some(types) if !types.iter().any(|t| t.contains('*')) => types
            .iter()
            .filter(|t| *t != StatePart::MEMBER_TYPE && passes(t))
            .for_each(|t| part.add_type(t)),
        _ => part.add_every_other_type(),
    }
    if passes(StatePart::MEMBER_TYPE) {
        if lazy_load_members(filter) {
            part.add_member(me);
            senders.iter().for_each(|sender| part.add_member(sender));
        } else {
            part.add_type(StatePart::MEMBER_TYPE);
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, sender: &str) -> EventRow {
        EventRow {
            stream_pos: 1,
            event_id: "$e".into(),
            room_id: "!r:x".into(),
            sender: sender.into(),
            event_type: kind.into(),
            state_key: None,
            json: r#"{"content":{"body":"x"}}"#.into(),
            txn_device: None,
            txn_id: None,
        }
    }

    #[test]
    fn wildcards_and_exclusions() {
        assert!(type_matches("m.room.*", "m.room.message"));
        assert!(!type_matches("m.room.*", "m.reaction"));
        let mut f = RoomEventFilter::default();
        f.types = Some(vec!["m.room.*".into()]);
        f.not_types = vec!["m.room.member".into()];
        assert!(event_matches(&f, &row("m.room.message", "@a:x")));
        assert!(!event_matches(&f, &row("m.room.member", "@a:x")));
        assert!(!event_matches(&f, &row("m.reaction", "@a:x")));
    }

    fn state_row(kind: &str, key: &str) -> EventRow {
        EventRow {
            state_key: Some(key.into()),
            ..row(kind, "@a:x")
        }
    }

    #[test]
    fn the_state_part_holds_every_event_the_filter_keeps() {
        let rows = [
            state_row("m.room.name", ""),
            state_row("m.room.topic", ""),
            state_row("m.room.create", ""),
            state_row("m.room.member", "@me:x"),
            state_row("m.room.member", "@a:x"),
            state_row("m.room.member", "@b:x"),
            state_row("org.schule.custom", "k"),
        ];
        let lazy = RoomEventFilter::with_lazy_loading();
        let mut named = RoomEventFilter::default();
        named.types = Some(vec!["m.room.name".into(), "m.room.member".into()]);
        let mut named_lazy = RoomEventFilter::with_lazy_loading();
        named_lazy.types = named.types.clone();
        let mut wildcard = RoomEventFilter::default();
        wildcard.types = Some(vec!["m.room.*".into()]);
        let mut no_members = RoomEventFilter::default();
        no_members.not_types = vec!["m.room.member".into()];
        let mut excluded_name = RoomEventFilter::default();
        excluded_name.types = Some(vec!["m.room.name".into()]);
        excluded_name.not_types = vec!["m.room.*".into()];
        let senders = BTreeSet::from(["@a:x"]);
        // (filter, how many of the rows the part holds)
        let cases = [
            (RoomEventFilter::default(), 7),
            (lazy, 6),
            (named, 4),
            (named_lazy, 3),
            (wildcard, 7),
            (no_members, 4),
            (excluded_name, 0),
        ];
        for (filter, held) in cases {
            let part = state_part(&filter, "@me:x", &senders);
            let contains =
                |e: &EventRow| part.contains(&e.event_type, e.state_key.as_deref().unwrap());
            assert_eq!(
                rows.iter().filter(|e| contains(e)).count(),
                held,
                "{filter:?}"
            );
            let lazy = lazy_load_members(&filter);
            for e in rows.iter().filter(|e| event_matches(&filter, e)) {
                let key = e.state_key.as_deref().unwrap();
                let lazily_left_out = lazy
                    && e.event_type == StatePart::MEMBER_TYPE
                    && key != "@me:x"
                    && !senders.contains(key);
                assert!(
                    lazily_left_out || contains(e),
                    "{filter:?} keeps {key} {}",
                    e.event_type
                );
            }
        }
    }

    #[test]
    fn senders_and_urls() {
        let mut f = RoomEventFilter::default();
        f.not_senders = vec!["@b:x".try_into().unwrap()];
        assert!(event_matches(&f, &row("m.room.message", "@a:x")));
        assert!(!event_matches(&f, &row("m.room.message", "@b:x")));
        f.url_filter = Some(UrlFilter::EventsWithUrl);
        assert!(!event_matches(&f, &row("m.room.message", "@a:x")));
    }
}
