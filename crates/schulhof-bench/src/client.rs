//! Minimal Matrix Client-Server API v3 client over HTTP/1.1 keep-alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Url};
use serde_json::{json, Value};

use crate::users::Account;

/// Error type of the benchmark.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result type of the benchmark.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Timeout of ordinary (non-long-poll) requests.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time a long-poll /sync may take beyond its `timeout` parameter.
const SYNC_GRACE: Duration = Duration::from_secs(15);

/// Connection pool to one homeserver, shared by all sessions.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: Url,
}

impl Http {
    /// Creates an HTTP/1.1 client for the homeserver at `base`, with an
    /// unbounded keep-alive pool so hundreds of requests can be in flight.
    pub fn new(base: Url) -> Result<Self> {
        let client = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(usize::MAX)
            .pool_idle_timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, base })
    }

    /// Logs `account` in with a new device and returns its session.
    pub async fn login(&self, account: &Account) -> Result<Session> {
        let body = json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": account.user },
            "password": account.password,
            "initial_device_display_name": "schulhof-bench",
        });
        let bytes = self
            .call(None, Method::POST, &["login"], Some(&body), REQUEST_TIMEOUT)
            .await?;
        let v: Value = serde_json::from_slice(&bytes)?;
        let field = |name: &str| -> Result<String> {
            v[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("login response lacks {name}").into())
        };
        Ok(Session {
            http: self.clone(),
            token: field("access_token")?,
            user_id: field("user_id")?,
            txn: AtomicU64::new(0),
        })
    }

    /// URL of `/_matrix/client/v3/<path…>`, each element one encoded segment.
    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http URLs have a path")
            .pop_if_empty()
            .extend(["_matrix", "client", "v3"])
            .extend(path);
        url
    }

    /// Sends one request and returns the body of a 2xx response.
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        self.call_url(token, method, self.url(path), body, timeout)
            .await
    }

    /// Like [`Http::call`] with a ready-made URL.
    async fn call_url(
        &self,
        token: Option<&str>,
        method: Method,
        url: Url,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let mut req = self.client.request(method, url).timeout(timeout);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body)?);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
            return Err(format!("HTTP {status}: {text}").into());
        }
        Ok(bytes.to_vec())
    }
}

/// A logged-in device of one user.
pub struct Session {
    http: Http,
    token: String,
    /// Full user id, as returned by the server.
    pub user_id: String,
    txn: AtomicU64,
}

/// A /sync response with the moment its body was fully received.
pub struct Synced {
    /// Parsed response body.
    pub body: Value,
    /// When the last byte of the response arrived (before parsing).
    pub arrived: Instant,
    /// Size of the response body in bytes.
    pub bytes: usize,
}

impl Synced {
    /// The `next_batch` token.
    pub fn next_batch(&self) -> Result<String> {
        self.body["next_batch"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "sync response lacks next_batch".into())
    }

    /// Timeline events of joined room `room_id`.
    pub fn timeline(&self, room_id: &str) -> &[Value] {
        self.body["rooms"]["join"][room_id]["timeline"]["events"]
            .as_array()
            .map_or(&[], Vec::as_slice)
    }

    /// Distinct users with membership `join` among the member events in
    /// joined room `room_id`'s state and timeline.
    pub fn joined_members(&self, room_id: &str) -> usize {
        let room = &self.body["rooms"]["join"][room_id];
        let events = ["state", "timeline"]
            .into_iter()
            .filter_map(|section| room[section]["events"].as_array())
            .flatten();
        let joined: std::collections::HashSet<&str> = events
            .filter(|e| e["type"] == "m.room.member" && e["content"]["membership"] == "join")
            .filter_map(|e| e["state_key"].as_str())
            .collect();
        joined.len()
    }

    /// Number of joined rooms in the response.
    pub fn joined_rooms(&self) -> usize {
        self.body["rooms"]["join"]
            .as_object()
            .map_or(0, |m| m.len())
    }
}

impl Session {
    async fn call(&self, method: Method, path: &[&str], body: Option<&Value>) -> Result<Vec<u8>> {
        self.http
            .call(Some(&self.token), method, path, body, REQUEST_TIMEOUT)
            .await
    }

    /// Creates a private room, inviting `invite`, and returns its id.
    pub async fn create_room(&self, invite: &[&str]) -> Result<String> {
        self.create_room_with(json!({ "preset": "private_chat", "invite": invite }))
            .await
    }

    /// Creates a public room (preset `public_chat`: anyone may join) and
    /// returns its id.
    pub async fn create_public_room(&self) -> Result<String> {
        self.create_room_with(json!({ "preset": "public_chat" }))
            .await
    }

