-- The sender of an event is one of its exceptions (a `push_actions` row with `notify = 0`)
-- rather than a column of `room_notifications` repeating what `events` holds: every member
-- joined at the event shares the room's outcome unless an exception of theirs replaces it.
-- Existing room outcomes get that exception for their sender, then the column goes.
INSERT INTO push_actions (user_id, room_id, stream_pos, highlight, notify)
SELECT n.sender, n.room_id, n.stream_pos, 0, 0 FROM room_notifications n
WHERE NOT EXISTS (SELECT 1 FROM push_actions p
    WHERE p.user_id = n.sender AND p.room_id = n.room_id AND p.stream_pos = n.stream_pos);
ALTER TABLE room_notifications DROP COLUMN sender;
