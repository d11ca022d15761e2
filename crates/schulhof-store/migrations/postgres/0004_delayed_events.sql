-- Delayed events (MSC4140, scheduled sending): an event a user asked the server to send into a
-- room later. `status` moves from `scheduled` (waiting for `send_ts`) to `sending` (claimed
-- by one sender) and ends as `sent`, `cancelled` or `failed`; finalised rows are kept a
-- week so clients can look up the outcome.
CREATE TABLE delayed_events (
    delay_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT,
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT,
    content TEXT NOT NULL,
    delay_ms BIGINT NOT NULL,
    running_since BIGINT NOT NULL,
    send_ts BIGINT NOT NULL,
    status TEXT NOT NULL,
    event_id TEXT,
    error TEXT,
    finalised_ts BIGINT
);
CREATE UNIQUE INDEX delayed_events_txn ON delayed_events (user_id, device_id, txn_id);
CREATE INDEX delayed_events_due ON delayed_events (status, send_ts);
CREATE INDEX delayed_events_owner ON delayed_events (user_id, status, send_ts);
CREATE INDEX delayed_events_state ON delayed_events (room_id, event_type, state_key);
