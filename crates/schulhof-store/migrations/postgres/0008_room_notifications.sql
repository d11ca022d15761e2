-- Notification counts without a row per member and message. A message in a room of 1,500
-- wrote 1,500 `push_actions` rows, one into every member's part of the index, and cost tens of
-- milliseconds. Now the outcome most members get is written once per event
-- (`room_notifications`: it notifies every member joined at the time but the sender, with
-- `highlight`), and `push_actions` holds only the members whose outcome differs from it:
-- `notify = 0` for a member the room's outcome does not notify (a muted room, a message held by
-- quiet hours), `notify = 1` for a member notified although the room's outcome is not, or
-- notified otherwise (a mention), and for a held event notified at its release. Existing rows
-- are notifications (`notify = 1`).
CREATE TABLE room_notifications (
    room_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    sender TEXT NOT NULL,
    highlight BIGINT NOT NULL,
    PRIMARY KEY (room_id, stream_pos)
);
ALTER TABLE push_actions ADD COLUMN notify BIGINT NOT NULL DEFAULT 1;
-- Where a member's current run of `join` began (a change of name or avatar is a new member
-- event, not a new join): the room's outcome counts for them from there. No room outcome is
-- older than this migration, so the newest member event stands in for existing members.
ALTER TABLE current_state ADD COLUMN joined_pos BIGINT;
UPDATE current_state SET joined_pos = stream_pos WHERE membership = 'join';
