-- Relations between events (`m.relates_to` with a `rel_type`: threads, edits, annotations,
-- references), so `/relations` finds the events relating to one without reading the room, and
-- `/threads` a room's threads.
-- A redaction removes the row with the content it came from.
CREATE TABLE event_relations (
    event_pos INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    relates_to TEXT NOT NULL,
    rel_type TEXT NOT NULL
);
CREATE INDEX event_relations_target ON event_relations (relates_to, rel_type, event_pos);
CREATE INDEX event_relations_room ON event_relations (room_id, rel_type, relates_to, event_pos);
INSERT INTO event_relations (event_pos, room_id, relates_to, rel_type)
SELECT stream_pos, room_id,
       json_extract(json, '$.content."m.relates_to".event_id'),
       json_extract(json, '$.content."m.relates_to".rel_type')
FROM events
WHERE json_type(json, '$.content."m.relates_to".event_id') = 'text'
  AND json_type(json, '$.content."m.relates_to".rel_type') = 'text';
