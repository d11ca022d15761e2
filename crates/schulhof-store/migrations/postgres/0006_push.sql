-- Push notifications: the pushers phone apps register (`/pushers/set`) and the outbox of
-- notifications waiting for their push gateway. An outbox row is written in the transaction
-- of the event (or of the release of a held event) it announces and deleted once the gateway
-- accepted it or the sender gave up.
CREATE TABLE pushers (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    app_display_name TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag TEXT,
    lang TEXT NOT NULL,
    url TEXT NOT NULL,
    data TEXT NOT NULL,
    pushkey_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey)
);
CREATE INDEX pushers_key ON pushers (app_id, pushkey);
CREATE INDEX pushers_device ON pushers (user_id, device_id);
CREATE TABLE push_outbox (
    user_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    pushkey TEXT NOT NULL,
    notify_pos BIGINT NOT NULL,
    event_pos BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    tweaks TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ts BIGINT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey, notify_pos)
);
CREATE INDEX push_outbox_due ON push_outbox (next_attempt_ts);
-- The tweaks (sound, highlight) of the push rule that matched an event held for quiet hours,
-- sent with its notification when it is released.
ALTER TABLE quiet_holds ADD COLUMN push_tweaks TEXT;
