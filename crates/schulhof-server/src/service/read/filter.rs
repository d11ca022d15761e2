//! Matching events against a client's `RoomEventFilter`.

use ruma::api::client::filter::{LazyLoadOptions, RoomEventFilter, UrlFilter};
use schulhof_store::EventRow;

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
