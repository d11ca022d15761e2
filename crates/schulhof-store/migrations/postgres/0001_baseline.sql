-- Migration 0001 (PostgreSQL): the schema as Schulhof created it on every start before it had
-- versioned migrations (up to December 2026); migrations/sqlite/0001_baseline.sql with INTEGER
-- as BIGINT. Every statement is IF NOT EXISTS, so the same migration adopts a database such a
-- version created: it adds only what that version lacked.
-- Applied migrations are recorded by checksum: never edit this file, add a new migration.
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT,
    displayname TEXT,
    avatar_url TEXT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    deactivated BIGINT NOT NULL DEFAULT 0,
    created_ts BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    display_name TEXT,
    created_ts BIGINT NOT NULL,
    last_seen_ts BIGINT,
    last_seen_ip TEXT,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_tokens_device ON access_tokens (user_id, device_id);
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY,
    room_version TEXT NOT NULL,
    creator TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    published BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    stream_pos BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT,
    origin_server_ts BIGINT NOT NULL,
    json TEXT NOT NULL,
    txn_device TEXT,
    txn_id TEXT
);
CREATE INDEX IF NOT EXISTS events_room ON events (room_id, stream_pos);
CREATE UNIQUE INDEX IF NOT EXISTS events_txn ON events (sender, txn_device, txn_id) WHERE txn_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_state ON events (room_id, event_type, state_key, stream_pos) WHERE state_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_member ON events (state_key, stream_pos) WHERE event_type = 'm.room.member';
CREATE TABLE IF NOT EXISTS current_state (
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    membership TEXT,
    PRIMARY KEY (room_id, event_type, state_key)
);
CREATE INDEX IF NOT EXISTS current_state_members ON current_state (state_key, membership) WHERE event_type = 'm.room.member';
CREATE TABLE IF NOT EXISTS txn_ids (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_ts BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
);
CREATE TABLE IF NOT EXISTS room_aliases (
    alias TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    creator TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_data (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    data_type TEXT NOT NULL,
    content TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, data_type)
);
CREATE INDEX IF NOT EXISTS account_data_pos ON account_data (user_id, stream_pos);
CREATE TABLE IF NOT EXISTS receipts (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_pos BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
);
CREATE INDEX IF NOT EXISTS receipts_pos ON receipts (room_id, stream_pos);
CREATE TABLE IF NOT EXISTS filters (
    user_id TEXT NOT NULL,
    filter_id BIGINT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, filter_id)
);
CREATE TABLE IF NOT EXISTS push_actions (
    user_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    highlight BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, stream_pos)
);
CREATE TABLE IF NOT EXISTS device_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE TABLE IF NOT EXISTS one_time_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, key_id)
);
CREATE TABLE IF NOT EXISTS fallback_keys (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    json TEXT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, device_id, algorithm)
);
CREATE TABLE IF NOT EXISTS cross_signing_keys (
    user_id TEXT NOT NULL,
    key_type TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (user_id, key_type)
);
CREATE TABLE IF NOT EXISTS key_signatures (
    target_user_id TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    signer_user_id TEXT NOT NULL,
    signer_key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
);
CREATE TABLE IF NOT EXISTS device_list_changes (
    stream_pos BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (stream_pos, user_id)
);
CREATE TABLE IF NOT EXISTS to_device (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    sender TEXT NOT NULL,
    event_type TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (user_id, device_id, stream_pos)
);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    filename TEXT,
    size BIGINT NOT NULL,
    uploader TEXT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS presence (
    user_id TEXT PRIMARY KEY,
    presence TEXT NOT NULL,
    status_msg TEXT,
    last_active_ts BIGINT NOT NULL,
    stream_pos BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS start_codes (
    user_id TEXT PRIMARY KEY,
    code_mac TEXT NOT NULL,
    expires_ts BIGINT NOT NULL,
    created_ts BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS backup_versions (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL,
    etag BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, version)
);
CREATE TABLE IF NOT EXISTS backup_keys (
    user_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    room_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    first_message_index BIGINT NOT NULL,
    forwarded_count BIGINT NOT NULL,
    is_verified BIGINT NOT NULL,
    session_data TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
);
CREATE TABLE IF NOT EXISTS people (
    import_id TEXT PRIMARY KEY,
    localpart TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    consent BIGINT NOT NULL,
    status TEXT NOT NULL,
    deactivated_ts BIGINT
);
CREATE TABLE IF NOT EXISTS directory_groups (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_by TEXT
);
CREATE TABLE IF NOT EXISTS group_members (
    group_name TEXT NOT NULL,
    import_id TEXT NOT NULL,
    PRIMARY KEY (group_name, import_id)
);
CREATE INDEX IF NOT EXISTS group_members_person ON group_members (import_id);
CREATE TABLE IF NOT EXISTS parent_children (
    parent TEXT NOT NULL,
    child TEXT NOT NULL,
    PRIMARY KEY (parent, child)
);
CREATE TABLE IF NOT EXISTS used_localparts (
    localpart TEXT PRIMARY KEY,
    created_ts BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    ts BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log (target, ts);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS room_leave_queue (
    user_id TEXT PRIMARY KEY,
    queued_ts BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_ts ON audit_log (ts);
CREATE TABLE IF NOT EXISTS room_origin (
    room_id TEXT PRIMARY KEY,
    creator_role TEXT,
    is_direct BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    ts BIGINT NOT NULL,
    reporter TEXT NOT NULL,
    room_id TEXT,
    event_id TEXT,
    user_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_ts ON reports (ts);
