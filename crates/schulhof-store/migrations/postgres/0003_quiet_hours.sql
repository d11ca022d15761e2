-- Quiet hours (Ruhezeiten): events held back from a recipient until their quiet period ends,
-- and the schedules an admin set for single people or a teacher moved within the bounds.
CREATE TABLE quiet_holds (
    recipient TEXT NOT NULL,
    event_pos BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    release_ts BIGINT NOT NULL,
    status TEXT NOT NULL,
    released_pos BIGINT,
    notify BIGINT NOT NULL,
    highlight BIGINT NOT NULL,
    shared_group BIGINT NOT NULL,
    PRIMARY KEY (recipient, event_pos)
);
CREATE INDEX quiet_holds_due ON quiet_holds (status, release_ts);
CREATE INDEX quiet_holds_event ON quiet_holds (event_pos);
CREATE TABLE quiet_hours_personal (
    user_id TEXT PRIMARY KEY,
    schedule TEXT,
    window_begin TEXT,
    window_end TEXT,
    updated_ts BIGINT NOT NULL
);
