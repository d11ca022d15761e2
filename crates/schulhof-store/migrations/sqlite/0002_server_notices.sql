-- Server notices: each person's notices room (created by the system account on first use)
-- and when a person last got a notice of each kind (at most one per kind and period).
CREATE TABLE server_notice_rooms (
    user_id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL
);
CREATE TABLE notices_sent (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    sent_ts INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);
