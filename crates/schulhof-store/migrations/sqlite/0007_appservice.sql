-- Application service transactions: what the server still has to push to each registered
-- appservice (`PUT /_matrix/app/v1/transactions/{txnId}`). A row is written in the same
-- transaction as the event or receipt it carries, at that write's stream position, so a
-- crash keeps both or neither. The sender job groups the oldest rows into a transaction
-- (`txn_id`, numbered per appservice in `appservice_txns`), sends it until the appservice
-- answers 200 (the same ID on every retry) and only then deletes its rows.
CREATE TABLE appservice_outbox (
    appservice_id TEXT NOT NULL,
    stream_pos INTEGER NOT NULL,
    kind TEXT NOT NULL,
    json TEXT NOT NULL,
    txn_id INTEGER,
    PRIMARY KEY (appservice_id, stream_pos)
);
CREATE INDEX appservice_outbox_txn ON appservice_outbox (appservice_id, txn_id);
CREATE TABLE appservice_txns (
    appservice_id TEXT PRIMARY KEY,
    last_txn_id INTEGER NOT NULL
);