    /// `POST /createRoom` with `body`; returns the new room's id.
    async fn create_room_with(&self, body: Value) -> Result<String> {
        let bytes = self
            .call(Method::POST, &["createRoom"], Some(&body))
            .await?;
        let v: Value = serde_json::from_slice(&bytes)?;
        v["room_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "createRoom response lacks room_id".into())
    }

    /// Joins `room_id`.
    pub async fn join(&self, room_id: &str) -> Result<()> {
        self.call(Method::POST, &["join", room_id], Some(&json!({})))
            .await
            .map(drop)
    }

    /// Leaves and forgets `room_id`.
    pub async fn leave(&self, room_id: &str) -> Result<()> {
        let empty = json!({});
        self.call(Method::POST, &["rooms", room_id, "leave"], Some(&empty))
            .await?;
        self.call(Method::POST, &["rooms", room_id, "forget"], Some(&empty))
            .await
            .map(drop)
    }

    /// Sends an `m.text` message with a fresh transaction id.
    pub async fn send_text(&self, room_id: &str, text: &str) -> Result<()> {
        let txn = self.txn.fetch_add(1, Ordering::Relaxed).to_string();
        let body = json!({ "msgtype": "m.text", "body": text });
        let path = ["rooms", room_id, "send", "m.room.message", &txn];
        self.call(Method::PUT, &path, Some(&body)).await.map(drop)
    }

    /// Calls /sync. `since: None` is an initial sync; `filter` is an inline
    /// JSON filter; `timeout_ms` is the long-poll timeout.
    pub async fn sync(&self, since: Option<&str>, timeout_ms: u64, filter: &str) -> Result<Synced> {
        let mut url = self.http.url(&["sync"]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("timeout", &timeout_ms.to_string());
            query.append_pair("filter", filter);
            if let Some(since) = since {
                query.append_pair("since", since);
            }
        }
        self.fetch_sync(url, Duration::from_millis(timeout_ms) + SYNC_GRACE)
            .await
    }

    /// An initial /sync without a filter, i.e. with the server's default
    /// filter (full room state, no lazy loading of members), given up after
    /// `timeout`.
    pub async fn initial_sync_unfiltered(&self, timeout: Duration) -> Result<Synced> {
        let mut url = self.http.url(&["sync"]);
        url.query_pairs_mut().append_pair("timeout", "0");
        self.fetch_sync(url, timeout).await
    }

    /// `GET` of a /sync `url`, timestamped on arrival.
    async fn fetch_sync(&self, url: Url, timeout: Duration) -> Result<Synced> {
        let bytes = self
            .http
            .call_url(Some(&self.token), Method::GET, url, None, timeout)
            .await?;
        let arrived = Instant::now();
        Ok(Synced {
            body: serde_json::from_slice(&bytes)?,
            arrived,
            bytes: bytes.len(),
        })
    }

    /// User ids listed by `GET /rooms/{room_id}/joined_members`.
    pub async fn joined_members(&self, room_id: &str) -> Result<Vec<String>> {
        let url = self.http.url(&["rooms", room_id, "joined_members"]);
        let v = self.get_json(url).await?;
        let joined = v["joined"]
            .as_object()
            .ok_or("joined_members response lacks joined")?;
        Ok(joined.keys().cloned().collect())
    }

    /// State keys of the member events listed by
    /// `GET /rooms/{room_id}/members?membership=join`.
    pub async fn members_joined(&self, room_id: &str) -> Result<Vec<String>> {
        let mut url = self.http.url(&["rooms", room_id, "members"]);
        url.query_pairs_mut().append_pair("membership", "join");
        let v = self.get_json(url).await?;
        let chunk = v["chunk"]
            .as_array()
            .ok_or("members response lacks chunk")?;
        Ok(chunk
            .iter()
            .filter_map(|e| e["state_key"].as_str().map(str::to_owned))
            .collect())
    }

    /// `GET` of `url` with this session's token; the parsed JSON body.
    async fn get_json(&self, url: Url) -> Result<Value> {
        let bytes = self
            .http
            .call_url(Some(&self.token), Method::GET, url, None, REQUEST_TIMEOUT)
            .await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Logs this device out.
    pub async fn logout(&self) -> Result<()> {
        self.call(Method::POST, &["logout"], Some(&json!({})))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_encoded_urls() {
        let http = Http::new("http://127.0.0.1:8448/".parse().unwrap()).unwrap();
        let url = http.url(&["rooms", "!a/b:bench.test", "send", "m.room.message", "7"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8448/_matrix/client/v3/rooms/!a%2Fb:bench.test/send/m.room.message/7"
        );
    }
}
